package pgstore_test

import (
	"context"
	"testing"
	"time"

	"github.com/radtrack/radtrack/internal/tsdbtest"
	"github.com/radtrack/radtrack/store"
	"github.com/radtrack/radtrack/store/pgstore"
	"github.com/radtrack/radtrack/store/storetest"
)

// openTimescale starts a real TimescaleDB 2.23 engine (PGlite build served
// over the wire protocol, see internal/tsdbtest) and opens the store on it
// with the non-COPY write path. The engine holds one database and one
// connection, so each store gets its own engine.
func openTimescale(t *testing.T, cfg pgstore.Config) *pgstore.Store {
	t.Helper()
	cfg.URL = tsdbtest.Start(t)
	cfg.MaxConns = 1
	cfg.WriteMode = pgstore.WriteInsert
	s, err := pgstore.Open(context.Background(), cfg)
	if err != nil {
		t.Fatalf("open store on TimescaleDB: %v", err)
	}
	t.Cleanup(s.Close)
	if !s.Timescale() {
		t.Fatal("the store did not choose TimescaleDB on a TimescaleDB engine")
	}
	return s
}

// Every migration and every store query, on TimescaleDB.
func TestTimescaleStoreSuite(t *testing.T) {
	if testing.Short() {
		t.Skip("starts one TimescaleDB engine per subtest")
	}
	storetest.Run(t, func(t *testing.T) store.Store { return openTimescale(t, pgstore.Config{}) })
}

func TestTimescaleSchemaAndPolicies(t *testing.T) {
	ctx := context.Background()
	s := openTimescale(t, pgstore.Config{CompressAfter: 72 * time.Hour, RetainFor: 365 * 24 * time.Hour})
	pool := s.Pool()
	var hypertables, compressed, caggs int
	if err := pool.QueryRow(ctx, `SELECT
		(SELECT count(*) FROM timescaledb_information.hypertables WHERE hypertable_name = 'measurements'),
		(SELECT count(*) FROM timescaledb_information.hypertables WHERE hypertable_name = 'measurements' AND compression_enabled),
		(SELECT count(*) FROM timescaledb_information.continuous_aggregates WHERE view_name = 'dose_1m')`).
		Scan(&hypertables, &compressed, &caggs); err != nil {
		t.Fatal(err)
	}
	if hypertables != 1 || compressed != 1 || caggs != 1 {
		t.Fatalf("hypertable %d, compression %d, dose_1m aggregate %d; want 1 each", hypertables, compressed, caggs)
	}
	var chunk time.Duration
	if err := pool.QueryRow(ctx, `SELECT time_interval FROM timescaledb_information.dimensions
		WHERE hypertable_name = 'measurements' AND column_name = 'time'`).Scan(&chunk); err != nil {
		t.Fatal(err)
	}
	if chunk != 24*time.Hour {
		t.Fatalf("chunk interval %s, want 24h", chunk)
	}
	jobs := map[string]string{}
	rows, err := pool.Query(ctx, `SELECT proc_name, config::text FROM timescaledb_information.jobs WHERE hypertable_name IN ('measurements', 'dose_1m')
		OR proc_name = 'policy_refresh_continuous_aggregate'`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var name, cfg string
		if err := rows.Scan(&name, &cfg); err != nil {
			t.Fatal(err)
		}
		jobs[name] = cfg
	}
	if rows.Err() != nil {
		t.Fatal(rows.Err())
	}
	for _, want := range []string{"policy_compression", "policy_retention", "policy_refresh_continuous_aggregate"} {
		if _, ok := jobs[want]; !ok {
			t.Errorf("job %s missing; jobs: %v", want, jobs)
		}
	}

	// Reopening with other settings replaces the policies (configuration,
	// not schema) and applies no migration twice.
	s.Close()
	s2, err := pgstore.Open(ctx, pgstore.Config{URL: s.ConnString(), MaxConns: 1, WriteMode: pgstore.WriteInsert})
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	var retention, migrations int
	if err := s2.Pool().QueryRow(ctx, `SELECT
		(SELECT count(*) FROM timescaledb_information.jobs WHERE proc_name = 'policy_retention'),
		(SELECT count(*) FROM schema_migrations)`).Scan(&retention, &migrations); err != nil {
		t.Fatal(err)
	}
	if retention != 0 {
		t.Fatalf("retention policy still set after reopening without one")
	}
	var latest int
	_ = s2.Pool().QueryRow(ctx, `SELECT max(version) FROM schema_migrations`).Scan(&latest)
	if migrations != latest {
		t.Fatalf("%d migration rows for %d versions", migrations, latest)
	}
}
