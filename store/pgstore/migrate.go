package pgstore

import (
	"context"
	"fmt"
	"io/fs"
	"sort"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/radtrack/radtrack/migrations"
)

// migrationLockKey is the pg_advisory_lock key that serialises migrations
// across servers starting at the same time ("radtrack" in ASCII).
const migrationLockKey int64 = 0x7261647472616b

// Engine variants of a migration file (see package migrations).
const (
	variantAll   = ""
	variantTSDB  = "tsdb"
	variantPlain = "plain"
)

type migration struct {
	version     int
	name        string
	variant     string
	sql         string
	transaction bool
}

// loadMigrations parses the embedded files and keeps, per version, the file
// meant for this engine.
func loadMigrations(fsys fs.FS, timescale bool) ([]migration, error) {
	names, err := fs.Glob(fsys, "*.sql")
	if err != nil {
		return nil, fmt.Errorf("list migrations: %w", err)
	}
	want := variantPlain
	if timescale {
		want = variantTSDB
	}
	byVersion := map[int]migration{}
	for _, file := range names {
		m, err := parseMigrationName(file)
		if err != nil {
			return nil, err
		}
		if m.variant != variantAll && m.variant != want {
			continue
		}
		if prev, dup := byVersion[m.version]; dup {
			return nil, fmt.Errorf("migrations %q and %q share version %d", prev.name, m.name, m.version)
		}
		body, err := fs.ReadFile(fsys, file)
		if err != nil {
			return nil, fmt.Errorf("read migration %s: %w", file, err)
		}
		m.sql = string(body)
		m.transaction = !strings.HasPrefix(m.sql, "-- radtrack:no-transaction")
		byVersion[m.version] = m
	}
	out := make([]migration, 0, len(byVersion))
	for _, m := range byVersion {
		out = append(out, m)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].version < out[j].version })
	for i, m := range out {
		if m.version != i+1 {
			return nil, fmt.Errorf("migration version %d missing (found %d, %s)", i+1, m.version, m.name)
		}
	}
	return out, nil
}

// parseMigrationName splits "0003_measurements_engine.tsdb.sql".
func parseMigrationName(file string) (migration, error) {
	base := strings.TrimSuffix(file, ".sql")
	variant := variantAll
	if stem, v, ok := strings.Cut(base, "."); ok {
		if v != variantTSDB && v != variantPlain {
			return migration{}, fmt.Errorf("migration %s: unknown variant %q", file, v)
		}
		base, variant = stem, v
	}
	num, _, ok := strings.Cut(base, "_")
	version, err := strconv.Atoi(num)
	if !ok || err != nil || version <= 0 {
		return migration{}, fmt.Errorf("migration %s: name must be NNNN_name.sql", file)
	}
	return migration{version: version, name: file, variant: variant}, nil
}

// migrate applies every pending migration, one transaction each, holding an
// advisory lock so concurrent servers take turns.
func (s *Store) migrate(ctx context.Context) error {
	conn, err := s.pool.Acquire(ctx)
	if err != nil {
		return fmt.Errorf("acquire connection for migrations: %w", err)
	}
	defer conn.Release()
	if _, err := conn.Exec(ctx, "SELECT pg_advisory_lock($1)", migrationLockKey); err != nil {
		return fmt.Errorf("take migration lock: %w", err)
	}
	defer func() {
		// Unlock on a fresh context: ctx may be cancelled by now.
		_, _ = conn.Exec(context.WithoutCancel(ctx), "SELECT pg_advisory_unlock($1)", migrationLockKey)
	}()

	if _, err := conn.Exec(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version    integer PRIMARY KEY,
		name       text NOT NULL,
		applied_at timestamptz NOT NULL DEFAULT now())`); err != nil {
		return fmt.Errorf("create schema_migrations: %w", err)
	}
	if err := s.detectEngine(ctx, conn.Conn()); err != nil {
		return err
	}
	all, err := loadMigrations(migrations.FS, s.timescale)
	if err != nil {
		return err
	}
	applied := map[int]bool{}
	rows, err := conn.Query(ctx, "SELECT version FROM schema_migrations")
	if err != nil {
		return fmt.Errorf("read schema_migrations: %w", err)
	}
	versions, err := pgx.CollectRows(rows, pgx.RowTo[int32])
	if err != nil {
		return fmt.Errorf("read schema_migrations: %w", err)
	}
	for _, v := range versions {
		applied[int(v)] = true
	}
	for _, m := range all {
		if applied[m.version] {
			continue
		}
		if err := applyMigration(ctx, conn.Conn(), m); err != nil {
			return err
		}
	}
	return nil
}

// detectEngine decides between TimescaleDB and plain PostgreSQL. Once the
// measurements table exists, what it is decides; before, availability does.
func (s *Store) detectEngine(ctx context.Context, conn *pgx.Conn) error {
	var installed, available bool
	err := conn.QueryRow(ctx, `SELECT
		EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'timescaledb'),
		EXISTS (SELECT 1 FROM pg_available_extensions WHERE name = 'timescaledb')`).Scan(&installed, &available)
	if err != nil {
		return fmt.Errorf("detect timescaledb: %w", err)
	}
	var measurementsExist bool
	if err := conn.QueryRow(ctx, "SELECT to_regclass('measurements') IS NOT NULL").Scan(&measurementsExist); err != nil {
		return fmt.Errorf("detect schema: %w", err)
	}
	if measurementsExist {
		s.timescale = installed
		return nil
	}
	s.timescale = available
	return nil
}

func applyMigration(ctx context.Context, conn *pgx.Conn, m migration) error {
	if !m.transaction {
		if _, err := conn.Exec(ctx, m.sql); err != nil {
			return fmt.Errorf("apply migration %s: %w", m.name, err)
		}
		if _, err := conn.Exec(ctx, "INSERT INTO schema_migrations (version, name) VALUES ($1, $2)", m.version, m.name); err != nil {
			return fmt.Errorf("record migration %s: %w", m.name, err)
		}
		return nil
	}
	tx, err := conn.Begin(ctx)
	if err != nil {
		return fmt.Errorf("begin migration %s: %w", m.name, err)
	}
	defer tx.Rollback(ctx) //nolint:errcheck // no-op after commit
	if _, err := tx.Exec(ctx, m.sql); err != nil {
		return fmt.Errorf("apply migration %s: %w", m.name, err)
	}
	if _, err := tx.Exec(ctx, "INSERT INTO schema_migrations (version, name) VALUES ($1, $2)", m.version, m.name); err != nil {
		return fmt.Errorf("record migration %s: %w", m.name, err)
	}
	if err := tx.Commit(ctx); err != nil {
		return fmt.Errorf("commit migration %s: %w", m.name, err)
	}
	return nil
}
