package bench

import (
	"context"
	"strings"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/radtrack/radtrack/ingest"
	"github.com/radtrack/radtrack/internal/pgtest"
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
		table, _, _ := strings.Cut(rest, ")")
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
