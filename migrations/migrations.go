// Package migrations is the one home of RadTrack's versioned SQL schema for
// every SQL store, and its one loader.
//
// Files are named NNNN_name.DIALECT.sql. A version number means the same
// step of the schema in every dialect, so every version exists for every
// target (a step an engine does not need is a file with only a comment):
//
//	.pg.sql          PostgreSQL, with or without TimescaleDB
//	.tsdb.sql        PostgreSQL with TimescaleDB only
//	.plain.sql       PostgreSQL without TimescaleDB only
//	.sqlite.sql      the embedded SQLite store
//	.undo-plain.sql  removes what the version's .plain.sql created; run only
//	                 by the plain → TimescaleDB conversion (PlainToTimescaleDB)
//
// A version has either one .pg.sql or a .tsdb.sql/.plain.sql/.undo-plain.sql
// triple. A file whose first line is "-- radtrack:no-transaction" runs
// outside a transaction (TimescaleDB refuses some DDL inside one).
//
// Stores record each applied version and its file name in a
// schema_migrations table and refuse a database that records a version this
// binary does not have (Pending).
package migrations

import (
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"slices"
	"strconv"
	"strings"
)

//go:embed *.sql
var files embed.FS

// Dialect is the SQL engine a set of migrations is for.
type Dialect string

const (
	TimescaleDB Dialect = "tsdb"   // PostgreSQL with TimescaleDB: .pg and .tsdb files
	PostgreSQL  Dialect = "plain"  // PostgreSQL without TimescaleDB: .pg and .plain files
	SQLite      Dialect = "sqlite" // the embedded store: .sqlite files
)

// File suffixes (between the name and ".sql").
const (
	suffixPG        = "pg"
	suffixTSDB      = "tsdb"
	suffixPlain     = "plain"
	suffixSQLite    = "sqlite"
	suffixUndoPlain = "undo-plain"
)

const noTransactionMarker = "-- radtrack:no-transaction"

// Migration is one file to apply.
type Migration struct {
	Version       int
	Name          string // the file name, recorded in schema_migrations
	SQL           string
	NoTransaction bool // run outside a transaction
}

// ErrSchemaTooNew means the database was migrated by a newer binary.
var ErrSchemaTooNew = errors.New("database schema is newer than this binary")

// Load returns the migrations of dialect d in version order.
func Load(d Dialect) ([]Migration, error) { return load(files, d) }

// PlainToTimescaleDB returns the steps that turn a plain-PostgreSQL schema
// at the latest version into the TimescaleDB one: every .undo-plain.sql in
// descending version order (later objects may depend on earlier ones), then
// the matching .tsdb.sql files in ascending order. The caller runs them in
// one transaction and records the .tsdb.sql names for their versions.
func PlainToTimescaleDB() ([]Migration, error) { return plainToTimescaleDB(files) }

// Latest is the highest version in all.
func Latest(all []Migration) int {
	if len(all) == 0 {
		return 0
	}
	return all[len(all)-1].Version
}

// Pending returns the migrations of all (in version order) whose version is
// not in applied. It fails with ErrSchemaTooNew when applied holds a version
// beyond the last of all: an older binary must not run on, or migrate, a
// schema it does not know.
func Pending(all []Migration, applied []int) ([]Migration, error) {
	latest := Latest(all)
	done := map[int]bool{}
	for _, v := range applied {
		if v > latest {
			return nil, fmt.Errorf("%w: the database is at schema version %d, this binary knows versions up to %d; run the newer radtrack that migrated it (or restore a backup from before)",
				ErrSchemaTooNew, slices.Max(applied), latest)
		}
		done[v] = true
	}
	var out []Migration
	for _, m := range all {
		if !done[m.Version] {
			out = append(out, m)
		}
	}
	return out, nil
}

type file struct {
	version int
	name    string
	suffix  string
}

// parseName splits "0003_measurements_engine.tsdb.sql".
func parseName(name string) (file, error) {
	base, ok := strings.CutSuffix(name, ".sql")
	stem, suffix, dotted := strings.Cut(base, ".")
	if !ok || !dotted {
		return file{}, fmt.Errorf("migration %s: name must be NNNN_name.DIALECT.sql", name)
	}
	switch suffix {
	case suffixPG, suffixTSDB, suffixPlain, suffixSQLite, suffixUndoPlain:
	default:
		return file{}, fmt.Errorf("migration %s: unknown dialect %q (want pg, tsdb, plain, sqlite or undo-plain)", name, suffix)
	}
	num, _, ok := strings.Cut(stem, "_")
	version, err := strconv.Atoi(num)
	if !ok || err != nil || version <= 0 || len(num) != 4 {
		return file{}, fmt.Errorf("migration %s: name must start with a four-digit version and _", name)
	}
	return file{version: version, name: name, suffix: suffix}, nil
}

// index reads every file name and checks that each version is complete for
// every dialect: a .sqlite file, and either a .pg file or the
// .tsdb/.plain/.undo-plain triple.
func index(fsys fs.FS) (map[int]map[string]file, error) {
	names, err := fs.Glob(fsys, "*.sql")
	if err != nil {
		return nil, fmt.Errorf("list migrations: %w", err)
	}
	byVersion := map[int]map[string]file{}
	for _, name := range names {
		f, err := parseName(name)
		if err != nil {
			return nil, err
		}
		if byVersion[f.version] == nil {
			byVersion[f.version] = map[string]file{}
		}
		if prev, dup := byVersion[f.version][f.suffix]; dup {
			return nil, fmt.Errorf("migrations %s and %s are both version %d for %s", prev.name, name, f.version, f.suffix)
		}
		byVersion[f.version][f.suffix] = f
	}
	for v := 1; v <= len(byVersion); v++ {
		set, ok := byVersion[v]
		if !ok {
			return nil, fmt.Errorf("migration version %d is missing (versions must run 1..%d without gaps)", v, len(byVersion))
		}
		_, pg := set[suffixPG]
		_, tsdb := set[suffixTSDB]
		_, plain := set[suffixPlain]
		_, undo := set[suffixUndoPlain]
		_, sqlite := set[suffixSQLite]
		switch {
		case !sqlite:
			return nil, fmt.Errorf("migration version %d has no .sqlite.sql file", v)
		case pg && (tsdb || plain || undo):
			return nil, fmt.Errorf("migration version %d has a .pg.sql file and engine variants: use one or the other", v)
		case !pg && !(tsdb && plain && undo):
			return nil, fmt.Errorf("migration version %d needs a .pg.sql file or all of .tsdb.sql, .plain.sql and .undo-plain.sql", v)
		}
	}
	return byVersion, nil
}

func load(fsys fs.FS, d Dialect) ([]Migration, error) {
	var want []string
	switch d {
	case TimescaleDB:
		want = []string{suffixPG, suffixTSDB}
	case PostgreSQL:
		want = []string{suffixPG, suffixPlain}
	case SQLite:
		want = []string{suffixSQLite}
	default:
		return nil, fmt.Errorf("unknown migration dialect %q", d)
	}
	byVersion, err := index(fsys)
	if err != nil {
		return nil, err
	}
	out := make([]Migration, 0, len(byVersion))
	for v := 1; v <= len(byVersion); v++ {
		for _, suffix := range want {
			if f, ok := byVersion[v][suffix]; ok {
				m, err := read(fsys, f)
				if err != nil {
					return nil, err
				}
				out = append(out, m)
			}
		}
	}
	return out, nil
}

func plainToTimescaleDB(fsys fs.FS) ([]Migration, error) {
	byVersion, err := index(fsys)
	if err != nil {
		return nil, err
	}
	var undo, tsdb []Migration
	for v := len(byVersion); v >= 1; v-- {
		f, ok := byVersion[v][suffixUndoPlain]
		if !ok {
			continue
		}
		u, err := read(fsys, f)
		if err != nil {
			return nil, err
		}
		t, err := read(fsys, byVersion[v][suffixTSDB])
		if err != nil {
			return nil, err
		}
		if u.NoTransaction || t.NoTransaction {
			return nil, fmt.Errorf("migration version %d: the TimescaleDB conversion runs in one transaction, so its files cannot be no-transaction", v)
		}
		undo = append(undo, u)
		tsdb = append([]Migration{t}, tsdb...)
	}
	return append(undo, tsdb...), nil
}

func read(fsys fs.FS, f file) (Migration, error) {
	body, err := fs.ReadFile(fsys, f.name)
	if err != nil {
		return Migration{}, fmt.Errorf("read migration %s: %w", f.name, err)
	}
	sql := string(body)
	return Migration{
		Version:       f.version,
		Name:          f.name,
		SQL:           sql,
		NoTransaction: strings.HasPrefix(sql, noTransactionMarker),
	}, nil
}
