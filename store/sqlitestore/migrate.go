package sqlitestore

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/radtrack/radtrack/migrations"
)

// legacyVersions maps what embedded stores recorded before the migrations
// of both SQL stores moved into one home (migrations/, one version number per
// step across dialects): this store numbered its own files then, without
// PostgreSQL's version 3 (the measurements engine), so its users, alarm,
// API token scope and config version steps were versions 3 to 6. Ordered by
// descending old version, so that renumbering never collides with a row not
// yet moved.
var legacyVersions = []struct {
	oldVersion int
	oldName    string
	version    int
	name       string
}{
	{6, "0006_config_version.sql", 7, "0007_config_version.sqlite.sql"},
	{5, "0005_api_token_scopes.sql", 6, "0006_api_token_scopes.sqlite.sql"},
	{4, "0004_fences_rules_alarms.sql", 5, "0005_fences_rules_alarms.sqlite.sql"},
	{3, "0003_users.sql", 4, "0004_users.sqlite.sql"},
	{2, "0002_measurements.sql", 2, "0002_measurements.sqlite.sql"},
	{1, "0001_devices.sql", 1, "0001_devices.sqlite.sql"},
}

// migrate applies every pending migration. Another process may be
// migrating the same file at once: each step runs in an IMMEDIATE
// transaction (the database's write lock) and re-checks that it is still
// needed, so each applies exactly once.
func (s *Store) migrate(ctx context.Context) error {
	all, err := migrations.Load(migrations.SQLite)
	if err != nil {
		return err
	}
	if _, err := s.w.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version    INTEGER PRIMARY KEY,
		name       TEXT NOT NULL,
		applied_at INTEGER NOT NULL) STRICT`); err != nil {
		return fmt.Errorf("create schema_migrations: %w", err)
	}
	if err := s.renumberLegacy(ctx); err != nil {
		return err
	}
	applied, err := s.appliedVersions(ctx)
	if err != nil {
		return err
	}
	pending, err := migrations.Pending(all, applied)
	if err != nil {
		return fmt.Errorf("embedded store %s: %w", s.path, err)
	}
	for _, m := range pending {
		if err := s.applyMigration(ctx, m); err != nil {
			return err
		}
	}
	return nil
}

const legacyQuery = `SELECT EXISTS (SELECT 1 FROM schema_migrations WHERE version = 3 AND name = '0003_users.sql')`

// renumberLegacy moves a database recorded under the old numbering to the
// current one; the new version 3 (nothing to do on SQLite) then applies as a
// pending migration.
func (s *Store) renumberLegacy(ctx context.Context) error {
	var legacy bool
	if err := s.w.QueryRowContext(ctx, legacyQuery).Scan(&legacy); err != nil {
		return fmt.Errorf("read schema_migrations: %w", err)
	}
	if !legacy {
		return nil // the usual case: no write lock taken
	}
	return s.writeTx(ctx, "renumber migrations", func(tx *sql.Tx) error {
		var legacy bool // again under the write lock: another process may have renumbered
		if err := tx.QueryRowContext(ctx, legacyQuery).Scan(&legacy); err != nil {
			return fmt.Errorf("read schema_migrations: %w", err)
		}
		if !legacy {
			return nil
		}
		for _, l := range legacyVersions {
			if _, err := tx.ExecContext(ctx, `UPDATE schema_migrations SET version = ?, name = ? WHERE version = ? AND name = ?`,
				l.version, l.name, l.oldVersion, l.oldName); err != nil {
				return fmt.Errorf("renumber migration %s: %w", l.oldName, err)
			}
		}
		return nil
	})
}

func (s *Store) appliedVersions(ctx context.Context) ([]int, error) {
	rows, err := s.w.QueryContext(ctx, `SELECT version FROM schema_migrations`)
	if err != nil {
		return nil, fmt.Errorf("read schema_migrations: %w", err)
	}
	defer rows.Close()
	var applied []int
	for rows.Next() {
		var v int
		if err := rows.Scan(&v); err != nil {
			return nil, fmt.Errorf("read schema_migrations: %w", err)
		}
		applied = append(applied, v)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read schema_migrations: %w", err)
	}
	return applied, nil
}

func (s *Store) applyMigration(ctx context.Context, m migrations.Migration) error {
	return s.writeTx(ctx, "migration "+m.Name, func(tx *sql.Tx) error {
		var done bool
		if err := tx.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM schema_migrations WHERE version = ?)`, m.Version).Scan(&done); err != nil {
			return fmt.Errorf("check migration %s: %w", m.Name, err)
		}
		if done {
			return nil // another process applied it meanwhile
		}
		if _, err := tx.ExecContext(ctx, m.SQL); err != nil {
			return fmt.Errorf("apply migration %s: %w", m.Name, err)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)`,
			m.Version, m.Name, micros(time.Now())); err != nil {
			return fmt.Errorf("record migration %s: %w", m.Name, err)
		}
		return nil
	})
}
