package tsdbtest_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/radtrack/radtrack/internal/tsdbtest"
)

// TestTimescaleDB checks, through pgx/v5, every TimescaleDB feature the
// migrations and the store rely on (see doc.go). One engine, sequential steps.
func TestTimescaleDB(t *testing.T) {
	// A second connection is refused after this long (default 15 s).
	t.Setenv("PGLITE_QUEUE_TIMEOUT_MS", "1500")
	cs := tsdbtest.Start(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()

	cfg, err := pgxpool.ParseConfig(cs)
	if err != nil {
		t.Fatal(err)
	}
	cfg.MaxConns = 1
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	exec := func(t *testing.T, sql string, args ...any) pgconn.CommandTag {
		t.Helper()
		tag, err := pool.Exec(ctx, sql, args...)
		if err != nil {
			t.Fatalf("%s: %v", sql, err)
		}
		return tag
	}
	scan := func(t *testing.T, sql string, dst ...any) {
		t.Helper()
		if err := pool.QueryRow(ctx, sql).Scan(dst...); err != nil {
			t.Fatalf("%s: %v", sql, err)
		}
	}
	step := func(name string, f func(t *testing.T)) {
		if !t.Run(name, f) {
			t.FailNow()
		}
	}

	step("extension", func(t *testing.T) {
		exec(t, `CREATE EXTENSION IF NOT EXISTS timescaledb`)
		exec(t, `CREATE EXTENSION IF NOT EXISTS timescaledb`)
		var v string
		scan(t, `SELECT extversion FROM pg_extension WHERE extname='timescaledb'`, &v)
		if !strings.HasPrefix(v, "2.23") {
			t.Fatalf("timescaledb %q, want 2.23.x", v)
		}
		var avail, before bool
		scan(t, `SELECT EXISTS (SELECT FROM pg_available_extensions WHERE name='timescaledb'),
		                to_regclass('public.measurements') IS NULL`, &avail, &before)
		if !avail || !before {
			t.Fatalf("pg_available_extensions has timescaledb=%v, to_regclass(missing) IS NULL=%v", avail, before)
		}
	})

	step("hypertable", func(t *testing.T) {
		exec(t, `CREATE TABLE measurements (
			time      timestamptz      NOT NULL,
			device_id bigint           NOT NULL,
			dose_rate double precision NOT NULL,
			lon       double precision,
			lat       double precision,
			gps_valid boolean          NOT NULL DEFAULT false,
			extra     jsonb)`)
		exec(t, `SELECT create_hypertable('measurements', by_range('time', INTERVAL '1 day'))`)
		exec(t, `CREATE UNIQUE INDEX measurements_device_time ON measurements (device_id, time DESC)`)

		exec(t, `CREATE TABLE classic (time timestamptz NOT NULL, device_id bigint NOT NULL, v double precision)`)
		exec(t, `INSERT INTO classic VALUES (now(), 1, 1)`)
		exec(t, `SELECT create_hypertable('classic', 'time', chunk_time_interval => INTERVAL '1 day',
			create_default_indexes => false, migrate_data => true)`)

		var n int
		scan(t, `SELECT count(*) FROM timescaledb_information.dimensions
			WHERE hypertable_name IN ('measurements','classic') AND time_interval = INTERVAL '1 day'`, &n)
		if n != 2 {
			t.Fatalf("%d hypertables with 1-day chunks, want 2", n)
		}
		var reg string
		scan(t, `SELECT to_regclass('measurements')::text`, &reg)
		if reg != "measurements" {
			t.Fatalf("to_regclass = %q", reg)
		}
	})

	step("ddl_in_transaction", func(t *testing.T) {
		for _, commit := range []bool{true, false} {
			name := fmt.Sprintf("txhyper_%v", commit)
			tx, err := pool.Begin(ctx)
			if err != nil {
				t.Fatal(err)
			}
			for _, sql := range []string{
				`CREATE TABLE ` + name + ` (time timestamptz NOT NULL, v int)`,
				`SELECT create_hypertable('` + name + `', by_range('time', INTERVAL '1 day'))`,
				`CREATE INDEX ON ` + name + ` (v, time DESC)`,
			} {
				if _, err := tx.Exec(ctx, sql); err != nil {
					t.Fatalf("%s: %v", sql, err)
				}
			}
			if commit {
				err = tx.Commit(ctx)
			} else {
				err = tx.Rollback(ctx)
			}
			if err != nil {
				t.Fatal(err)
			}
			var n int
			scan(t, `SELECT count(*) FROM timescaledb_information.hypertables WHERE hypertable_name = '`+name+`'`, &n)
			if want := map[bool]int{true: 1, false: 0}[commit]; n != want {
				t.Fatalf("commit=%v: %d hypertables named %s, want %d", commit, n, name, want)
			}
		}
	})

	step("compression_and_policies", func(t *testing.T) {
		exec(t, `ALTER TABLE measurements SET (timescaledb.compress,
			timescaledb.compress_segmentby = 'device_id', timescaledb.compress_orderby = 'time DESC')`)
		exec(t, `SELECT add_compression_policy('measurements', INTERVAL '7 days')`)
		exec(t, `SELECT add_retention_policy('measurements', INTERVAL '90 days')`)
		exec(t, `SELECT remove_retention_policy('measurements')`)
	})

	step("continuous_aggregates", func(t *testing.T) {
		exec(t, `CREATE MATERIALIZED VIEW dose_1m WITH (timescaledb.continuous) AS
			SELECT device_id, time_bucket(INTERVAL '1 minute', time) AS bucket,
			       min(dose_rate) AS dose_min, avg(dose_rate) AS dose_avg, max(dose_rate) AS dose_max,
			       count(*) AS samples, last(dose_rate, time) AS dose_last,
			       last(lon, time) FILTER (WHERE gps_valid) AS lon
			FROM measurements GROUP BY device_id, bucket WITH NO DATA`)
		exec(t, `ALTER MATERIALIZED VIEW dose_1m SET (timescaledb.materialized_only = false)`)
		exec(t, `SELECT add_continuous_aggregate_policy('dose_1m', start_offset => INTERVAL '3 hours',
			end_offset => INTERVAL '1 minute', schedule_interval => INTERVAL '1 minute')`)
		// Both options in CREATE, as migrations/0003 does.
		exec(t, `CREATE MATERIALIZED VIEW grid_1h WITH (timescaledb.continuous, timescaledb.materialized_only = false) AS
			SELECT time_bucket(INTERVAL '1 hour', time) AS bucket, round(lon::numeric, 2) AS lon,
			       round(lat::numeric, 2) AS lat, avg(dose_rate) AS dose_avg, count(*) AS samples
			FROM measurements WHERE gps_valid GROUP BY 1, 2, 3 WITH NO DATA`)
	})

	base := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	step("insert_on_conflict", func(t *testing.T) {
		const sql = `INSERT INTO measurements (time, device_id, dose_rate, lon, lat, gps_valid, extra)
			VALUES ($1,$2,$3,$4,$5,$6,$7), ($8,$9,$10,$11,$12,$13,$14), ($15,$16,$17,$18,$19,$20,$21)
			ON CONFLICT (device_id, time) DO NOTHING`
		args := []any{
			base, int64(1), 0.10, 8.1, 47.1, true, map[string]any{"fw": "1.2"},
			base.Add(20 * time.Second), int64(1), 0.30, 8.2, 47.2, true, nil,
			base.Add(25 * time.Hour), int64(2), 0.50, nil, nil, false, `{"k": 1}`,
		}
		if tag := exec(t, sql, args...); tag.RowsAffected() != 3 {
			t.Fatalf("first insert: %v", tag)
		}
		if tag := exec(t, sql, args...); tag.RowsAffected() != 0 { // a retried batch
			t.Fatalf("retried insert: %v, want 0 rows", tag)
		}
		// > 64 KB Bind message (5000 rows x 3 params).
		var sb strings.Builder
		big := make([]any, 0, 15000)
		sb.WriteString(`INSERT INTO measurements (time, device_id, dose_rate) VALUES `)
		for i := range 5000 {
			if i > 0 {
				sb.WriteByte(',')
			}
			fmt.Fprintf(&sb, "($%d,$%d,$%d)", 3*i+1, 3*i+2, 3*i+3)
			big = append(big, base.Add(-time.Duration(i+1)*time.Second), int64(3), float64(i))
		}
		sb.WriteString(` ON CONFLICT (device_id, time) DO NOTHING`)
		if tag := exec(t, sb.String(), big...); tag.RowsAffected() != 5000 {
			t.Fatalf("big insert: %v", tag)
		}
		b := &pgx.Batch{}
		for i := range 10 {
			b.Queue(`INSERT INTO measurements (time, device_id, dose_rate) VALUES ($1, 4, $2)
				ON CONFLICT (device_id, time) DO NOTHING`, base.Add(time.Duration(i)*time.Second), float64(i))
		}
		if err := pool.SendBatch(ctx, b).Close(); err != nil {
			t.Fatalf("batch: %v", err)
		}
		var extra string
		scan(t, `SELECT extra->>'fw' FROM measurements WHERE device_id = 1 AND time = '2025-03-01 12:00:00+00'`, &extra)
		if extra != "1.2" {
			t.Fatalf("jsonb round trip: %q", extra)
		}
	})

	step("advisory_lock_and_rollback", func(t *testing.T) {
		exec(t, `SELECT pg_advisory_lock(4242)`)
		var ok bool
		scan(t, `SELECT pg_advisory_unlock(4242)`, &ok)
		if !ok {
			t.Fatal("pg_advisory_unlock returned false")
		}
		tx, err := pool.Begin(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := tx.Exec(ctx, `INSERT INTO measurements (time, device_id, dose_rate) VALUES (now(), 99, 1)`); err != nil {
			t.Fatal(err)
		}
		if _, err := tx.Exec(ctx, `SELECT 1/0`); err == nil {
			t.Fatal("1/0 did not fail")
		}
		if err := tx.Rollback(ctx); err != nil {
			t.Fatal(err)
		}
		var n int
		scan(t, `SELECT count(*) FROM measurements WHERE device_id = 99`, &n)
		if n != 0 {
			t.Fatalf("rolled-back row is visible (%d)", n)
		}
	})

	step("refresh_and_read_aggregate", func(t *testing.T) {
		exec(t, `CALL refresh_continuous_aggregate('dose_1m', $1::timestamptz, $2::timestamptz)`,
			base.Add(-24*time.Hour), base.Add(48*time.Hour))
		exec(t, `CALL refresh_continuous_aggregate('grid_1h', NULL, NULL)`)
		var minV, avgV, maxV, last, lon float64
		var n int64
		scan(t, `SELECT dose_min, dose_avg, dose_max, samples, dose_last, lon FROM dose_1m
			WHERE device_id = 1 AND bucket = '2025-03-01 12:00:00+00'`, &minV, &avgV, &maxV, &n, &last, &lon)
		if minV != 0.10 || maxV != 0.30 || n != 2 || last != 0.30 || lon != 8.2 || avgV < 0.199 || avgV > 0.201 {
			t.Fatalf("aggregate = min %v avg %v max %v n %v last %v lon %v", minV, avgV, maxV, n, last, lon)
		}
		// Real-time part (materialized_only = false): a row after the refresh.
		exec(t, `INSERT INTO measurements (time, device_id, dose_rate) VALUES ('2025-03-05 00:00:00+00', 5, 7)`)
		scan(t, `SELECT samples FROM dose_1m WHERE device_id = 5`, &n)
		if n != 1 {
			t.Fatalf("real-time aggregate: samples = %d", n)
		}
		// As in PostgreSQL, a multi-statement simple query is one implicit
		// transaction, so CALL refresh_continuous_aggregate fails in it.
		_, err := pool.Exec(ctx, `SELECT 1; CALL refresh_continuous_aggregate('dose_1m', NULL, NULL)`)
		if !isCode(err, "25001") {
			t.Fatalf("refresh in a multi-statement query: %v, want SQLSTATE 25001", err)
		}
		tx, err := pool.Begin(ctx)
		if err != nil {
			t.Fatal(err)
		}
		defer tx.Rollback(ctx) //nolint:errcheck
		_, err = tx.Exec(ctx, `CALL refresh_continuous_aggregate('dose_1m', NULL, NULL)`)
		if !isCode(err, "25001") {
			t.Fatalf("refresh in a transaction: %v, want SQLSTATE 25001", err)
		}
	})

	step("jobs_and_compression", func(t *testing.T) {
		rows, err := pool.Query(ctx, `SELECT proc_name FROM timescaledb_information.jobs
			WHERE hypertable_name IN ('measurements', 'dose_1m') ORDER BY job_id`)
		if err != nil {
			t.Fatal(err)
		}
		procs, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			t.Fatal(err)
		}
		if strings.Join(procs, ",") != "policy_compression,policy_refresh_continuous_aggregate" {
			t.Fatalf("jobs: %v", procs)
		}
		// No background workers: policies only run when called.
		var job int
		scan(t, `SELECT job_id FROM timescaledb_information.jobs WHERE proc_name = 'policy_compression'`, &job)
		exec(t, `CALL run_job($1)`, job)
		var compressed, total int
		scan(t, `SELECT count(*) FILTER (WHERE is_compressed), count(*) FROM timescaledb_information.chunks
			WHERE hypertable_name = 'measurements'`, &compressed, &total)
		if compressed == 0 || compressed != total {
			t.Fatalf("after run_job: %d of %d chunks compressed", compressed, total)
		}
		// Idempotent retry into a compressed chunk.
		if tag := exec(t, `INSERT INTO measurements (time, device_id, dose_rate) VALUES ($1, 1, 0.1)
			ON CONFLICT (device_id, time) DO NOTHING`, base); tag.RowsAffected() != 0 {
			t.Fatalf("duplicate into compressed chunk inserted %v", tag)
		}
		var n int
		scan(t, `SELECT count(*) FROM measurements`, &n)
		if n != 3+5000+10+1 {
			t.Fatalf("count after compression = %d", n)
		}
	})

	step("second_connection_refused", func(t *testing.T) {
		// The pool holds the only session; another client is refused.
		_, err := pgx.Connect(ctx, cs)
		if !isCode(err, "53300") {
			t.Fatalf("second connection: %v, want SQLSTATE 53300", err)
		}
	})
	pool.Close()

	step("copy_from", func(t *testing.T) {
		conn, err := pgx.Connect(ctx, cs)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close(ctx)
		cols := []string{"time", "device_id", "dose_rate", "gps_valid"}
		rows := make([][]any, 2000)
		for i := range rows {
			rows[i] = []any{base.Add(time.Duration(i) * time.Second), int64(6), 0.2, false}
		}
		n, err := conn.CopyFrom(ctx, pgx.Identifier{"measurements"}, cols, pgx.CopyFromRows(rows))
		if err != nil || n != 2000 {
			t.Fatalf("CopyFrom: %d, %v", n, err)
		}
		_, err = conn.CopyFrom(ctx, pgx.Identifier{"measurements"}, cols, pgx.CopyFromRows(rows[:5]))
		if !isCode(err, "23505") {
			t.Fatalf("duplicate CopyFrom: %v, want SQLSTATE 23505", err)
		}
		var c int
		if err := conn.QueryRow(ctx, `SELECT count(*) FROM measurements WHERE device_id = 6`).Scan(&c); err != nil || c != 2000 {
			t.Fatalf("after COPY: %d, %v", c, err)
		}
	})

	step("reconnect_resets_session", func(t *testing.T) {
		for i := range 3 {
			conn, err := pgx.Connect(ctx, cs)
			if err != nil {
				t.Fatalf("connection %d: %v", i, err)
			}
			var locks, prepared int
			if err := conn.QueryRow(ctx, `SELECT (SELECT count(*) FROM pg_locks WHERE locktype = 'advisory'),
				(SELECT count(*) FROM pg_prepared_statements)`).Scan(&locks, &prepared); err != nil {
				t.Fatalf("connection %d: %v", i, err)
			}
			if locks != 0 || prepared != 1 { // the statement just prepared
				t.Fatalf("connection %d inherited %d advisory locks, %d prepared statements", i, locks, prepared)
			}
			var c int
			if err := conn.QueryRow(ctx, `SELECT count(*) FROM measurements WHERE device_id = 7`).Scan(&c); err != nil || c != 0 {
				t.Fatalf("connection %d sees %d uncommitted rows (%v)", i, c, err)
			}
			// Leave a lock, an open transaction and SET behind.
			for _, sql := range []string{`SELECT pg_advisory_lock(1)`, `SET TIME ZONE 'Asia/Tokyo'`, `BEGIN`,
				`INSERT INTO measurements (time, device_id, dose_rate) VALUES (now(), 7, 1)`} {
				if _, err := conn.Exec(ctx, sql); err != nil {
					t.Fatalf("%s: %v", sql, err)
				}
			}
			if err := conn.Close(ctx); err != nil {
				t.Fatal(err)
			}
		}
	})

	step("cancelled_query", func(t *testing.T) {
		conn, err := pgx.Connect(ctx, cs)
		if err != nil {
			t.Fatal(err)
		}
		qctx, qcancel := context.WithTimeout(ctx, 200*time.Millisecond)
		_, err = conn.Exec(qctx, `SELECT pg_sleep(1)`)
		qcancel()
		if err == nil {
			t.Fatal("query outlived its context")
		}
		conn.Close(ctx) // pgx already closed it; the query still ran to its end
		conn, err = pgx.Connect(ctx, cs)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close(ctx)
		var tz string
		if err := conn.QueryRow(ctx, `SHOW TimeZone`).Scan(&tz); err != nil || tz != "GMT" {
			t.Fatalf("after a cancelled query: TimeZone %q, %v", tz, err)
		}
	})
}

func isCode(err error, code string) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && pe.Code == code
}
