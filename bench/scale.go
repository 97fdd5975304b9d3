package bench

import (
	"context"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/radtrack/radtrack/sample"
	"github.com/radtrack/radtrack/store"
	"github.com/radtrack/radtrack/store/pgstore"
	"github.com/radtrack/radtrack/store/sqlitestore"
)

// ScaleConfig sets the shape of the fleet history "bench scale" loads into
// every engine before it times what a control room asks of it.
type ScaleConfig struct {
	// Engines to load and query, in order: each is "embedded" or a
	// PostgreSQL URL (TimescaleDB when the database has the extension).
	// Their measurements tables are TRUNCATED.
	Engines  []string
	Vehicles int           // fleet size
	Days     int           // history length, ending now
	Interval time.Duration // one sample per vehicle per Interval (5 s)
	Batch    int           // samples per WriteSamples call (the group commit's size)
	Writers  int           // concurrent WriteSamples callers
	Repeats  int           // timed repetitions of each query
	Seed     uint64
}

// ScaleResult is what one engine measured.
type ScaleResult struct {
	Engine string
	Rows   int64
	// RowsPerSec is the load rate of each day of history, oldest first: how
	// the write path holds up as the table grows.
	RowsPerSec []float64
	// BytesPerMillion is the table's size on disk per million samples
	// after loading and (TimescaleDB) compressing all but the newest day.
	BytesPerMillion float64
	CompressTime    time.Duration // TimescaleDB: compressing the history
	RefreshTime     time.Duration // TimescaleDB: materialising its continuous aggregates
	Queries         []QueryTiming
}

// QueryTiming is the latency distribution of one kind of question.
type QueryTiming struct {
	Name     string
	P50, P99 time.Duration
	Rows     int // rows (samples or heatmap cells) the last repetition returned
}

func (r ScaleResult) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "engine %s: %d rows\n", r.Engine, r.Rows)
	if n := len(r.RowsPerSec); n > 0 {
		fmt.Fprintf(&b, "  load rows/s by day: first %.0f, middle %.0f, last %.0f (min %.0f, max %.0f)\n",
			r.RowsPerSec[0], r.RowsPerSec[n/2], r.RowsPerSec[n-1], slices.Min(r.RowsPerSec), slices.Max(r.RowsPerSec))
	}
	fmt.Fprintf(&b, "  size: %.1f MB per million samples", r.BytesPerMillion/1e6)
	if r.CompressTime > 0 {
		fmt.Fprintf(&b, " (compressed, took %s)", r.CompressTime.Round(time.Second))
	}
	if r.RefreshTime > 0 {
		fmt.Fprintf(&b, "; materialising the aggregates took %s", r.RefreshTime.Round(time.Second))
	}
	b.WriteString("\n")
	for _, q := range r.Queries {
		fmt.Fprintf(&b, "  %-32s p50 %9s  p99 %9s  (%d rows)\n", q.Name, round(q.P50), round(q.P99), q.Rows)
	}
	return b.String()
}

func round(d time.Duration) time.Duration {
	if d > 10*time.Millisecond {
		return d.Round(time.Millisecond)
	}
	return d.Round(10 * time.Microsecond)
}

// scaleStore is what the scale benchmark needs of a store.
type scaleStore interface {
	store.Store
}

// RunScale loads the same synthetic fleet history into every engine of cfg
// and times the questions a control room asks, engine after engine in one
// run so that their figures compare.
func RunScale(ctx context.Context, cfg ScaleConfig, progress io.Writer) ([]ScaleResult, error) {
	if cfg.Vehicles <= 0 || cfg.Days <= 0 || cfg.Interval <= 0 || cfg.Batch <= 0 || cfg.Writers <= 0 || cfg.Repeats <= 0 {
		return nil, fmt.Errorf("bench scale: vehicles, days, interval, batch, writers and repeats must be positive")
	}
	fleet := newFleet(cfg)
	var out []ScaleResult
	for _, engine := range cfg.Engines {
		res, err := runScaleEngine(ctx, cfg, fleet, engine, progress)
		if err != nil {
			return out, err
		}
		fmt.Fprint(progress, res)
		out = append(out, res)
	}
	return out, nil
}

func runScaleEngine(ctx context.Context, cfg ScaleConfig, fl fleet, engine string, progress io.Writer) (ScaleResult, error) {
	var (
		st   scaleStore
		res  ScaleResult
		size func() (int64, error)
		pg   *pgstore.Store
	)
	if engine == "embedded" {
		dir, err := os.MkdirTemp("", "radtrack-scale-")
		if err != nil {
			return res, err
		}
		defer os.RemoveAll(dir)
		s, err := sqlitestore.Open(ctx, sqlitestore.Config{Dir: dir})
		if err != nil {
			return res, err
		}
		defer s.Close()
		st, res.Engine = s, "embedded SQLite"
		size = func() (int64, error) { return dirSize(dir) }
	} else {
		s, err := pgstore.Open(ctx, pgstore.Config{URL: engine, MaxConns: int32(cfg.Writers + 4)})
		if err != nil {
			return res, err
		}
		defer s.Close()
		st, pg, res.Engine = s, s, "PostgreSQL"
		if s.Timescale() {
			res.Engine = "TimescaleDB"
		}
		if _, err := s.Pool().Exec(ctx, `TRUNCATE measurements`); err != nil {
			return res, fmt.Errorf("bench scale: truncate: %w", err)
		}
		size = func() (int64, error) {
			q := `SELECT pg_total_relation_size('measurements')`
			if s.Timescale() {
				q = `SELECT hypertable_size('measurements')`
			}
			var n int64
			err := s.Pool().QueryRow(ctx, q).Scan(&n)
			return n, err
		}
	}
	devices, _, err := benchDevices(ctx, st, cfg.Vehicles)
	if err != nil {
		return res, err
	}
	ids := make([]int64, len(devices))
	for i, d := range devices {
		ids[i] = d.ID
	}

	for day := range cfg.Days {
		n, took, err := loadDay(ctx, st, cfg, fl, ids, day)
		if err != nil {
			return res, err
		}
		res.Rows += int64(n)
		res.RowsPerSec = append(res.RowsPerSec, float64(n)/took.Seconds())
		fmt.Fprintf(progress, "%s: day %d/%d loaded, %d rows, %.0f rows/s\n", res.Engine, day+1, cfg.Days, res.Rows, res.RowsPerSec[day])
	}
	if pg != nil && pg.Timescale() {
		begin := time.Now()
		if _, err := pg.Pool().Exec(ctx, `SELECT compress_chunk(c, if_not_compressed => true)
			FROM show_chunks('measurements', older_than => now() - INTERVAL '1 day') c`); err != nil {
			return res, fmt.Errorf("bench scale: compress: %w", err)
		}
		res.CompressTime = time.Since(begin)
		// The continuous aggregates' policies materialise the history in
		// the background; a control room a month in has it materialised.
		begin = time.Now()
		for _, cagg := range []string{"dose_1m", "dose_grid_1h", "dose_grid_1d"} {
			if err := refreshAggregate(ctx, pg, cagg); err != nil {
				return res, err
			}
		}
		res.RefreshTime = time.Since(begin)
	}
	if pg != nil {
		if _, err := pg.Pool().Exec(ctx, `ANALYZE measurements`); err != nil {
			return res, fmt.Errorf("bench scale: analyze: %w", err)
		}
	}
	bytes, err := size()
	if err != nil {
		return res, fmt.Errorf("bench scale: size: %w", err)
	}
	res.BytesPerMillion = float64(bytes) / float64(res.Rows) * 1e6

	fmt.Fprintf(progress, "%s: timing queries…\n", res.Engine)
	res.Queries, err = timeQueries(ctx, st, cfg, fl, ids)
	return res, err
}

// loadDay writes one day of the whole fleet's history in time order through
// the store's write path (what the group commit calls), from cfg.Writers
// goroutines.
func loadDay(ctx context.Context, st store.SampleWriter, cfg ScaleConfig, fl fleet, ids []int64, day int) (int, time.Duration, error) {
	steps := int(24 * time.Hour / cfg.Interval)
	batches := make(chan []sample.Sample, cfg.Writers)
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		firstErr error
	)
	for range cfg.Writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for b := range batches {
				if err := st.WriteSamples(ctx, b); err != nil {
					mu.Lock()
					if firstErr == nil {
						firstErr = fmt.Errorf("bench scale: write day %d: %w", day, err)
					}
					mu.Unlock()
				}
			}
		}()
	}
	begin := time.Now()
	n := 0
	batch := make([]sample.Sample, 0, cfg.Batch)
	for step := range steps {
		t := fl.start.Add(time.Duration(day)*24*time.Hour + time.Duration(step)*cfg.Interval)
		for v, id := range ids {
			batch = append(batch, fl.sampleAt(v, id, t))
			if len(batch) == cfg.Batch {
				batches <- batch
				n += len(batch)
				batch = make([]sample.Sample, 0, cfg.Batch)
			}
		}
	}
	if len(batch) > 0 {
		batches <- batch
		n += len(batch)
	}
	close(batches)
	wg.Wait()
	return n, time.Since(begin), firstErr
}

// timeQueries asks what a control room asks, cfg.Repeats times each at
// random vehicles and times, and returns the latency distributions.
func timeQueries(ctx context.Context, st store.Store, cfg ScaleConfig, fl fleet, ids []int64) ([]QueryTiming, error) {
	rng := rand.New(rand.NewPCG(cfg.Seed, 2))
	end := fl.start.Add(time.Duration(cfg.Days) * 24 * time.Hour)
	randomTime := func(span time.Duration) time.Time {
		room := end.Sub(fl.start) - span
		if room <= 0 {
			return fl.start
		}
		return fl.start.Add(time.Duration(rng.Int64N(int64(room)))).Truncate(time.Second)
	}
	bbox := fl.bbox()
	questions := []struct {
		name string
		ask  func() (int, error)
	}{
		{"track of one vehicle, 8 h shift", func() (int, error) {
			from := randomTime(8 * time.Hour)
			s, err := st.Track(ctx, store.TrackQuery{DeviceID: ids[rng.IntN(len(ids))], From: from, To: from.Add(8 * time.Hour)})
			return len(s), err
		}},
		{"replay 50 vehicles, 1 h", func() (int, error) {
			from, n := randomTime(time.Hour), 0
			for i := range min(50, len(ids)) {
				s, err := st.Track(ctx, store.TrackQuery{DeviceID: ids[(i*7919)%len(ids)], From: from, To: from.Add(time.Hour)})
				if err != nil {
					return n, err
				}
				n += len(s)
			}
			return n, nil
		}},
		{"alarm's samples, 10 min", func() (int, error) {
			from := randomTime(10 * time.Minute)
			s, err := st.Track(ctx, store.TrackQuery{DeviceID: ids[rng.IntN(len(ids))], From: from, To: from.Add(10 * time.Minute)})
			return len(s), err
		}},
		{"heatmap of a day, 100 m cells", func() (int, error) {
			from := randomTime(24 * time.Hour)
			c, err := st.Heatmap(ctx, store.HeatmapQuery{From: from, To: from.Add(24 * time.Hour), BBox: bbox, CellLon: 0.0015, CellLat: 0.0009})
			return len(c), err
		}},
		{fmt.Sprintf("heatmap of %d days, 500 m cells", cfg.Days), func() (int, error) {
			c, err := st.Heatmap(ctx, store.HeatmapQuery{From: fl.start, To: end, BBox: bbox, CellLon: 0.0075, CellLat: 0.0045})
			return len(c), err
		}},
	}
	var out []QueryTiming
	for _, q := range questions {
		lat := make([]time.Duration, 0, cfg.Repeats)
		rows := 0
		for range cfg.Repeats {
			begin := time.Now()
			n, err := q.ask()
			if err != nil {
				return out, fmt.Errorf("bench scale: %s: %w", q.name, err)
			}
			lat = append(lat, time.Since(begin))
			rows = n
		}
		out = append(out, QueryTiming{Name: q.name, P50: percentile(lat, 0.50), P99: percentile(lat, 0.99), Rows: rows})
	}
	return out, nil
}

// fleet is a deterministic synthetic fleet: each vehicle drives a circuit
// of its own around a home point in a 20 km box at patrol speed, over a
// natural background with a few hot spots, reporting every Interval.
type fleet struct {
	start  time.Time
	homes  [][2]float64 // lon, lat
	radius []float64    // circuit radius, metres
	speed  []float64    // m/s
	hot    [][2]float64 // hot spots, lon/lat
}

const (
	scaleLon, scaleLat = 4.10, 51.90 // the box's south-west corner (Rotterdam's port)
	boxDegLon          = 0.29        // ≈ 20 km at 51.9°N
	boxDegLat          = 0.18        // ≈ 20 km
	metresPerDegLat    = 111_320.0
)

func newFleet(cfg ScaleConfig) fleet {
	rng := rand.New(rand.NewPCG(cfg.Seed, 1))
	// The history ends at the last full hour: no sample from the future.
	fl := fleet{start: time.Now().UTC().Truncate(time.Hour).Add(-time.Duration(cfg.Days) * 24 * time.Hour)}
	for range cfg.Vehicles {
		fl.homes = append(fl.homes, [2]float64{scaleLon + 0.05 + rng.Float64()*(boxDegLon-0.1), scaleLat + 0.03 + rng.Float64()*(boxDegLat-0.06)})
		fl.radius = append(fl.radius, 500+rng.Float64()*2500)
		fl.speed = append(fl.speed, 4+rng.Float64()*8)
	}
	for range 10 {
		fl.hot = append(fl.hot, [2]float64{scaleLon + rng.Float64()*boxDegLon, scaleLat + rng.Float64()*boxDegLat})
	}
	return fl
}

func (fl fleet) bbox() [4]float64 {
	return [4]float64{scaleLon, scaleLat, scaleLon + boxDegLon, scaleLat + boxDegLat}
}

func (fl fleet) sampleAt(v int, id int64, t time.Time) sample.Sample {
	secs := t.Sub(fl.start).Seconds()
	angle := secs * fl.speed[v] / fl.radius[v]
	cosLat := math.Cos(fl.homes[v][1] * math.Pi / 180)
	lon := fl.homes[v][0] + fl.radius[v]*math.Cos(angle)/(metresPerDegLat*cosLat)
	lat := fl.homes[v][1] + fl.radius[v]*math.Sin(angle)/metresPerDegLat
	dose := 0.08 + 0.02*math.Sin(float64(v)+secs/600)
	for _, h := range fl.hot {
		dx, dy := (lon-h[0])*metresPerDegLat*cosLat, (lat-h[1])*metresPerDegLat
		dose += 50 / (dx*dx + dy*dy + 100) // inverse square, 10 m stand-off
	}
	s := sample.New()
	s.DeviceID, s.Time, s.ReceivedAt = id, t, t.Add(300*time.Millisecond)
	s.Lon, s.Lat, s.GPSValid, s.Satellites = lon, lat, true, 9
	s.Speed, s.Heading = fl.speed[v], math.Mod(angle*180/math.Pi+90, 360)
	s.DoseRate, s.CountInterval, s.RadValid = dose, 5, true
	s.Counts = math.Round(dose * 334 * 5 / 60) // a bGeigie-class tube's counts in 5 s
	s.Source = sample.SourceHTTP
	return s
}

func dirSize(dir string) (int64, error) {
	var n int64
	err := filepath.WalkDir(dir, func(_ string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		n += info.Size()
		return nil
	})
	return n, err
}

// percentile is the nearest-rank q-quantile of d (which it sorts).
func percentile(d []time.Duration, q float64) time.Duration {
	if len(d) == 0 {
		return 0
	}
	slices.Sort(d)
	rank := max(int(math.Ceil(q*float64(len(d)))), 1)
	return d[rank-1]
}

// refreshAggregate materialises a continuous aggregate's history, waiting
// while its policy job is refreshing it at the same moment (TimescaleDB
// refuses a concurrent refresh of the same aggregate).
func refreshAggregate(ctx context.Context, pg *pgstore.Store, cagg string) error {
	deadline := time.Now().Add(2 * time.Minute)
	for {
		_, err := pg.Pool().Exec(ctx, `CALL refresh_continuous_aggregate($1, NULL, now() - INTERVAL '1 hour')`, cagg)
		if err == nil {
			return nil
		}
		if !strings.Contains(err.Error(), "concurrent") || time.Now().After(deadline) {
			return fmt.Errorf("bench scale: refresh %s: %w", cagg, err)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
}
