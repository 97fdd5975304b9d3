// Package sqlitestore implements store.Store on an embedded SQLite database
// (the pure-Go modernc.org/sqlite driver, no cgo), so RadTrack runs without a
// database server. It behaves like pgstore: the same tables and columns, the
// same natural keys and the same errors.
//
// Storage choices:
//   - One database file, radtrack.db, in the configured directory, in WAL
//     mode: readers never block the writer and vice versa.
//   - synchronous=FULL by default: every commit fsyncs the WAL, so a sample
//     acknowledged by WriteSamples survives kill -9 and power loss.
//   - Times are INTEGER microseconds since the Unix epoch, UTC. Integers
//     order and compare exactly (range queries and the (device_id, time) key
//     are plain integer comparisons); microseconds are PostgreSQL's
//     timestamptz precision, so both stores deduplicate the same samples; and
//     the range (±292,000 years) holds every time.Time including the zero
//     value, which nanoseconds cannot.
//   - Booleans are INTEGER 0/1, bytea is BLOB, jsonb is TEXT checked and
//     minified by SQLite's json(). Tables are STRICT so a wrongly typed value
//     fails instead of being stored.
//   - Writes go through one connection (SQLite has a single writer); reads
//     use a small pool of query-only connections.
//
// Several Stores (in one process or several) may open the same directory at
// once: SQLite's file locks serialise their writes (each waits up to
// Config.BusyTimeout), migrations apply once, and every Store sees the
// others' commits. The directory must be on a local file system; WAL needs
// shared memory, which network file systems do not provide.
package sqlitestore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/radtrack/radtrack/store"
)

// FileName is the database file inside Config.Dir.
const FileName = "radtrack.db"

// Sync is SQLite's synchronous setting for commits.
type Sync int

const (
	// SyncFull fsyncs the WAL on every commit: a committed write survives a
	// crash or power loss. The default. Measured cost: about 1 ms per
	// commit, under 1% of a 10k-sample batch (BenchmarkWriteSamples).
	SyncFull Sync = iota
	// SyncNormal fsyncs only at checkpoints: a crash of the process loses
	// nothing, but power loss may lose the last commits. For benchmarks and
	// throwaway data only.
	SyncNormal
)

func (s Sync) pragma() (string, error) {
	switch s {
	case SyncFull:
		return "FULL", nil
	case SyncNormal:
		return "NORMAL", nil
	}
	return "", fmt.Errorf("unknown sync mode %d", s)
}

// Config configures a Store.
type Config struct {
	// Dir is the data directory; it is created if missing.
	Dir string
	// Readers is the size of the read connection pool; 0 → 4.
	Readers int
	// BusyTimeout is how long a write waits for another process holding the
	// database's write lock; 0 → 10 s.
	BusyTimeout time.Duration
	// Sync is the commit durability; the zero value is SyncFull.
	Sync Sync
}

// Store is an embedded SQLite store.
type Store struct {
	w    *sql.DB // exactly one connection: SQLite's single writer
	r    *sql.DB // query-only connections
	path string
}

var _ store.Store = (*Store)(nil)

// Open opens (creating if needed) the database in cfg.Dir and applies
// pending migrations.
func Open(ctx context.Context, cfg Config) (*Store, error) {
	if cfg.Dir == "" {
		return nil, errors.New("sqlite store: data directory not set")
	}
	if cfg.Readers <= 0 {
		cfg.Readers = 4
	}
	if cfg.BusyTimeout <= 0 {
		cfg.BusyTimeout = 10 * time.Second
	}
	syncMode, err := cfg.Sync.pragma()
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(cfg.Dir, 0o750); err != nil {
		return nil, fmt.Errorf("create data directory: %w", err)
	}
	dir, err := filepath.Abs(cfg.Dir)
	if err != nil {
		return nil, fmt.Errorf("data directory %q: %w", cfg.Dir, err)
	}
	path := filepath.Join(dir, FileName)
	busy := strconv.FormatInt(cfg.BusyTimeout.Milliseconds(), 10)

	// IMMEDIATE transactions take the write lock at BEGIN, so a transaction
	// that reads before it writes cannot fail halfway on a lock upgrade.
	w, err := sql.Open("sqlite", dsn(path, url.Values{
		"_txlock":       {"immediate"},
		"_busy_timeout": {busy},
		"_foreign_keys": {"1"},
		"_journal_mode": {"WAL"},
		"_synchronous":  {syncMode},
		// A multi-row INSERT keeps a statement journal (to undo itself if
		// a row fails a constraint); in a temp file it took ~40% of ingest
		// CPU, in memory it is cheap and small. A 16 MiB page cache keeps the
		// measurements tree's insertion points hot; the WAL file is
		// truncated to 64 MiB after checkpoints.
		"_pragma": {"temp_store(MEMORY)", "cache_size(-16384)", "journal_size_limit(67108864)"},
	}))
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	w.SetMaxOpenConns(1)
	w.SetMaxIdleConns(1)
	w.SetConnMaxLifetime(0)
	w.SetConnMaxIdleTime(0)
	s := &Store{w: w, path: path}
	if err := s.prepare(ctx, cfg.BusyTimeout); err != nil {
		w.Close()
		return nil, err
	}

	r, err := sql.Open("sqlite", dsn(path, url.Values{
		"_busy_timeout": {busy},
		"_query_only":   {"1"},
	}))
	if err != nil {
		w.Close()
		return nil, fmt.Errorf("open %s for reading: %w", path, err)
	}
	r.SetMaxOpenConns(cfg.Readers)
	r.SetMaxIdleConns(cfg.Readers)
	s.r = r
	if err := r.PingContext(ctx); err != nil {
		s.Close()
		return nil, fmt.Errorf("open %s for reading: %w", path, err)
	}
	return s, nil
}

// prepare checks WAL mode and migrates. Switching a new file into WAL mode
// takes an exclusive lock that SQLite does not wait for with the busy
// handler, so concurrent first Opens of one directory can see SQLITE_BUSY:
// they try again until the busy timeout.
func (s *Store) prepare(ctx context.Context, busyTimeout time.Duration) error {
	deadline := time.Now().Add(busyTimeout)
	for {
		err := s.checkWAL(ctx)
		if err == nil {
			err = s.migrate(ctx)
		}
		if err == nil || !isBusy(err) || time.Now().After(deadline) {
			return err
		}
		select {
		case <-time.After(20 * time.Millisecond):
		case <-ctx.Done():
			return errors.Join(err, ctx.Err())
		}
	}
}

func isBusy(err error) bool {
	var e *sqlite.Error
	return errors.As(err, &e) && (e.Code()&0xff == sqlite3.SQLITE_BUSY || e.Code()&0xff == sqlite3.SQLITE_LOCKED)
}

// dsn builds the driver's connection string: a file: URI (so any path is
// escaped correctly) whose query carries the driver's settings.
func dsn(path string, params url.Values) string {
	u := url.URL{Scheme: "file", Path: filepath.ToSlash(path), OmitHost: true, RawQuery: params.Encode()}
	return u.String()
}

// checkWAL fails clearly where WAL mode is unavailable (e.g. a network
// file system), instead of silently running in another journal mode.
func (s *Store) checkWAL(ctx context.Context) error {
	var mode string
	if err := s.w.QueryRowContext(ctx, "PRAGMA journal_mode").Scan(&mode); err != nil {
		return fmt.Errorf("open %s: %w", s.path, err)
	}
	if mode != "wal" {
		return fmt.Errorf("open %s: journal mode is %q, want wal (is the directory on a local file system?)", s.path, mode)
	}
	return nil
}

// Path is the database file.
func (s *Store) Path() string { return s.path }

// Ping checks that the database answers.
func (s *Store) Ping(ctx context.Context) error {
	if err := s.w.PingContext(ctx); err != nil {
		return fmt.Errorf("ping %s: %w", s.path, err)
	}
	if err := s.r.PingContext(ctx); err != nil {
		return fmt.Errorf("ping %s: %w", s.path, err)
	}
	return nil
}

// Close releases every connection. The last connection to close
// checkpoints the WAL into the database file.
func (s *Store) Close() {
	if s.r != nil {
		_ = s.r.Close()
	}
	_ = s.w.Close()
}

// writeTx runs fn in a transaction on the writer connection and commits.
func (s *Store) writeTx(ctx context.Context, what string, fn func(tx *sql.Tx) error) error {
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("%s: begin: %w", what, err)
	}
	defer tx.Rollback() //nolint:errcheck // no-op after commit
	if err := fn(tx); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("%s: commit: %w", what, err)
	}
	return nil
}

func isUniqueViolation(err error) bool {
	var e *sqlite.Error
	return errors.As(err, &e) && (e.Code() == sqlite3.SQLITE_CONSTRAINT_UNIQUE || e.Code() == sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY)
}

func notFound(err error) error {
	if errors.Is(err, sql.ErrNoRows) {
		return store.ErrNotFound
	}
	return err
}

// rowsAffected turns "no row matched" into store.ErrNotFound.
func rowsAffected(res sql.Result, err error) error {
	if err != nil {
		return err
	}
	n, err := res.RowsAffected()
	if err != nil {
		return err
	}
	if n == 0 {
		return store.ErrNotFound
	}
	return nil
}

// scanner is what *sql.Row and *sql.Rows share.
type scanner interface {
	Scan(dest ...any) error
}

// queryer is what *sql.DB and *sql.Tx share for reading.
type queryer interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

// queryAll runs a query and scans every row.
func queryAll[T any](ctx context.Context, q queryer, scan func(scanner) (T, error), query string, args ...any) ([]T, error) {
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []T
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}
