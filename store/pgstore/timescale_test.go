package pgstore_test

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/radtrack/radtrack/internal/pgtest"
	"github.com/radtrack/radtrack/sample"
	"github.com/radtrack/radtrack/store"
	"github.com/radtrack/radtrack/store/pgstore"
)

// openTimescale opens a store on a fresh database of the TimescaleDB engine.
func openTimescale(t *testing.T, cfg pgstore.Config) *pgstore.Store {
	t.Helper()
	cfg.URL = pgtest.Engines()[1].NewDatabase(t)
	s := openWith(t, cfg)
	if !s.Timescale() {
		t.Fatal("the store did not choose TimescaleDB on the TimescaleDB server")
	}
	return s
}

func count(t *testing.T, pool *pgxpool.Pool, sql string, args ...any) int64 {
	t.Helper()
	var n int64
	if err := pool.QueryRow(context.Background(), sql, args...).Scan(&n); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	return n
}

func days(samples []sample.Sample) (first, last time.Time) {
	for i, s := range samples {
		d := s.Time.UTC().Truncate(24 * time.Hour)
		if i == 0 || d.Before(first) {
			first = d
		}
		if d.After(last) {
			last = d
		}
	}
	return first, last
}

func TestTimescaleSchemaAndPolicies(t *testing.T) {
	ctx := context.Background()
	s := openTimescale(t, pgstore.Config{CompressAfter: 72 * time.Hour, RetainFor: 365 * 24 * time.Hour})
	pool := s.Pool()
	if n := count(t, pool, `SELECT count(*) FROM timescaledb_information.hypertables WHERE hypertable_name = 'measurements' AND compression_enabled`); n != 1 {
		t.Fatalf("%d compressed hypertables named measurements", n)
	}
	if n := count(t, pool, `SELECT count(*) FROM timescaledb_information.continuous_aggregates WHERE view_name = 'dose_1m' AND NOT materialized_only`); n != 1 {
		t.Fatalf("%d real-time aggregates named dose_1m", n)
	}
	var chunk time.Duration
	if err := pool.QueryRow(ctx, `SELECT time_interval FROM timescaledb_information.dimensions
		WHERE hypertable_name = 'measurements' AND column_name = 'time'`).Scan(&chunk); err != nil {
		t.Fatal(err)
	}
	if chunk != 24*time.Hour {
		t.Fatalf("chunk interval %s, want 24h", chunk)
	}
	jobs := func(pool *pgxpool.Pool) []string {
		rows, err := pool.Query(ctx, `SELECT format('%s on %s every %s: %s', proc_name, hypertable_name, schedule_interval,
				config - 'mat_hypertable_id' - 'hypertable_id')
			FROM timescaledb_information.jobs WHERE job_id >= 1000 ORDER BY proc_name, hypertable_name`)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for rows.Next() {
			var j string
			if err := rows.Scan(&j); err != nil {
				t.Fatal(err)
			}
			out = append(out, j)
		}
		return out
	}
	want := []string{
		`policy_compression on measurements every 12:00:00: {"compress_after": "72:00:00"}`,
		`policy_refresh_continuous_aggregate on dose_1m every 00:01:00: {"end_offset": "00:01:00", "start_offset": null, "refresh_newest_first": false}`,
		`policy_refresh_continuous_aggregate on dose_grid_1d every 01:00:00: {"end_offset": "1 day", "start_offset": null, "refresh_newest_first": false}`,
		`policy_refresh_continuous_aggregate on dose_grid_1h every 00:10:00: {"end_offset": "01:00:00", "start_offset": null, "refresh_newest_first": false}`,
		`policy_retention on measurements every 1 day: {"drop_after": "8760:00:00"}`,
	}
	if got := jobs(pool); !slices.Equal(got, want) {
		t.Fatalf("jobs:\n%q\nwant\n%q", got, want)
	}

	// Reopening with other settings replaces the policies (configuration,
	// not schema) and applies no migration twice.
	s2 := openWith(t, pgstore.Config{URL: s.ConnString()})
	if got := jobs(s2.Pool()); !slices.Equal(got, want[1:4]) {
		t.Fatalf("jobs after reopening without compression and retention: %q", got)
	}
	if got, want := recorded(t, s2.Pool()), wantRecorded(t, dialect(true)); !slices.Equal(got, want) {
		t.Fatalf("schema_migrations %v, want %v", got, want)
	}
}

// Chunks of one day; the compression policy compresses the old ones and
// queries answer the same; a vehicle back after a week without network and a
// re-import of stored rows write into compressed chunks and are stored once;
// the retention policy drops the oldest chunks.
func TestChunksCompressionLateRowsAndRetention(t *testing.T) {
	ctx := context.Background()
	cfg := pgstore.Config{CompressAfter: 72 * time.Hour}
	s := openTimescale(t, cfg)
	pool := s.Pool()
	// The test runs the policies' jobs when it means to: the server's
	// scheduler compressed the oldest chunk halfway through the writes on a
	// loaded machine.
	unschedule(t, pool)
	// The same writes into plain PostgreSQL say what every answer must be.
	ref := open(t, pgtest.Engines()[0].NewDatabase(t))
	both := func(f func(st store.Store)) { f(s); f(ref) }

	now := time.Now().UTC().Truncate(time.Second)
	midnight := now.Truncate(24 * time.Hour)
	devices := newDevices(t, s, 0, 3)
	newDevices(t, ref, 0, 3)
	old := fleet(devices, midnight.Add(-10*24*time.Hour), midnight.Add(-4*24*time.Hour), 10*time.Minute) // days -10..-5
	recent := fleet(devices, now.Add(-30*time.Minute), now, time.Minute)
	var alarm int64
	both(func(st store.Store) {
		write(t, st, old)
		write(t, st, recent)
		alarm = raiseAlarm(t, st, devices[1], midnight.Add(-8*24*time.Hour+time.Hour), midnight.Add(-8*24*time.Hour+3*time.Hour))
	})

	// One chunk per UTC day that holds rows, nothing compressed yet.
	oldFirst, oldLast := days(old)
	recentFirst, recentLast := days(recent)
	never := func(time.Time) bool { return false }
	want := append(dayChunks(oldFirst, oldLast, never), dayChunks(recentFirst, recentLast, never)...)
	if got := chunks(t, pool); !slices.Equal(got, want) {
		t.Fatalf("chunks:\n%q\nwant\n%q", got, want)
	}
	from, to := midnight.Add(-11*24*time.Hour), now.Add(time.Minute)
	sameAnswers(t, "TimescaleDB vs PostgreSQL", ask(t, s, devices, from, to, alarm), ask(t, ref, devices, from, to, alarm))

	runJob(t, pool, "policy_compression", "measurements")
	isOld := func(d time.Time) bool { return d.Before(midnight.Add(-4 * 24 * time.Hour)) }
	want = append(dayChunks(oldFirst, oldLast, isOld), dayChunks(recentFirst, recentLast, isOld)...)
	if got := chunks(t, pool); !slices.Equal(got, want) {
		t.Fatalf("chunks after the compression job:\n%q\nwant\n%q", got, want)
	}
	sameAnswers(t, "compressed TimescaleDB vs PostgreSQL", ask(t, s, devices, from, to, alarm), ask(t, ref, devices, from, to, alarm))

	// A vehicle back after a week without network: its backlog lands in
	// compressed chunks. Then a re-import of rows already stored in
	// compressed chunks, mixed with the backlog again: nothing is stored
	// twice, nothing fails.
	back := newDevices(t, s, 3, 1)
	newDevices(t, ref, 3, 1)
	backlog := fleet(back, midnight.Add(-7*24*time.Hour), midnight.Add(-6*24*time.Hour), 10*time.Minute)
	both(func(st store.Store) {
		write(t, st, backlog)
		write(t, st, append(slices.Clone(old[:2000]), backlog...))
	})
	all := append(append(slices.Clone(old), recent...), backlog...)
	for _, d := range append(devices, back...) {
		var n int64
		for _, smp := range all {
			if smp.DeviceID == d {
				n++
			}
		}
		if got := count(t, pool, `SELECT count(*) FROM measurements WHERE device_id = $1`, d); got != n {
			t.Fatalf("device %d: %d rows, want %d", d, got, n)
		}
	}
	if n := count(t, pool, `SELECT count(*) FROM (SELECT device_id, time FROM measurements GROUP BY 1, 2 HAVING count(*) > 1) d`); n != 0 {
		t.Fatalf("%d (device, time) stored twice", n)
	}
	got, err := s.Track(ctx, store.TrackQuery{DeviceID: back[0], From: from, To: to})
	if err != nil || render(got) != render(backlog) {
		t.Fatalf("the backlog read back: %d samples, %v", len(got), err)
	}
	everyone := append(slices.Clone(devices), back...)
	sameAnswers(t, "after late and repeated rows, TimescaleDB vs PostgreSQL", ask(t, s, everyone, from, to, alarm), ask(t, ref, everyone, from, to, alarm))
	if got := chunks(t, pool); !slices.Equal(got, want) {
		t.Fatalf("chunks after late rows:\n%q\nwant\n%q", got, want)
	}

	// Retention: chunks that ended more than 6 days ago go.
	cfg.URL, cfg.RetainFor = s.ConnString(), 6*24*time.Hour
	s2 := openWith(t, cfg)
	runJob(t, s2.Pool(), "policy_retention", "measurements")
	keep := midnight.Add(-6 * 24 * time.Hour) // the first day whose chunk ends after now - 6 days
	want = append(dayChunks(keep, oldLast, isOld), dayChunks(recentFirst, recentLast, isOld)...)
	if got := chunks(t, pool); !slices.Equal(got, want) {
		t.Fatalf("chunks after the retention job:\n%q\nwant\n%q", got, want)
	}
	var wantRows int64
	for _, smp := range all {
		if !smp.Time.Before(keep) {
			wantRows++
		}
	}
	if got := count(t, pool, `SELECT count(*) FROM measurements`); got != wantRows {
		t.Fatalf("%d rows after retention, want %d", got, wantRows)
	}
}

// dose_1m: the refresh job materialises minutes (old ones and late ones
// included) and the aggregate stays complete while it runs; the real-time
// part shows fresh rows not materialised yet.
func TestContinuousAggregateRefreshAndRealTime(t *testing.T) {
	ctx := context.Background()
	s := openTimescale(t, pgstore.Config{})
	pool := s.Pool()
	unschedule(t, pool)
	now := time.Now().UTC()
	minute := now.Truncate(time.Minute)
	devices := newDevices(t, s, 0, 2)
	const history = 5 * 24 * 60 // minutes
	old := fleet(devices, minute.Add(-history*time.Minute-24*time.Hour), minute.Add(-24*time.Hour), time.Minute)
	write(t, s, old)
	var mat string
	if err := pool.QueryRow(ctx, `SELECT format('%I.%I', materialization_hypertable_schema, materialization_hypertable_name)
		FROM timescaledb_information.continuous_aggregates WHERE view_name = 'dose_1m'`).Scan(&mat); err != nil {
		t.Fatal(err)
	}
	materialised := func() (buckets, samples int64) {
		if err := pool.QueryRow(ctx, `SELECT count(*), coalesce(sum(samples), 0) FROM `+mat).Scan(&buckets, &samples); err != nil {
			t.Error(err)
		}
		return
	}
	minutes := func(d int64, from, to time.Time) (n int, samples int64) {
		ms, err := s.DoseMinutes(ctx, d, from, to)
		if err != nil {
			t.Error(err)
		}
		for _, m := range ms {
			samples += m.Samples
		}
		return len(ms), samples
	}
	perDevice := int64(len(old) / len(devices))
	from := minute.Add(-history*time.Minute - 25*time.Hour)
	// Before any refresh everything is real-time.
	if b, _ := materialised(); b != 0 {
		t.Fatalf("%d buckets materialised before the first refresh", b)
	}
	if n, smp := minutes(devices[0], from, now); n != history || smp != perDevice {
		t.Fatalf("real-time minutes before a refresh: %d minutes, %d samples; want %d, %d", n, smp, history, perDevice)
	}

	// The first refresh materialises the history batch by batch; every
	// answer meanwhile is whole.
	done := make(chan struct{})
	go func() { defer close(done); runJob(t, pool, "policy_refresh_continuous_aggregate", "dose_1m") }()
	polls, midway := 0, 0
	for running := true; running; {
		select {
		case <-done:
			running = false
		default:
		}
		b, _ := materialised()
		n, smp := minutes(devices[0], from, now)
		if n != history || smp != perDevice {
			<-done
			t.Fatalf("while the refresh ran (%d of %d buckets materialised): %d minutes, %d samples; want %d, %d",
				b, 2*history, n, smp, history, perDevice)
		}
		polls++
		if b > 0 && b < 2*history {
			midway++
		}
	}
	t.Logf("%d answers while the refresh ran, %d of them with the history partly materialised", polls, midway)
	if midway == 0 {
		t.Fatalf("no answer caught the refresh midway (%d polls): the check proved nothing", polls)
	}
	if b, smp := materialised(); b != 2*history || smp != int64(len(old)) {
		t.Fatalf("after the refresh job: %d buckets holding %d samples materialised, want %d holding %d", b, smp, 2*history, len(old))
	}

	// Fresh rows in the current minute: not materialised (the policy stops
	// a minute before now), shown by the real-time part.
	minute = time.Now().UTC().Truncate(time.Minute)
	fresh := fleet(devices, minute, minute.Add(30*time.Second), 10*time.Second)
	write(t, s, fresh)
	runJob(t, pool, "policy_refresh_continuous_aggregate", "dose_1m")
	if b, _ := materialised(); b != 2*history {
		t.Fatalf("%d buckets materialised, want %d: the current minute must stay real-time", b, 2*history)
	}
	if n, smp := minutes(devices[0], minute, minute.Add(time.Minute)); n != 1 || smp != 3 {
		t.Fatalf("the current minute: %d buckets, %d samples; want 1, 3", n, smp)
	}

	// A vehicle back after a day without network: its minutes appear
	// once the job runs, although they are far behind the watermark.
	late := fleet(newDevices(t, s, 2, 1), minute.Add(-20*time.Hour), minute.Add(-19*time.Hour), 10*time.Second)
	write(t, s, late)
	runJob(t, pool, "policy_refresh_continuous_aggregate", "dose_1m")
	if b, smp := materialised(); b != 2*history+60 || smp != int64(len(old)+len(late)) {
		t.Fatalf("after late rows and the job: %d buckets holding %d samples, want %d holding %d", b, smp, 2*history+60, len(old)+len(late))
	}
	if n, smp := minutes(late[0].DeviceID, from, now); n != 60 || smp != int64(len(late)) {
		t.Fatalf("late vehicle's minutes: %d, %d samples; want 60, %d", n, smp, len(late))
	}

	// The materialised minutes say what the raw rows say.
	plain := open(t, pgtest.Engines()[0].NewDatabase(t))
	newDevices(t, plain, 0, 3)
	write(t, plain, old)
	write(t, plain, fresh)
	write(t, plain, late)
	for d := int64(1); d <= 3; d++ {
		a, err := s.DoseMinutes(ctx, d, from, now.Add(time.Minute))
		if err != nil {
			t.Fatal(err)
		}
		b, err := plain.DoseMinutes(ctx, d, from, now.Add(time.Minute))
		if err != nil {
			t.Fatal(err)
		}
		sameAnswers(t, fmt.Sprintf("dose minutes of device %d, TimescaleDB vs PostgreSQL", d), answers{render(a)}, answers{render(b)})
	}
}
