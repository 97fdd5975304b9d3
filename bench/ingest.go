// Package bench measures RadTrack against baselines taken in the same run,
// because the machines it runs on are noisy: only ratios travel.
package bench

import (
	"bytes"
	"cmp"
	"context"
	"fmt"
	"io"
	"log/slog"
	"math"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime/pprof"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	dto "github.com/prometheus/client_model/go"

	"github.com/radtrack/radtrack/alarms"
	"github.com/radtrack/radtrack/auth"
	"github.com/radtrack/radtrack/geo"
	"github.com/radtrack/radtrack/ingest"
	"github.com/radtrack/radtrack/ingest/batch"
	"github.com/radtrack/radtrack/internal/cputime"
	"github.com/radtrack/radtrack/metrics"
	"github.com/radtrack/radtrack/rules"
	"github.com/radtrack/radtrack/sample"
	"github.com/radtrack/radtrack/server"
	"github.com/radtrack/radtrack/store"
	"github.com/radtrack/radtrack/store/pgstore"
	"github.com/radtrack/radtrack/store/sqlitestore"
)

// IngestConfig sets the shape of the ingest benchmark.
type IngestConfig struct {
	DatabaseURL string
	Devices     int // concurrent simulated vehicles (HTTP clients)
	Batch       int // samples per request
	Samples     int // total samples per phase
	Writer      ingest.WriterConfig
	// Emergency adds the alarm scenarios (issue 19), each an HTTP phase
	// of the same size in the same run: every vehicle inside one of 1 000
	// restricted zones, every vehicle above OIL3, and the normal phase
	// again.
	Emergency bool
	Rounds    int // times the raw, HTTP and scenario phases run, interleaved; 0: once
	// NoCoalesce stores every episode update at once, one round trip per
	// sample, as before issue 19: the comparison for the scenarios.
	NoCoalesce bool
	// Columnar adds an HTTP phase with the columnar body
	// (batch.ColumnarType), the same samples and requests, in the same run.
	Columnar bool

	columnar bool // this phase's body is columnar
}

// IngestResult is what one run measured.
type IngestResult struct {
	Engine         string // "PostgreSQL", "TimescaleDB" or "embedded SQLite"
	Baseline       string // what the raw phase the ratio is taken against did
	Samples        int
	HTTPRowsPerSec float64
	AckP50, AckP99 time.Duration
	RawRowsPerSec  float64
	Ratio          float64 // median over the rounds of RoundRatios
	// RoundRatios are each round's HTTP ingest rows/s ÷ the same round's
	// raw rows/s of Baseline (IngestConfig.Rounds).
	RoundRatios []float64
	// Columnar is the phase with the columnar body (IngestConfig.Columnar).
	Columnar  *ColumnarResult
	Timescale bool
	// Scenarios are the emergency phases (IngestConfig.Emergency).
	Scenarios []ScenarioResult
	// Baselines are every raw phase of the run, Baseline first. On
	// TimescaleDB: raw COPY into a hypertable shaped like measurements (the
	// ratio's baseline), and into a plain table for comparison with plain
	// PostgreSQL.
	Baselines []Baseline
}

// ColumnarResult is the HTTP phase with the columnar body.
type ColumnarResult struct {
	RowsPerSec      float64
	AckP50, AckP99  time.Duration
	Ratio           float64   // median of RoundRatios
	RoundRatios     []float64 // each round's rows/s ÷ that round's baseline
	CPUPerRow       time.Duration
	NDJSONCPUPerRow time.Duration // the NDJSON phase's, same run
}

// Baseline is one raw phase: the same rows, batches and connections as the
// writer, with nothing of RadTrack in front.
type Baseline struct {
	Name       string
	RowsPerSec float64   // median of Rounds
	Rounds     []float64 // rows/s of every round
}

// ScenarioResult is one emergency phase, against the normal HTTP phase of
// the same run.
type ScenarioResult struct {
	Name           string
	RowsPerSec     float64
	AckP50, AckP99 time.Duration
	OfNormal       float64   // median over the rounds of Ratios
	Alarms         int       // episodes open at the end (at most 1 000 listed)
	Rounds         []float64 // rows/s of every round; RowsPerSec is the best
	Ratios         []float64 // each round's rows/s ÷ the same round's normal phase
	// CPUPerRow is this process's CPU per row in every round, and
	// CPUOfNormal the median of its ratio to the same round's normal.
	CPUPerRow   []time.Duration
	CPUOfNormal float64
	// Commits are the writer's group commits of the last round.
	Commits string
}

func (r IngestResult) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "engine %s, %d samples per phase\n"+
		"HTTP ingest: %.0f rows/s, ack latency p50 %s p99 %s\n",
		r.Engine, r.Samples, r.HTTPRowsPerSec, r.AckP50.Round(10*time.Microsecond), r.AckP99.Round(10*time.Microsecond))
	for i, bl := range r.Baselines {
		role := "baseline"
		if i > 0 {
			role = "reference"
		}
		fmt.Fprintf(&b, "%s: %s: %.0f rows/s (ingest/this %.1f %%)\n", role, bl.Name, bl.RowsPerSec, 100*r.HTTPRowsPerSec/bl.RowsPerSec)
	}
	fmt.Fprintf(&b, "ratio ingest/baseline: %.1f %% (median of rounds %s)\n", 100*r.Ratio, percents(r.RoundRatios))
	if c := r.Columnar; c != nil {
		fmt.Fprintf(&b, "HTTP ingest, columnar body: %.0f rows/s, ack latency p50 %s p99 %s; ratio to baseline %.1f %% (median of rounds %s)\n"+
			"  CPU of this process (server + clients) per row: columnar %s, NDJSON %s\n",
			c.RowsPerSec, c.AckP50.Round(10*time.Microsecond), c.AckP99.Round(10*time.Microsecond), 100*c.Ratio, percents(c.RoundRatios), c.CPUPerRow, c.NDJSONCPUPerRow)
	}
	for _, sc := range r.Scenarios {
		fmt.Fprintf(&b, "scenario %s: %.1f %% of normal (median of rounds %s); rows/s by round %.0f; best round ack p50 %s p99 %s; %d alarms open\n",
			sc.Name, 100*sc.OfNormal, percents(sc.Ratios), sc.Rounds, sc.AckP50.Round(10*time.Microsecond), sc.AckP99.Round(10*time.Microsecond), sc.Alarms)
		fmt.Fprintf(&b, "  CPU of this process (server + clients) per row: %s by round = %.1f %% of normal's (median); last round %s\n", sc.CPUPerRow, 100*sc.CPUOfNormal, sc.Commits)
	}
	return b.String()
}

// RunIngest measures HTTP batch ingest end to end (loopback HTTP, JSON
// decode, validation, rules, group commit, COPY) and raw pgx CopyFrom of the
// same rows into an identical empty table, in the same run. Without a
// database URL it measures the embedded store instead (see runEmbedded).
func RunIngest(ctx context.Context, cfg IngestConfig, progress io.Writer) (IngestResult, error) {
	if cfg.DatabaseURL == "" {
		return runEmbedded(ctx, cfg, progress)
	}
	st, err := pgstore.Open(ctx, pgstore.Config{URL: cfg.DatabaseURL, MaxConns: int32(cfg.Writer.Flushers + 4)})
	if err != nil {
		return IngestResult{}, err
	}
	defer st.Close()
	res := IngestResult{Samples: cfg.Samples, Timescale: st.Timescale(), Engine: "PostgreSQL"}
	// The raw phases' tables: measurements' columns and indexes, empty.
	type rawTable struct{ name, setup, baseline string }
	raws := []rawTable{{"bench_raw", "", "raw pgx CopyFrom into a plain table (same shape, same database)"}}
	if st.Timescale() {
		res.Engine = "TimescaleDB"
		raws = []rawTable{
			{"bench_raw_hyper", `SELECT create_hypertable('bench_raw_hyper', 'time',
				chunk_time_interval => INTERVAL '1 day', create_default_indexes => false)`,
				"raw pgx CopyFrom into a hypertable (same shape and chunks, same database)"},
			raws[0],
		}
	}
	pool := st.Pool()
	if _, err := pool.Exec(ctx, `TRUNCATE measurements`); err != nil {
		return res, fmt.Errorf("prepare tables: %w", err)
	}
	for _, r := range raws {
		if _, err := pool.Exec(ctx, `DROP TABLE IF EXISTS `+r.name); err != nil {
			return res, fmt.Errorf("prepare %s: %w", r.name, err)
		}
		if _, err := pool.Exec(ctx, `CREATE TABLE `+r.name+` (LIKE measurements INCLUDING ALL)`); err != nil {
			return res, fmt.Errorf("prepare %s: %w", r.name, err)
		}
		defer pool.Exec(context.WithoutCancel(ctx), "DROP TABLE IF EXISTS "+r.name) //nolint:errcheck // best-effort cleanup
		if r.setup != "" {
			if _, err := pool.Exec(ctx, r.setup); err != nil {
				return res, fmt.Errorf("prepare %s: %w", r.name, err)
			}
		}
	}

	devices, tokens, err := benchDevices(ctx, st, cfg.Devices)
	if err != nil {
		return res, err
	}
	start := time.Now().UTC().Add(-24 * time.Hour).Truncate(time.Second)
	perDevice := cfg.Samples / cfg.Devices

	// Raw COPY, NDJSON and columnar run interleaved, Rounds times: each
	// round's ratios are taken within the round, so a noisy spell of the
	// machine hits both sides of a ratio alike; reported are the medians.
	res.Baselines = make([]Baseline, len(raws))
	var ndjson, columnar []phase
	for round := range max(1, cfg.Rounds) {
		for i, r := range raws {
			fmt.Fprintf(progress, "raw COPY phase (%s, round %d)…\n", r.name, round+1)
			if _, err := pool.Exec(ctx, `TRUNCATE `+r.name); err != nil {
				return res, fmt.Errorf("reset %s: %w", r.name, err)
			}
			var rate float64
			pprof.Do(ctx, pprof.Labels("phase", "raw "+r.name), func(ctx context.Context) {
				rate, err = rawCopy(ctx, pool, r.name, devices, start, perDevice, cfg.Batch, cfg.Writer)
			})
			if err != nil {
				return res, err
			}
			res.Baselines[i].Name = r.baseline
			res.Baselines[i].Rounds = append(res.Baselines[i].Rounds, rate)
		}
		bodies := []bool{false}
		if cfg.Columnar {
			bodies = append(bodies, true)
		}
		for _, body := range bodies {
			fmt.Fprintf(progress, "HTTP ingest phase (round %d, %s body)…\n", round+1, bodyName(body))
			if _, err := pool.Exec(ctx, `TRUNCATE measurements`); err != nil {
				return res, fmt.Errorf("reset measurements: %w", err)
			}
			c := cfg
			c.columnar = body
			var ph phase
			pprof.Do(ctx, pprof.Labels("phase", "http "+bodyName(body)), func(ctx context.Context) {
				ph, err = httpIngest(ctx, st, c, tokens, start, perDevice, normal)
			})
			if err != nil {
				return res, err
			}
			if body {
				columnar = append(columnar, ph)
			} else {
				ndjson = append(ndjson, ph)
			}
		}
	}
	for i := range res.Baselines {
		res.Baselines[i].RowsPerSec = median(res.Baselines[i].Rounds)
	}
	res.Baseline, res.RawRowsPerSec = res.Baselines[0].Name, res.Baselines[0].RowsPerSec
	raw := res.Baselines[0].Rounds
	res.HTTPRowsPerSec, res.AckP50, res.AckP99, res.Ratio, res.RoundRatios = summarise(ndjson, raw)
	if cfg.Columnar {
		c := &ColumnarResult{}
		c.RowsPerSec, c.AckP50, c.AckP99, c.Ratio, c.RoundRatios = summarise(columnar, raw)
		c.CPUPerRow, c.NDJSONCPUPerRow = medianCPU(columnar), medianCPU(ndjson)
		res.Columnar = c
	}
	if cfg.Emergency {
		err = runScenarios(ctx, &res, progress, func(sc scenario) (store.Store, func(), error) {
			// A clean slate: no samples, alarms or fences of the phase before.
			if _, err := pool.Exec(ctx, `TRUNCATE measurements, alarm_events, alarms, fences`); err != nil {
				return nil, nil, fmt.Errorf("reset for scenario %s: %w", sc.name, err)
			}
			return st, func() {}, nil
		}, cfg, tokens, devices, start, perDevice)
	}
	return res, err
}

// bodyName names an HTTP phase's body.
func bodyName(columnar bool) string {
	if columnar {
		return "columnar"
	}
	return "NDJSON"
}

// median of xs, the upper one of an even count; zero for none.
func median[T cmp.Ordered](xs []T) T {
	if len(xs) == 0 {
		var zero T
		return zero
	}
	sorted := slices.Sorted(slices.Values(xs))
	return sorted[len(sorted)/2]
}

// summarise gives the medians of HTTP phases run one per round, and each
// round's rate over the same round's raw rate.
func summarise(phs []phase, raw []float64) (rate float64, p50, p99 time.Duration, ratio float64, ratios []float64) {
	rates := make([]float64, len(phs))
	var p50s, p99s []time.Duration
	for i, ph := range phs {
		rates[i] = ph.rate
		ratios = append(ratios, ph.rate/raw[i])
		p50s, p99s = append(p50s, ph.p50), append(p99s, ph.p99)
	}
	return median(rates), median(p50s), median(p99s), median(ratios), ratios
}

// medianCPU is the median CPU per row of phases.
func medianCPU(phs []phase) time.Duration {
	cpu := make([]time.Duration, len(phs))
	for i, ph := range phs {
		cpu[i] = ph.cpuPerRow
	}
	return median(cpu)
}

func percents(rs []float64) string {
	parts := make([]string, len(rs))
	for i, r := range rs {
		parts[i] = fmt.Sprintf("%.0f %%", 100*r)
	}
	return strings.Join(parts, ", ")
}

// scenario shapes the samples of one HTTP phase: fences to load first
// and what vehicle d's i-th sample looks like.
type scenario struct {
	name   string
	fences func(devices []store.Device) []store.Fence
	shape  func(d, i int, s *sample.Sample)
}

var normal = scenario{name: "normal", shape: func(int, int, *sample.Sample) {}}

// The box of the restricted-zone scenario: 20 km around the vehicles.
const (
	boxLon, boxLat = 4.10, 51.90
	mPerDegLat     = 111_320.0
)

func mPerDegLon() float64 { return mPerDegLat * math.Cos(boxLat*math.Pi/180) }

// zone is restricted zone j: a square of 100–1 000 m somewhere in the box
// (deterministic, so every run measures the same zones).
func zone(j int) (lon, lat, side float64) {
	r := rand.New(rand.NewPCG(uint64(j), 19))
	lon = boxLon + (r.Float64()-0.5)*20_000/mPerDegLon()
	lat = boxLat + (r.Float64()-0.5)*20_000/mPerDegLat
	return lon, lat, 100 + 900*r.Float64()
}

const zones = 1000

// clearZones lists the zones whose centre is at least 100 m from every
// zone's border (its own included).
var clearZones = sync.OnceValue(func() []int {
	type sq struct{ lon, lat, half float64 }
	all := make([]sq, zones)
	for j := range all {
		all[j].lon, all[j].lat, all[j].half = zone(j)
		all[j].half /= 2
	}
	var out []int
	for j, c := range all {
		ok := true
		for _, z := range all {
			dx := math.Abs(c.lon-z.lon) * mPerDegLon()
			dy := math.Abs(c.lat-z.lat) * mPerDegLat
			inside := dx+100 < z.half && dy+100 < z.half
			outside := dx-100 > z.half || dy-100 > z.half
			if !inside && !outside {
				ok = false
				break
			}
		}
		if ok {
			out = append(out, j)
		}
	}
	return out
})

var scenarios = []scenario{
	{
		name: "restricted zones (1 000, every vehicle inside one)",
		fences: func([]store.Device) []store.Fence {
			fs := make([]store.Fence, zones)
			for j := range fs {
				lon, lat, side := zone(j)
				dx, dy := side/2/mPerDegLon(), side/2/mPerDegLat
				name := fmt.Sprintf("bench zone %d", j)
				fs[j] = store.Fence{Name: name, Kind: string(geo.KindRestricted), Feature: fmt.Appendf(nil,
					`{"type":"Feature","properties":{"name":%q,"kind":"restricted"},"geometry":{"type":"Polygon","coordinates":[[[%.7f,%.7f],[%.7f,%.7f],[%.7f,%.7f],[%.7f,%.7f],[%.7f,%.7f]]]}}`,
					name, lon-dx, lat-dy, lon+dx, lat-dy, lon+dx, lat+dy, lon-dx, lat+dy, lon-dx, lat-dy)}
			}
			return fs
		},
		shape: func(d, i int, s *sample.Sample) {
			// Vehicle d moves within 40 m of the centre of a zone (inside
			// even the smallest) that is clear of every other zone's
			// border: it stays inside its zones for the whole phase, as
			// a fleet parked in a cordon does, instead of crossing
			// borders (each crossing is a change of state, stored at once).
			clear := clearZones()
			lon, lat, _ := zone(clear[d%len(clear)])
			s.Lon = lon + float64(i%9-4)*10/mPerDegLon()
			s.Lat = lat + float64(i%7-3)*10/mPerDegLat
		},
	},
	{
		name: "above OIL3 (every vehicle)",
		shape: func(d, i int, s *sample.Sample) {
			// OIL3 is 1.0 µSv/h. Hundredths divided, not summed, so that
			// the body carries "1.65" as a device would, not the 17
			// digits of 1.5+3*0.05, which cost the decoder more.
			s.DoseRate = float64(150+(i+d)%11*5) / 100
			s.Counts = 150 + float64((i+d)%11)
		},
	},
	normal,
}

// runScenarios runs every scenario as an HTTP phase on the store prepare
// returns, cfg.Rounds times, the scenarios interleaved and each round
// ending with the normal phase again: a scenario's share of normal is
// taken against the normal phase of its own round, so a noisy spell of the
// machine (other jobs) hits both sides of a ratio alike. Reported: the
// median of the rounds' ratios, each round's rate and ratio, the best rate.
func runScenarios(ctx context.Context, res *IngestResult, progress io.Writer,
	prepare func(scenario) (store.Store, func(), error),
	cfg IngestConfig, tokens []string, devices []store.Device, start time.Time, perDevice int) error {
	res.Scenarios = make([]ScenarioResult, len(scenarios))
	for round := range max(1, cfg.Rounds) {
		for k, sc := range scenarios {
			fmt.Fprintf(progress, "HTTP ingest phase (round %d): %s…\n", round+1, sc.name)
			st, done, err := prepare(sc)
			if err != nil {
				return err
			}
			if sc.fences != nil {
				for _, f := range sc.fences(devices) {
					if _, err := st.CreateFence(ctx, f); err != nil {
						done()
						return fmt.Errorf("scenario %s: %w", sc.name, err)
					}
				}
			}
			r := ScenarioResult{Name: sc.name}
			best := &res.Scenarios[k]
			var ph phase
			// Labelled so that a CPU profile of the run tells the phases
			// apart (go tool pprof -tagfocus phase=…).
			pprof.Do(ctx, pprof.Labels("phase", sc.name), func(ctx context.Context) {
				ph, err = httpIngest(ctx, st, cfg, tokens, start, perDevice, sc)
			})
			r.RowsPerSec, r.AckP50, r.AckP99 = ph.rate, ph.p50, ph.p99
			r.CPUPerRow = append(best.CPUPerRow, ph.cpuPerRow)
			r.Commits = ph.commits.String()
			if err == nil {
				var open []rules.Episode
				open, err = st.ListAlarms(ctx, store.AlarmFilter{States: []rules.State{rules.StateRaised}})
				r.Alarms = len(open)
			}
			done()
			if err != nil {
				return fmt.Errorf("scenario %s: %w", sc.name, err)
			}
			r.Rounds = append(best.Rounds, r.RowsPerSec)
			if r.RowsPerSec > best.RowsPerSec {
				*best = r
			} else {
				best.Rounds, best.CPUPerRow, best.Commits = r.Rounds, r.CPUPerRow, r.Commits
			}
		}
	}
	last := len(res.Scenarios) - 1
	res.Scenarios[last].Name = "normal again"
	for i := range res.Scenarios {
		sc := &res.Scenarios[i]
		sc.Ratios = make([]float64, len(sc.Rounds))
		for r, rate := range sc.Rounds {
			sc.Ratios[r] = rate / res.Scenarios[last].Rounds[r]
		}
		sc.OfNormal = median(sc.Ratios)
		cpu := make([]float64, len(sc.CPUPerRow))
		for r, c := range sc.CPUPerRow {
			cpu[r] = float64(c) / float64(res.Scenarios[last].CPUPerRow[r])
		}
		sc.CPUOfNormal = median(cpu)
	}
	return nil
}

func benchDevices(ctx context.Context, st store.Store, n int) ([]store.Device, []string, error) {
	devices := make([]store.Device, n)
	tokens := make([]string, n)
	for i := range n {
		uid := fmt.Sprintf("bench-%04d", i)
		token, hash, err := auth.NewDeviceToken()
		if err != nil {
			return nil, nil, err
		}
		d, err := st.DeviceByUID(ctx, uid)
		if err == nil {
			err = st.SetDeviceToken(ctx, d.ID, hash)
		} else {
			d, err = st.CreateDevice(ctx, store.Device{UID: uid, Name: uid}, hash)
		}
		if err != nil {
			return nil, nil, fmt.Errorf("bench device %s: %w", uid, err)
		}
		devices[i], tokens[i] = d, token
	}
	return devices, tokens, nil
}

func benchSample(deviceID int64, start time.Time, i int) sample.Sample {
	s := sample.New()
	s.DeviceID = deviceID
	s.Time = start.Add(time.Duration(i) * time.Second)
	s.ReceivedAt = time.Now().UTC()
	s.Lon, s.Lat, s.GPSValid = 4.10+float64(i%1000)*1e-5, 51.90+float64(i%1000)*1e-5, true
	s.Speed, s.Heading, s.Satellites = 8.3, 90, 10
	s.DoseRate, s.Counts, s.CountInterval, s.RadValid = float64(8+i%7)/100, float64(3+i%4), 5, true
	s.Source = sample.SourceHTTP
	return s
}

// arrivalOrder is the HTTP phase's samples in the order its requests bring
// them: every vehicle's next request of perRequest samples in turn. The
// raw baselines take this order because it matters to the store: a run of
// one vehicle's samples fills one leaf of the (device_id, time) index.
func arrivalOrder(devices []store.Device, start time.Time, perDevice, perRequest int) []sample.Sample {
	all := make([]sample.Sample, 0, len(devices)*perDevice)
	for from := 0; from < perDevice; from += perRequest {
		for _, d := range devices {
			for i := from; i < min(from+perRequest, perDevice); i++ {
				all = append(all, benchSample(d.ID, start, i))
			}
		}
	}
	return all
}

// rawCopy is the baseline: the same rows in the same order (arrivalOrder),
// with the same batch size and number of connections as the writer,
// straight into an identical table.
func rawCopy(ctx context.Context, pool interface {
	CopyFrom(context.Context, pgx.Identifier, []string, pgx.CopyFromSource) (int64, error)
}, table string, devices []store.Device, start time.Time, perDevice, perRequest int, wcfg ingest.WriterConfig) (float64, error) {
	all := arrivalOrder(devices, start, perDevice, perRequest)
	batches := slices.Collect(slices.Chunk(all, wcfg.BatchSize))
	next := make(chan []sample.Sample, len(batches))
	for _, b := range batches {
		next <- b
	}
	close(next)
	t0 := time.Now()
	var wg sync.WaitGroup
	errs := make(chan error, wcfg.Flushers)
	for range wcfg.Flushers {
		wg.Go(func() {
			for b := range next {
				if _, err := pool.CopyFrom(ctx, pgx.Identifier{table}, pgstore.MeasurementColumns(), pgstore.SampleRows(b)); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		return 0, fmt.Errorf("raw copy: %w", err)
	}
	return float64(len(all)) / time.Since(t0).Seconds(), nil
}

// phase is what one HTTP ingest phase measured. cpuPerRow is the CPU time
// of this process (server and clients) per row: far less disturbed by
// other jobs on the machine than the rate.
type phase struct {
	rate      float64
	p50, p99  time.Duration
	cpuPerRow time.Duration
	commits   commits
}

// commits is what the writer's group commits of a phase were.
type commits struct {
	n         int
	avgRows   float64
	avgCommit time.Duration
}

func (c commits) String() string {
	return fmt.Sprintf("%d commits of %.0f rows in %s on average", c.n, c.avgRows, c.avgCommit.Round(10*time.Microsecond))
}

// commitsOf reads the writer's metrics of a phase.
func commitsOf(m *metrics.Metrics) commits {
	var secs, rows dto.Metric
	if m.CommitSeconds.Write(&secs) != nil || m.BatchSize.Write(&rows) != nil {
		return commits{}
	}
	n := secs.GetHistogram().GetSampleCount()
	if n == 0 {
		return commits{}
	}
	return commits{n: int(n), avgRows: rows.GetHistogram().GetSampleSum() / float64(n),
		avgCommit: time.Duration(secs.GetHistogram().GetSampleSum() / float64(n) * float64(time.Second))}
}

func httpIngest(ctx context.Context, st store.Store, cfg IngestConfig, tokens []string, start time.Time, perDevice int, sc scenario) (phase, error) {
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	m := metrics.New()
	aopt := alarms.Options{Geo: geo.DefaultConfig()}
	wcfg := cfg.Writer
	if _, ok := st.(store.AlarmBatcher); ok && !cfg.NoCoalesce {
		// As a node does (app.OpenCore): episode progress rides with the
		// group commit.
		aopt.Coalescer = ingest.NewCoalescer()
		wcfg.Alarms = aopt.Coalescer
	}
	svc, err := alarms.New(ctx, st, aopt, log)
	if err != nil {
		return phase{}, err
	}
	w := ingest.NewWriter(st, wcfg, m, log)
	srv := server.NewHTTPServer("127.0.0.1:0", server.New(server.DefaultConfig(), server.Deps{
		Store: st, Pipeline: ingest.NewPipeline(w, m, svc), Devices: ingest.NewDevices(st, 2*time.Second), Alarms: svc, Metrics: m, Log: log,
	}))
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return phase{}, err
	}
	go srv.Serve(ln) //nolint:errcheck // ends with Shutdown below
	defer func() {
		_ = srv.Shutdown(context.WithoutCancel(ctx))
		_ = w.Close(context.WithoutCancel(ctx))
	}()
	url := "http://" + ln.Addr().String() + "/api/v1/measurements"

	// Bodies are encoded before the clock starts: the client's JSON
	// encoding is not RadTrack's cost.
	bodies := make([][][]byte, len(tokens))
	pprof.Do(ctx, pprof.Labels("side", "prepare"), func(context.Context) {
		for d := range tokens {
			for from := 0; from < perDevice; from += cfg.Batch {
				if cfg.columnar {
					var ss []sample.Sample
					for i := from; i < min(from+cfg.Batch, perDevice); i++ {
						s := benchSample(0, start, i)
						sc.shape(d, i, &s)
						ss = append(ss, s)
					}
					bodies[d] = append(bodies[d], batch.AppendColumnar(nil, ss))
					continue
				}
				var buf bytes.Buffer
				for i := from; i < min(from+cfg.Batch, perDevice); i++ {
					s := benchSample(0, start, i)
					sc.shape(d, i, &s)
					fmt.Fprintf(&buf, `{"time":%q,"lat":%.5f,"lon":%.5f,"speed":%g,"heading":%g,"satellites":%d,"dose_rate":%g,"counts":%g,"count_interval":%g}`+"\n",
						s.Time.Format(time.RFC3339), s.Lat, s.Lon, s.Speed, s.Heading, s.Satellites, s.DoseRate, s.Counts, s.CountInterval)
				}
				bodies[d] = append(bodies[d], buf.Bytes())
			}
		}
	})
	contentType := "application/x-ndjson"
	if cfg.columnar {
		contentType = batch.ColumnarType
	}
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: len(tokens)}}
	latencies := make([][]time.Duration, len(tokens))
	errs := make(chan error, len(tokens))
	var wg sync.WaitGroup
	t0, cpu0 := time.Now(), cputime.Process()
	// The clients run in this process too: labelled apart from the server
	// (go tool pprof -tagignore side=client shows the server alone).
	clientCtx := pprof.WithLabels(ctx, pprof.Labels("side", "client"))
	for d := range tokens {
		wg.Go(func() {
			pprof.SetGoroutineLabels(clientCtx)
			for _, body := range bodies[d] {
				req, _ := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
				req.Header.Set("Authorization", "Bearer "+tokens[d])
				req.Header.Set("Content-Type", contentType)
				sent := time.Now()
				resp, err := client.Do(req)
				if err != nil {
					errs <- err
					return
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != http.StatusOK {
					errs <- fmt.Errorf("ingest answered %s", resp.Status)
					return
				}
				latencies[d] = append(latencies[d], time.Since(sent))
			}
		})
	}
	wg.Wait()
	elapsed, cpu := time.Since(t0), cputime.Process()-cpu0
	close(errs)
	if err := <-errs; err != nil {
		return phase{}, err
	}
	all := slices.Concat(latencies...)
	slices.Sort(all)
	p := func(q float64) time.Duration { return all[min(len(all)-1, int(q*float64(len(all))))] }
	rows := perDevice * len(tokens)
	return phase{rate: float64(rows) / elapsed.Seconds(), p50: p(0.50), p99: p(0.99), cpuPerRow: cpu / time.Duration(rows),
		commits: commitsOf(m)}, nil
}

// runEmbedded measures the embedded store: HTTP ingest into one fresh
// store, and as the baseline the same rows written straight into another
// fresh store with WriteSamples in batches of the writer's size — the
// store's own fastest path, with nothing in front of it.
func runEmbedded(ctx context.Context, cfg IngestConfig, progress io.Writer) (IngestResult, error) {
	res := IngestResult{Samples: cfg.Samples, Engine: "embedded SQLite (synchronous=FULL)",
		Baseline: "raw WriteSamples into a fresh embedded store (same batches, no HTTP)"}
	dir, err := os.MkdirTemp("", "radtrack-bench-")
	if err != nil {
		return res, err
	}
	defer os.RemoveAll(dir)
	open := func(name string) (*sqlitestore.Store, error) {
		return sqlitestore.Open(ctx, sqlitestore.Config{Dir: filepath.Join(dir, name)})
	}
	raw, err := open("raw")
	if err != nil {
		return res, err
	}
	defer raw.Close()
	st, err := open("http")
	if err != nil {
		return res, err
	}
	defer st.Close()
	rawDevices, _, err := benchDevices(ctx, raw, cfg.Devices)
	if err != nil {
		return res, err
	}
	_, tokens, err := benchDevices(ctx, st, cfg.Devices)
	if err != nil {
		return res, err
	}
	start := time.Now().UTC().Add(-24 * time.Hour).Truncate(time.Second)
	perDevice := cfg.Samples / cfg.Devices

	fmt.Fprintln(progress, "raw WriteSamples phase…")
	all := arrivalOrder(rawDevices, start, perDevice, cfg.Batch)
	t0 := time.Now()
	for b := range slices.Chunk(all, cfg.Writer.BatchSize) {
		if err := raw.WriteSamples(ctx, b); err != nil {
			return res, fmt.Errorf("raw write: %w", err)
		}
	}
	res.RawRowsPerSec = float64(len(all)) / time.Since(t0).Seconds()
	raws := []float64{res.RawRowsPerSec}
	res.Baselines = []Baseline{{Name: res.Baseline, RowsPerSec: res.RawRowsPerSec, Rounds: raws}}

	fmt.Fprintln(progress, "HTTP ingest phase…")
	ph, err := httpIngest(ctx, st, cfg, tokens, start, perDevice, normal)
	if err != nil {
		return res, err
	}
	res.HTTPRowsPerSec, res.AckP50, res.AckP99, res.Ratio, res.RoundRatios = summarise([]phase{ph}, raws)
	if cfg.Columnar {
		cst, err := open("columnar")
		if err != nil {
			return res, err
		}
		defer cst.Close()
		for i, tok := range tokens {
			uid := fmt.Sprintf("bench-%04d", i)
			if _, err := cst.CreateDevice(ctx, store.Device{UID: uid, Name: uid}, auth.HashToken(tok)); err != nil {
				return res, err
			}
		}
		fmt.Fprintln(progress, "HTTP ingest phase, columnar body…")
		cfg := cfg
		cfg.columnar = true
		cph, err := httpIngest(ctx, cst, cfg, tokens, start, perDevice, normal)
		if err != nil {
			return res, err
		}
		c := &ColumnarResult{CPUPerRow: cph.cpuPerRow, NDJSONCPUPerRow: ph.cpuPerRow}
		c.RowsPerSec, c.AckP50, c.AckP99, c.Ratio, c.RoundRatios = summarise([]phase{cph}, raws)
		res.Columnar = c
	}
	if cfg.Emergency {
		phase := 0
		err = runScenarios(ctx, &res, progress, func(scenario) (store.Store, func(), error) {
			// A fresh store per phase, its devices with the same tokens.
			phase++
			sst, err := open(fmt.Sprintf("scenario-%d", phase))
			if err != nil {
				return nil, nil, err
			}
			for i, tok := range tokens {
				uid := fmt.Sprintf("bench-%04d", i)
				if _, err := sst.CreateDevice(ctx, store.Device{UID: uid, Name: uid}, auth.HashToken(tok)); err != nil {
					sst.Close()
					return nil, nil, err
				}
			}
			return sst, sst.Close, nil
		}, cfg, tokens, rawDevices, start, perDevice)
	}
	return res, err
}
