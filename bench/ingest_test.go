package bench

import (
	"context"
	"io"
	"math"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/radtrack/radtrack/ingest"
	"github.com/radtrack/radtrack/internal/pgtest"
	"github.com/radtrack/radtrack/store"
)

// phaseProbe is the progress writer: when a raw phase starts it asks the
// database what the phase's table is.
type phaseProbe struct {
	t      *testing.T
	url    string
	mu     sync.Mutex
	tables map[string]string // table → "hypertable" or "plain"
}

func (p *phaseProbe) Write(b []byte) (int, error) {
	line := string(b)
	if _, rest, ok := strings.Cut(line, "raw COPY phase ("); ok {
		table, _, _ := strings.Cut(rest, ",")
		ctx := context.Background()
		conn, err := pgx.Connect(ctx, p.url)
		if err != nil {
			p.t.Error(err)
			return len(b), nil
		}
		defer conn.Close(ctx)
		var hyper bool
		if err := conn.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'timescaledb')
			AND EXISTS (SELECT 1 FROM _timescaledb_catalog.hypertable WHERE table_name = $1)`, table).Scan(&hyper); err != nil {
			// Without the extension the catalog does not exist.
			hyper = false
		}
		p.mu.Lock()
		p.tables[table] = map[bool]string{true: "hypertable", false: "plain"}[hyper]
		p.mu.Unlock()
	}
	return len(b), nil
}

// On TimescaleDB the ratio is taken against raw COPY into a hypertable, and
// raw COPY into a plain table is reported beside it; on plain PostgreSQL
// the one baseline is the plain table.
func TestIngestBaselines(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the ingest benchmark (small)")
	}
	pgtest.EachEngine(t, func(t *testing.T, e pgtest.Engine) {
		url := e.NewDatabase(t)
		probe := &phaseProbe{t: t, url: url, tables: map[string]string{}}
		res, err := RunIngest(context.Background(), IngestConfig{DatabaseURL: url, Devices: 4, Batch: 25, Samples: 2000,
			Writer: ingest.DefaultWriterConfig()}, probe)
		if err != nil {
			t.Fatal(err)
		}
		wantTables := map[string]string{"bench_raw": "plain"}
		wantNames := []string{"raw pgx CopyFrom into a plain table (same shape, same database)"}
		engine := "PostgreSQL"
		if e.Timescale {
			engine = "TimescaleDB"
			wantTables["bench_raw_hyper"] = "hypertable"
			wantNames = append([]string{"raw pgx CopyFrom into a hypertable (same shape and chunks, same database)"}, wantNames...)
		}
		if res.Engine != engine || len(res.Baselines) != len(wantNames) {
			t.Fatalf("engine %q with %d baselines, want %q with %d: %+v", res.Engine, len(res.Baselines), engine, len(wantNames), res)
		}
		for i, b := range res.Baselines {
			if b.Name != wantNames[i] || b.RowsPerSec <= 0 {
				t.Errorf("baseline %d: %+v, want %q", i, b, wantNames[i])
			}
		}
		if res.Baseline != wantNames[0] || res.RawRowsPerSec != res.Baselines[0].RowsPerSec || res.Ratio != res.HTTPRowsPerSec/res.RawRowsPerSec {
			t.Errorf("the ratio is not taken against the first baseline: %+v", res)
		}
		if len(probe.tables) != len(wantTables) {
			t.Fatalf("raw phases on %v, want %v", probe.tables, wantTables)
		}
		for table, kind := range wantTables {
			if probe.tables[table] != kind {
				t.Errorf("raw phase table %s was %q, want %q", table, probe.tables[table], kind)
			}
		}
		ctx := context.Background()
		conn, err := pgx.Connect(ctx, url)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close(ctx)
		var left int
		if err := conn.QueryRow(ctx, `SELECT count(*) FROM pg_tables WHERE tablename LIKE 'bench_raw%'`).Scan(&left); err != nil || left != 0 {
			t.Errorf("%d raw phase tables left behind (%v)", left, err)
		}
		out := res.String()
		for _, n := range wantNames {
			if !strings.Contains(out, n) {
				t.Errorf("report lacks %q:\n%s", n, out)
			}
		}
	})
}

// The emergency scenarios put every vehicle where they claim: inside
// restricted zones (one fence episode per zone holding it, nothing else,
// as its zone is clear of every border), above OIL3 (dose notice and OIL3
// episodes per vehicle); the normal phase raises nothing.
// Each ratio is against the same round's normal phase.
func TestIngestEmergencyScenarios(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the ingest benchmark (small)")
	}
	// Vehicle d sits at the centre of clear zone d, fully inside every
	// zone that holds that centre: one fence episode per such zone.
	zonesHeld := 0
	for d := range 4 {
		lon, lat, _ := zone(clearZones()[d])
		for j := range zones {
			zl, zt, side := zone(j)
			if math.Abs(lon-zl)*mPerDegLon() < side/2 && math.Abs(lat-zt)*mPerDegLat < side/2 {
				zonesHeld++
			}
		}
	}
	check := func(t *testing.T, url string) {
		res, err := RunIngest(context.Background(), IngestConfig{DatabaseURL: url, Devices: 4, Batch: 25, Samples: 400,
			Writer: ingest.DefaultWriterConfig(), Emergency: true, Rounds: 2}, io.Discard)
		if err != nil {
			t.Fatal(err)
		}
		if len(res.Scenarios) != 3 {
			t.Fatalf("%d scenarios, want 3: %+v", len(res.Scenarios), res.Scenarios)
		}
		for i, want := range []struct {
			name   string
			alarms int
		}{{"restricted zones", zonesHeld}, {"above OIL3", 8}, {"normal again", 0}} {
			sc := res.Scenarios[i]
			if !strings.HasPrefix(sc.Name, want.name) || sc.Alarms != want.alarms || len(sc.Rounds) != 2 || len(sc.Ratios) != 2 {
				t.Errorf("scenario %d: %q with %d alarms open, %d rounds; want %q…, %d alarms, 2 rounds", i, sc.Name, sc.Alarms, len(sc.Rounds), want.name, want.alarms)
			}
			for r, ratio := range sc.Ratios {
				if got := sc.Rounds[r] / res.Scenarios[2].Rounds[r]; ratio != got {
					t.Errorf("scenario %d round %d: ratio %v, want its rate over the same round's normal %v", i, r, ratio, got)
				}
			}
		}
	}
	t.Run("embedded", func(t *testing.T) { check(t, "") })
	pgtest.EachEngine(t, func(t *testing.T, e pgtest.Engine) { check(t, e.NewDatabase(t)) })
}

// -columnar adds a phase with the columnar body that stores every sample
// (the table is emptied before it, so what it holds is that phase's);
// with -rounds every phase runs once per round, the ratios taken within a
// round (the embedded store runs one round).
func TestIngestColumnarPhase(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the ingest benchmark (small)")
	}
	const samples = 2000
	rounds := 1
	check := func(t *testing.T, url string) {
		res, err := RunIngest(context.Background(), IngestConfig{DatabaseURL: url, Devices: 4, Batch: 25, Samples: samples,
			Writer: ingest.DefaultWriterConfig(), Columnar: true, Rounds: rounds}, io.Discard)
		if err != nil {
			t.Fatal(err)
		}
		c := res.Columnar
		if c == nil || c.RowsPerSec <= 0 || c.CPUPerRow <= 0 || len(c.RoundRatios) != rounds || c.Ratio != median(c.RoundRatios) {
			t.Fatalf("columnar phase: %+v", c)
		}
		if len(res.RoundRatios) != rounds || res.Ratio != median(res.RoundRatios) || len(res.Baselines[0].Rounds) != rounds {
			t.Fatalf("NDJSON phase: ratio %v of rounds %v; baseline %+v", res.Ratio, res.RoundRatios, res.Baselines[0])
		}
		if !strings.Contains(res.String(), "columnar body") {
			t.Errorf("report lacks the columnar phase:\n%s", res)
		}
		if url == "" {
			return
		}
		ctx := context.Background()
		conn, err := pgx.Connect(ctx, url)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close(ctx)
		var n, devices int
		if err := conn.QueryRow(ctx, `SELECT count(*), count(DISTINCT device_id) FROM measurements`).Scan(&n, &devices); err != nil {
			t.Fatal(err)
		}
		if n != samples || devices != 4 {
			t.Errorf("the columnar phase stored %d samples of %d devices, want %d of 4", n, devices, samples)
		}
	}
	t.Run("embedded", func(t *testing.T) { check(t, "") })
	rounds = 2
	rounds = 2
	pgtest.EachEngine(t, func(t *testing.T, e pgtest.Engine) { check(t, e.NewDatabase(t)) })
}

// The raw baselines take the samples in the order the HTTP phase's
// requests bring them: each vehicle's run of one request in turn.
func TestArrivalOrder(t *testing.T) {
	devices := []store.Device{{ID: 7}, {ID: 9}}
	start := time.Date(2026, 12, 3, 0, 0, 0, 0, time.UTC)
	got := arrivalOrder(devices, start, 5, 2)
	type key struct {
		id int64
		s  int
	}
	want := []key{{7, 0}, {7, 1}, {9, 0}, {9, 1}, {7, 2}, {7, 3}, {9, 2}, {9, 3}, {7, 4}, {9, 4}}
	if len(got) != len(want) {
		t.Fatalf("%d samples, want %d", len(got), len(want))
	}
	for i, w := range want {
		if got[i].DeviceID != w.id || !got[i].Time.Equal(start.Add(time.Duration(w.s)*time.Second)) {
			t.Errorf("sample %d: device %d at %s, want device %d at +%ds", i, got[i].DeviceID, got[i].Time, w.id, w.s)
		}
	}
}
