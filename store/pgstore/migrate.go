package pgstore

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/radtrack/radtrack/migrations"
)

// migrationLockKey is the pg_advisory_lock key that serialises migrations
// across servers starting at the same time ("radtrack" in ASCII).
const migrationLockKey int64 = 0x7261647472616b

// Conversion is what ConvertToTimescaleDB did.
type Conversion struct {
	Converted bool  // false: nothing to do (already TimescaleDB, or a new database created as TimescaleDB)
	Rows      int64 // rows in measurements, the same before and after
	Chunks    int   // chunks the rows were moved into
	Took      time.Duration
}

// migrate picks the engine and applies every pending migration, one
// transaction each, holding an advisory lock so concurrent servers take
// turns. With convert, a plain-PostgreSQL schema is then turned into the
// TimescaleDB one, data included.
func (s *Store) migrate(ctx context.Context, cfg Config, convert bool) (Conversion, error) {
	var conv Conversion
	conn, err := s.pool.Acquire(ctx)
	if err != nil {
		return conv, fmt.Errorf("acquire connection for migrations: %w", err)
	}
	defer conn.Release()
	if _, err := conn.Exec(ctx, "SELECT pg_advisory_lock($1)", migrationLockKey); err != nil {
		return conv, fmt.Errorf("take migration lock: %w", err)
	}
	defer func() {
		// Unlock on a fresh context: ctx may be cancelled by now.
		_, _ = conn.Exec(context.WithoutCancel(ctx), "SELECT pg_advisory_unlock($1)", migrationLockKey)
	}()

	// Before any DDL: on a server that has TimescaleDB installed but not
	// preloaded, a statement that loads its library ends the session.
	facts, err := readEngineFacts(ctx, conn.Conn())
	if err != nil {
		return conv, err
	}
	mode := cfg.Timescale
	if mode == "" {
		mode = TimescaleAuto
	}
	convertPlain := convert && facts.hasSchema && !facts.hypertable
	if convert {
		mode = TimescaleOn
		if convertPlain {
			// Migrate what is there as plain first; the conversion below
			// needs TimescaleDB loadable.
			mode = TimescaleOff
			if why := facts.unavailable(); why != "" {
				return conv, fmt.Errorf("cannot convert database %q to TimescaleDB: %s", facts.database, why)
			}
		}
	}
	timescale, warning, err := chooseEngine(mode, facts)
	if err != nil {
		return conv, err
	}
	if warning != "" {
		s.log.Warn(warning, "database", facts.database)
	}
	s.timescale = timescale

	if _, err := conn.Exec(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version    integer PRIMARY KEY,
		name       text NOT NULL,
		applied_at timestamptz NOT NULL DEFAULT now())`); err != nil {
		return conv, fmt.Errorf("create schema_migrations: %w", err)
	}
	dialect := migrations.PostgreSQL
	if timescale {
		dialect = migrations.TimescaleDB
	}
	all, err := migrations.Load(dialect)
	if err != nil {
		return conv, err
	}
	rows, err := conn.Query(ctx, "SELECT version FROM schema_migrations")
	if err != nil {
		return conv, fmt.Errorf("read schema_migrations: %w", err)
	}
	applied, err := pgx.CollectRows(rows, pgx.RowTo[int])
	if err != nil {
		return conv, fmt.Errorf("read schema_migrations: %w", err)
	}
	pending, err := migrations.Pending(all, applied)
	if err != nil {
		return conv, fmt.Errorf("database %q: %w", facts.database, err)
	}
	for _, m := range pending {
		if err := applyMigration(ctx, conn.Conn(), m); err != nil {
			return conv, err
		}
	}
	if convertPlain {
		conv, err = convertToTimescale(ctx, conn.Conn())
		if err != nil {
			return conv, fmt.Errorf("convert database %q to TimescaleDB: %w", facts.database, err)
		}
		s.timescale = true
	}
	return conv, nil
}

func applyMigration(ctx context.Context, conn *pgx.Conn, m migrations.Migration) error {
	if m.NoTransaction {
		if _, err := conn.Exec(ctx, m.SQL); err != nil {
			return fmt.Errorf("apply migration %s: %w", m.Name, err)
		}
		if _, err := conn.Exec(ctx, "INSERT INTO schema_migrations (version, name) VALUES ($1, $2)", m.Version, m.Name); err != nil {
			return fmt.Errorf("record migration %s: %w", m.Name, err)
		}
		return nil
	}
	return pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, m.SQL); err != nil {
			return fmt.Errorf("apply migration %s: %w", m.Name, err)
		}
		if _, err := tx.Exec(ctx, "INSERT INTO schema_migrations (version, name) VALUES ($1, $2)", m.Version, m.Name); err != nil {
			return fmt.Errorf("record migration %s: %w", m.Name, err)
		}
		return nil
	})
}

// convertToTimescale runs the plain → TimescaleDB steps in one transaction:
// a failure leaves the plain database as it was. create_hypertable moves the
// rows into chunks while holding an exclusive lock on measurements, so
// ingest waits (or spools) meanwhile.
func convertToTimescale(ctx context.Context, conn *pgx.Conn) (Conversion, error) {
	var conv Conversion
	steps, err := migrations.PlainToTimescaleDB()
	if err != nil {
		return conv, err
	}
	started := time.Now()
	err = pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
		if err := tx.QueryRow(ctx, "SELECT count(*) FROM measurements").Scan(&conv.Rows); err != nil {
			return fmt.Errorf("count measurements: %w", err)
		}
		for _, m := range steps {
			if _, err := tx.Exec(ctx, m.SQL); err != nil {
				return fmt.Errorf("%s: %w", m.Name, err)
			}
		}
		// The record says which variant each version's schema is now.
		for _, m := range steps {
			if _, err := tx.Exec(ctx, "UPDATE schema_migrations SET name = $2 WHERE version = $1 AND name <> $2 AND $2 LIKE '%.tsdb.sql'", m.Version, m.Name); err != nil {
				return fmt.Errorf("record %s: %w", m.Name, err)
			}
		}
		var after int64
		if err := tx.QueryRow(ctx, "SELECT count(*) FROM measurements").Scan(&after); err != nil {
			return fmt.Errorf("count measurements: %w", err)
		}
		if after != conv.Rows {
			return fmt.Errorf("measurements held %d rows before and %d after create_hypertable", conv.Rows, after)
		}
		return tx.QueryRow(ctx, "SELECT count(*) FROM show_chunks('measurements')").Scan(&conv.Chunks)
	})
	if err != nil {
		return conv, err
	}
	conv.Converted, conv.Took = true, time.Since(started)
	return conv, nil
}
