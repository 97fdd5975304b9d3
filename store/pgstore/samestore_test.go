package pgstore_test

import (
	"context"
	"testing"
	"time"

	"github.com/radtrack/radtrack/internal/pgtest"
	"github.com/radtrack/radtrack/store"
	"github.com/radtrack/radtrack/store/sqlitestore"
)

// Track, heatmap, dose-minute and alarm-sample queries answer the same on
// the three stores over identical data; TimescaleDB also once its chunks
// are compressed.
func TestSameAnswersOnEveryStore(t *testing.T) {
	ctx := context.Background()
	embedded, err := sqlitestore.Open(ctx, sqlitestore.Config{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(embedded.Close)
	plain := openEngine(t, pgtest.Engines()[0])
	tsdb := openEngine(t, pgtest.Engines()[1])
	// Rows written below an aggregate's watermark count in it only after
	// its next refresh (README, "Scale"): the test refreshes when it means
	// to, not the server's scheduler halfway through the writes.
	unschedule(t, tsdb.Pool())

	now := time.Now().UTC().Truncate(time.Second)
	from, to := now.Add(-4*24*time.Hour), now
	var devices []int64
	var alarm int64
	for _, s := range []store.Store{embedded, plain, tsdb} {
		devices = newDevices(t, s, 0, 4)
		write(t, s, fleet(devices, from.Add(time.Hour), to, 2*time.Minute))
		alarm = raiseAlarm(t, s, devices[3], from.Add(30*time.Hour), from.Add(31*time.Hour+17*time.Minute))
	}
	want := ask(t, embedded, devices, from, to, alarm)
	sameAnswers(t, "PostgreSQL vs embedded", ask(t, plain, devices, from, to, alarm), want)
	sameAnswers(t, "TimescaleDB vs embedded", ask(t, tsdb, devices, from, to, alarm), want)

	// Materialised, the heatmap's grid aggregates answer the whole days
	// and hours of a long range (so far they answered in real time).
	runJob(t, tsdb.Pool(), "policy_refresh_continuous_aggregate", "dose_1m")
	runJob(t, tsdb.Pool(), "policy_refresh_continuous_aggregate", "dose_grid_1h")
	runJob(t, tsdb.Pool(), "policy_refresh_continuous_aggregate", "dose_grid_1d")
	var materialised int
	if err := tsdb.Pool().QueryRow(ctx, `SELECT count(*) FROM _timescaledb_catalog.continuous_agg
		WHERE _timescaledb_functions.to_timestamp(_timescaledb_functions.cagg_watermark(mat_hypertable_id)) > $1`,
		from.Add(24*time.Hour)).Scan(&materialised); err != nil || materialised != 3 {
		t.Fatalf("%d continuous aggregates materialised past the first day (%v), want dose_1m and both grids", materialised, err)
	}
	sameAnswers(t, "TimescaleDB with materialised aggregates vs embedded", ask(t, tsdb, devices, from, to, alarm), want)
	if _, err := tsdb.Pool().Exec(ctx, `SELECT compress_chunk(c) FROM show_chunks('measurements') c`); err != nil {
		t.Fatal(err)
	}
	if n := count(t, tsdb.Pool(), `SELECT count(*) FROM timescaledb_information.chunks WHERE hypertable_name = 'measurements' AND NOT is_compressed`); n != 0 {
		t.Fatalf("%d chunks left uncompressed", n)
	}
	sameAnswers(t, "compressed TimescaleDB vs embedded", ask(t, tsdb, devices, from, to, alarm), want)
}
