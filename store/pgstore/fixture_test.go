package pgstore_test

import (
	"cmp"
	"context"
	"fmt"
	"math"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/radtrack/radtrack/rules"
	"github.com/radtrack/radtrack/sample"
	"github.com/radtrack/radtrack/store"
	"github.com/radtrack/radtrack/store/storetest"
)

// fleet is a deterministic patrol history of the given devices: one sample
// per device every `every` in [from, to), with what real units send now and
// then: no fix, no dose, attributes, absent optional fields.
func fleet(devices []int64, from, to time.Time, every time.Duration) []sample.Sample {
	var out []sample.Sample
	i := 0
	for t := from; t.Before(to); t = t.Add(every) {
		for k, id := range devices {
			i++
			s := sample.New()
			s.DeviceID = id
			s.Time = t.Add(time.Duration(k) * time.Second)
			s.ReceivedAt = s.Time.Add(time.Duration(200+i%700) * time.Millisecond)
			// A loop around the port, a different phase per vehicle.
			phase := float64(i%600) / 600 * 2 * math.Pi
			s.Lon = 4.05 + 0.02*math.Cos(phase) + 0.001*float64(k)
			s.Lat = 51.95 + 0.01*math.Sin(phase)
			s.GPSValid = i%17 != 0
			if !s.GPSValid {
				s.Lon, s.Lat = 0, 0
			}
			s.Speed, s.Heading = float64(i%20), float64(i%360)
			if i%5 != 0 {
				s.Altitude, s.HDOP, s.Satellites = float64(i%40), 0.9, 7+i%5
			}
			s.RadValid = i%13 != 0
			if s.RadValid {
				s.DoseRate = 0.08 + float64(i%9)*0.01
				s.Counts, s.CountInterval = float64(3+i%4), 5
			}
			if i%211 == 0 {
				s.DoseRate = 2.4 // a hot spot
			}
			if i%3 == 0 {
				s.Battery = float64(100 - i%100)
			}
			s.Source = []string{sample.SourceHTTP, sample.SourceOsmAnd, sample.SourceBGeigie}[k%3]
			if i%7 == 0 {
				s.Attributes = map[string]any{"fw": "1.2", "temp": 21.5}
			}
			out = append(out, s)
		}
	}
	return out
}

// newDevices creates devices veh-first … veh-(first+n-1); every fresh store
// numbers the first n devices it gets 1..n.
func newDevices(t *testing.T, s store.Store, first, n int) []int64 {
	t.Helper()
	ids := make([]int64, n)
	for i := range ids {
		d, _ := storetest.NewDevice(t, s, fmt.Sprintf("veh-%02d", first+i))
		ids[i] = d.ID
	}
	return ids
}

func write(t *testing.T, s store.Store, samples []sample.Sample) {
	t.Helper()
	for from := 0; from < len(samples); from += 5000 {
		if err := s.WriteSamples(context.Background(), samples[from:min(from+5000, len(samples))]); err != nil {
			t.Fatal(err)
		}
	}
}

// answers is what the control room asks of stored samples, rendered as text
// (samples hold NaN, which no equality of values accepts) line by line.
// Averages are rendered to 12 significant digits: engines sum in different
// orders, which moves the last bits. Heatmap cells are sorted by position:
// the query orders them by max dose only, so ties come in engine order.
type answers []string

// ask runs the track, heatmap, dose-minute and alarm-sample queries over
// [from, to) of devices. alarmID is an alarm whose samples are asked for as
// GET /api/v1/alarms/{id} does.
func ask(t *testing.T, s store.Store, devices []int64, from, to time.Time, alarmID int64) answers {
	t.Helper()
	ctx := context.Background()
	var out answers
	add := func(what string, v any) { out = append(out, what+": "+render(v)) }
	for _, id := range devices {
		track, err := s.Track(ctx, store.TrackQuery{DeviceID: id, From: from, To: to})
		if err != nil {
			t.Fatal(err)
		}
		add(fmt.Sprintf("track %d (%d samples)", id, len(track)), track)
		mid := from.Add(to.Sub(from) / 3)
		window, err := s.Track(ctx, store.TrackQuery{DeviceID: id, From: mid, To: mid.Add(2 * time.Hour), Limit: 50})
		if err != nil {
			t.Fatal(err)
		}
		add(fmt.Sprintf("track %d from %s, limit 50", id, mid.Format(time.RFC3339)), window)
		minutes, err := s.DoseMinutes(ctx, id, from, to)
		if err != nil {
			t.Fatal(err)
		}
		add(fmt.Sprintf("dose minutes %d (%d)", id, len(minutes)), minutes)
	}
	for _, cell := range []float64{0.001, 0.005, 0.1} {
		for _, span := range []time.Duration{time.Hour, to.Sub(from)} {
			cells, err := s.Heatmap(ctx, store.HeatmapQuery{From: from, To: from.Add(span),
				BBox: [4]float64{4, 51.9, 4.1, 52}, CellLon: cell, CellLat: cell})
			if err != nil {
				t.Fatal(err)
			}
			add(fmt.Sprintf("heatmap cell %g over %s (%d cells)", cell, span, len(cells)), cells)
		}
	}
	ep, err := s.Alarm(ctx, alarmID)
	if err != nil {
		t.Fatal(err)
	}
	alarmSamples, err := s.Track(ctx, store.TrackQuery{DeviceID: ep.DeviceID, From: ep.FirstSeen, To: ep.LastSeen.Add(time.Nanosecond), Limit: 10_000})
	if err != nil {
		t.Fatal(err)
	}
	add(fmt.Sprintf("alarm %d samples (%d)", alarmID, len(alarmSamples)), alarmSamples)
	return out
}

// raiseAlarm stores an alarm episode of device over [first, last].
func raiseAlarm(t *testing.T, s store.Store, device int64, first, last time.Time) int64 {
	t.Helper()
	ep := rules.Episode{
		Key:      rules.Key{DeviceID: device, RuleID: 1},
		RuleName: "OIL3", Kind: "level", Severity: "alarm", State: "raised",
		FirstSeen: first, LastSeen: last, Samples: 12, ConditionActive: true,
		PeakDose: 2.4, PeakTime: first, PeakLon: 4.05, PeakLat: 51.95, PeakGPSValid: true,
	}
	id, _, err := s.RaiseAlarm(context.Background(), ep, rules.Event{Type: "raised", Key: ep.Key, Time: first, Episode: ep})
	if err != nil {
		t.Fatal(err)
	}
	return id
}

func render(v any) string {
	switch v := v.(type) {
	case []sample.Sample:
		var b strings.Builder
		for _, s := range v {
			fmt.Fprintf(&b, "\n  %+v", s)
		}
		return b.String()
	case []store.DoseMinute:
		var b strings.Builder
		f := func(p *float64) string {
			if p == nil {
				return "nil"
			}
			return fmt.Sprint(*p)
		}
		for _, m := range v {
			avg := "nil"
			if m.Avg != nil {
				avg = fmt.Sprintf("%.12g", *m.Avg)
			}
			fmt.Fprintf(&b, "\n  %d %s min %s avg %s max %s n %d at %s,%s", m.DeviceID, m.Bucket.Format(time.RFC3339),
				f(m.Min), avg, f(m.Max), m.Samples, f(m.Lon), f(m.Lat))
		}
		return b.String()
	case []store.HeatCell:
		cells := slices.Clone(v)
		slices.SortFunc(cells, func(a, b store.HeatCell) int {
			return cmp.Or(cmp.Compare(a.Lon, b.Lon), cmp.Compare(a.Lat, b.Lat))
		})
		var b strings.Builder
		for _, c := range cells {
			fmt.Fprintf(&b, "\n  %v,%v max %v avg %.12g n %d", c.Lon, c.Lat, c.Max, c.Avg, c.Samples)
		}
		return b.String()
	}
	return fmt.Sprintf("%+v", v)
}

// sameAnswers fails with the first answer that differs.
func sameAnswers(t *testing.T, what string, got, want answers) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d answers, want %d", what, len(got), len(want))
	}
	for i := range got {
		if got[i] != want[i] {
			t.Fatalf("%s: answers differ at %s\ngot:  %.3000s\nwant: %.3000s", what, strings.SplitN(want[i], ":", 2)[0], firstDiff(got[i], want[i]), firstDiff(want[i], got[i]))
		}
	}
}

// firstDiff returns a from the line where it first differs from b.
func firstDiff(a, b string) string {
	la, lb := strings.Split(a, "\n"), strings.Split(b, "\n")
	for i := range la {
		if i >= len(lb) || la[i] != lb[i] {
			return fmt.Sprintf("(line %d) %s", i, strings.Join(la[i:min(i+3, len(la))], "\n"))
		}
	}
	return "(a prefix of the other)"
}

// runJob runs a TimescaleDB job now, unscheduled first so the server's own
// scheduler cannot run it at the same moment ("concurrent refresh").
func runJob(t *testing.T, pool *pgxpool.Pool, proc, table string) {
	t.Helper()
	ctx := context.Background()
	var id int
	if err := pool.QueryRow(ctx, `SELECT job_id FROM timescaledb_information.jobs
		WHERE proc_name = $1 AND hypertable_name = $2`, proc, table).Scan(&id); err != nil {
		t.Fatalf("job %s on %s: %v", proc, table, err)
	}
	if _, err := pool.Exec(ctx, `SELECT alter_job($1, scheduled => false)`, id); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		_, err := pool.Exec(ctx, `CALL run_job($1)`, id)
		if err == nil {
			return
		}
		if !strings.Contains(err.Error(), "concurrent") || time.Now().After(deadline) {
			t.Fatalf("run job %s on %s: %v", proc, table, err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// unschedule stops the server's scheduler from running the database's
// jobs, so that a test runs them when it means to.
func unschedule(t *testing.T, pool *pgxpool.Pool) {
	t.Helper()
	if _, err := pool.Exec(context.Background(), `SELECT alter_job(job_id, scheduled => false)
		FROM timescaledb_information.jobs WHERE job_id >= 1000`); err != nil {
		t.Fatal(err)
	}
}

// chunks lists measurements' chunks as "start..end compressed?" in time order.
func chunks(t *testing.T, pool *pgxpool.Pool) []string {
	t.Helper()
	rows, err := pool.Query(context.Background(), `SELECT range_start, range_end, is_compressed
		FROM timescaledb_information.chunks WHERE hypertable_name = 'measurements' ORDER BY range_start`)
	if err != nil {
		t.Fatal(err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (string, error) {
		var start, end time.Time
		var compressed bool
		err := r.Scan(&start, &end, &compressed)
		return fmt.Sprintf("%s..%s compressed=%v", start.UTC().Format(time.RFC3339), end.UTC().Format(time.RFC3339), compressed), err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// dayChunks is what chunks should list for whole UTC days [first, last].
func dayChunks(first, last time.Time, compressed func(day time.Time) bool) []string {
	var out []string
	for d := first; !d.After(last); d = d.Add(24 * time.Hour) {
		out = append(out, fmt.Sprintf("%s..%s compressed=%v", d.Format(time.RFC3339), d.Add(24*time.Hour).Format(time.RFC3339), compressed(d)))
	}
	return out
}

// schema describes the database's tables, columns, indexes, constraints,
// views and TimescaleDB jobs, to compare two databases.
func schema(t *testing.T, pool *pgxpool.Pool, timescale bool) string {
	t.Helper()
	q := `SELECT x FROM (
		SELECT format('column %s.%s %s null=%s default=%s', table_name, column_name, data_type, is_nullable, coalesce(column_default, '')) AS x
			FROM information_schema.columns WHERE table_schema = 'public'
		UNION ALL SELECT format('index %s: %s', indexname, indexdef) FROM pg_indexes WHERE schemaname = 'public'
		UNION ALL SELECT format('constraint %s: %s', conname, pg_get_constraintdef(oid)) FROM pg_constraint WHERE connamespace = 'public'::regnamespace
		UNION ALL SELECT format('view %s: %s', viewname, definition) FROM pg_views WHERE schemaname = 'public'
		UNION ALL SELECT format('matview %s: %s', matviewname, definition) FROM pg_matviews WHERE schemaname = 'public'`
	if timescale {
		q += `
		UNION ALL SELECT format('hypertable %s compression=%s', hypertable_name, compression_enabled) FROM timescaledb_information.hypertables
		UNION ALL SELECT format('dimension %s.%s %s', hypertable_name, column_name, time_interval) FROM timescaledb_information.dimensions
		UNION ALL SELECT format('compression %s.%s segmentby=%s orderby=%s', hypertable_name, attname, segmentby_column_index, orderby_column_index) FROM timescaledb_information.compression_settings
		UNION ALL SELECT format('aggregate %s materialized_only=%s: %s', view_name, materialized_only, view_definition) FROM timescaledb_information.continuous_aggregates
		UNION ALL SELECT format('job %s on %s every %s: %s', proc_name, hypertable_name, schedule_interval, config - 'mat_hypertable_id' - 'hypertable_id')
			FROM timescaledb_information.jobs WHERE job_id >= 1000`
	}
	q += `) s ORDER BY x`
	rows, err := pool.Query(context.Background(), q)
	if err != nil {
		t.Fatal(err)
	}
	lines, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	return strings.Join(lines, "\n")
}
