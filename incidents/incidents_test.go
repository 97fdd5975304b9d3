package incidents_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/radtrack/radtrack/alarms"
	"github.com/radtrack/radtrack/geo"
	"github.com/radtrack/radtrack/incidents"
	"github.com/radtrack/radtrack/ingest/bgeigie"
	"github.com/radtrack/radtrack/internal/pgtest"
	"github.com/radtrack/radtrack/internal/testutil"
	"github.com/radtrack/radtrack/rules"
	"github.com/radtrack/radtrack/sample"
	"github.com/radtrack/radtrack/store"
	"github.com/radtrack/radtrack/store/pgstore"
	"github.com/radtrack/radtrack/store/sqlitestore"
	"github.com/radtrack/radtrack/store/storetest"
)

func eachStore(t *testing.T, f func(t *testing.T, st store.Store)) {
	t.Run("sqlite", func(t *testing.T) {
		st, err := sqlitestore.Open(context.Background(), sqlitestore.Config{Dir: t.TempDir()})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(st.Close)
		f(t, st)
	})
	// PostgreSQL, and TimescaleDB when RADTRACK_TEST_TSDB_URL is set.
	pgtest.EachDatabase(t, func(t *testing.T, url string) {
		st, err := pgstore.Open(context.Background(), pgstore.Config{URL: url})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(st.Close)
		f(t, st)
	})
}

// rig is the alarm stage with incidents, wired as app.OpenCore does.
type rig struct {
	st     store.Store
	alarms *alarms.Service
	inc    *incidents.Service
	mu     sync.Mutex
	events []incidents.Event
}

type fanout []alarms.Publisher

func (f fanout) PublishAlarm(ctx context.Context, ev rules.Event) error {
	for _, p := range f {
		if err := p.PublishAlarm(ctx, ev); err != nil {
			return err
		}
	}
	return nil
}

func newRig(t *testing.T, st store.Store) *rig {
	t.Helper()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	r := &rig{st: st, inc: incidents.New(st, incidents.Config{}, log)}
	svc, err := alarms.New(context.Background(), st, alarms.Options{Geo: geo.DefaultConfig(), Publisher: fanout{r.inc}}, log)
	if err != nil {
		t.Fatal(err)
	}
	r.alarms = svc
	r.inc.SetActor(svc)
	r.inc.Subscribe(func(_ context.Context, ev incidents.Event) {
		r.mu.Lock()
		r.events = append(r.events, ev)
		r.mu.Unlock()
	})
	return r
}

func (r *rig) eventTypes() map[incidents.EventType]int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := map[incidents.EventType]int{}
	for _, ev := range r.events {
		n[ev.Type]++
	}
	return n
}

// monitoringZone stores a monitoring circle and a zone rule (0.3 µSv/h) on
// it, as the demo does, and reloads the service.
func (r *rig) monitoringZone(t *testing.T, lon, lat, radius float64) {
	t.Helper()
	ctx := context.Background()
	feature, _ := json.Marshal(map[string]any{"type": "Feature",
		"geometry":   map[string]any{"type": "Point", "coordinates": []float64{lon, lat}},
		"properties": map[string]any{"name": "hot stretch", "kind": "monitoring", "radius_m": radius}})
	f, err := r.st.CreateFence(ctx, store.Fence{Name: "hot stretch", Kind: "monitoring", Feature: feature})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.st.CreateRule(ctx, rules.Rule{Name: "hot stretch above 0.3 µSv/h", Kind: rules.KindZone,
		Severity: rules.SeverityAlarm, Enabled: true, Zone: &rules.ZoneParams{FenceID: f.ID, ThresholdUSvH: 0.3}}); err != nil {
		t.Fatal(err)
	}
	if err := r.alarms.ReloadFences(ctx); err != nil {
		t.Fatal(err)
	}
	if err := r.alarms.ReloadRules(ctx); err != nil {
		t.Fatal(err)
	}
}

const cpmPerUSvH = 3340 // the demo's patrol detectors

// pass is one vehicle driving east at 10 m/s along 51.2° N past a point
// source 20 m off the road at 4.40° E: 5-s counts with their dose as the
// pipeline fills it (expected counts, so the run is exact).
func pass(deviceID int64, start time.Time) []sample.Sample {
	const (
		lat, srcLon = 51.2, 4.40
		mPerDegLon  = 111320 * 0.6266 // cos 51.2°
		background  = 0.08            // µSv/h
		strength    = 2000            // µSv/h · m² at the road
	)
	var out []sample.Sample
	for i := range 120 { // 10 minutes, 6 km
		x := -3000 + float64(i)*50 // metres east of the source
		dose := background + strength/(x*x+20*20)
		s := sample.New()
		s.DeviceID, s.Time = deviceID, start.Add(time.Duration(i)*5*time.Second)
		s.ReceivedAt = s.Time
		s.Lon, s.Lat, s.GPSValid = srcLon+x/mPerDegLon, lat, true
		s.Counts, s.CountInterval, s.RadValid = math.Round(dose*cpmPerUSvH/60*5), 5, true
		s.FillDose(cpmPerUSvH)
		out = append(out, s)
	}
	return out
}

// A demo-like pass (one vehicle over a source: OIL3, the zone's level,
// local background, notice) gives exactly one incident holding those four
// rule alarms; acknowledging and resolving the incident writes each
// alarm's own audit rows; a later pass after the resolution opens a new
// incident; the vehicle's silence alarm stays out of incidents.
func TestDemoPassIsOneIncident(t *testing.T) {
	eachStore(t, func(t *testing.T, st store.Store) {
		ctx := context.Background()
		r := newRig(t, st)
		r.monitoringZone(t, 4.40, 51.2, 300)
		dev, _ := storetest.NewDevice(t, st, "veh-pass")
		start := time.Now().UTC().Add(-2 * time.Hour).Truncate(time.Second)
		if err := r.alarms.Process(ctx, dev, pass(dev.ID, start)); err != nil {
			t.Fatal(err)
		}
		list, err := st.ListIncidents(ctx, store.IncidentFilter{})
		if err != nil {
			t.Fatal(err)
		}
		if len(list) != 1 {
			t.Fatalf("%d incidents, want 1: %+v", len(list), list)
		}
		inc := list[0]
		rulesIn := map[string]rules.State{}
		for _, a := range inc.Alarms {
			rulesIn[a.RuleName] = a.State
		}
		want := []string{"Dose rate notice (0.5 µSv/h)", "IAEA OIL3 (1 µSv/h)", "Local background anomaly", "hot stretch above 0.3 µSv/h"}
		if len(rulesIn) != len(want) || len(inc.Alarms) != len(want) {
			t.Fatalf("incident alarms %v, want %v", rulesIn, want)
		}
		for _, w := range want {
			if rulesIn[w] != rules.StateRaised {
				t.Fatalf("incident alarms %v, want %v all raised", rulesIn, want)
			}
		}
		if inc.State != rules.StateRaised || inc.Severity != rules.SeverityAlarm || inc.PeakDeviceID != dev.ID ||
			math.Abs(inc.PeakLon-4.40) > 1e-9 || inc.FirstSeen.Before(start) || !inc.PeakGPSValid {
			t.Fatalf("incident %+v", inc)
		}
		if n := r.eventTypes(); n[incidents.EventRaised] != 1 || n[incidents.EventRealarm] != 0 {
			t.Fatalf("incident events %v, want 1 raised, no realarm", n)
		}

		// The device falls silent: a health alarm, in no incident.
		if err := r.alarms.Tick(ctx); err != nil {
			t.Fatal(err)
		}
		health, _ := st.ListAlarms(ctx, store.AlarmFilter{States: []rules.State{rules.StateRaised}})
		var silence int64
		for _, a := range health {
			if a.Kind == rules.KindSilence {
				silence = a.ID
			}
		}
		if silence == 0 {
			t.Fatalf("no silence alarm after the tick: %+v", health)
		}
		if id, err := st.AlarmIncident(ctx, silence); err != nil || id != 0 {
			t.Fatalf("silence alarm in incident %d (%v), want none", id, err)
		}

		// One acknowledgement, one resolution for the incident.
		if _, err := r.inc.Resolve(ctx, inc.ID, "ana", rules.CodeReal, "", false); err != incidents.ErrNotAcknowledged {
			t.Fatalf("resolve before acknowledge: %v", err)
		}
		acked, err := r.inc.Acknowledge(ctx, inc.ID, "ana", "on my way")
		if err != nil {
			t.Fatal(err)
		}
		if acked.State != rules.StateAcknowledged || acked.AckedBy != "ana" {
			t.Fatalf("after acknowledge: %+v", acked)
		}
		done, err := r.inc.Resolve(ctx, inc.ID, "ana", rules.CodeTest, "exercise source", false)
		if err != nil {
			t.Fatal(err)
		}
		if done.State != rules.StateResolved || done.Code != rules.CodeTest || done.ResolvedBy != "ana" {
			t.Fatalf("after resolve: %+v", done)
		}
		for _, a := range done.Alarms {
			evs, err := st.AlarmEvents(ctx, a.ID)
			if err != nil {
				t.Fatal(err)
			}
			var types []string
			for _, e := range evs {
				types = append(types, e.Type)
			}
			// Every condition ended before the acknowledgement.
			if fmt.Sprint(types) != "[raised condition_ended acknowledged resolved]" || a.State != rules.StateResolved ||
				a.Code != rules.CodeTest || a.AckComment != "on my way" || evs[3].Comment != "exercise source" {
				t.Errorf("alarm %d (%s): audit %v, state %s, code %s", a.ID, a.RuleName, types, a.State, a.Code)
			}
		}
		if n := r.eventTypes(); n[incidents.EventAcknowledged] != 1 || n[incidents.EventResolved] != 1 {
			t.Fatalf("incident events %v, want 1 acknowledged, 1 resolved", n)
		}
		// The health alarm was left alone.
		if a, _ := st.Alarm(ctx, silence); a.State != rules.StateRaised {
			t.Fatalf("silence alarm %s after the incident's resolution", a.State)
		}

		// The next pass, after the resolution, is a new incident: a
		// resolved incident never hides new danger.
		if err := r.alarms.Process(ctx, dev, pass(dev.ID, start.Add(30*time.Minute))); err != nil {
			t.Fatal(err)
		}
		open, err := st.ListIncidents(ctx, store.IncidentFilter{States: []rules.State{rules.StateRaised}})
		if err != nil {
			t.Fatal(err)
		}
		if len(open) != 1 || open[0].ID == inc.ID || len(open[0].Alarms) != 4 {
			t.Fatalf("after a second pass: %+v, want one new raised incident with 4 alarms", open)
		}
		if n := r.eventTypes(); n[incidents.EventRaised] != 2 {
			t.Fatalf("incident events %v, want 2 raised", n)
		}
	})
}

// The real Fukushima drive with a monitoring zone around its hot stretch:
// one incident, holding the notice, OIL3 and zone alarms.
func TestFukushimaDriveIsOneIncident(t *testing.T) {
	samples := loadFukushima(t)
	eachStore(t, func(t *testing.T, st store.Store) {
		ctx := context.Background()
		r := newRig(t, st)
		r.monitoringZone(t, 140+56.7233/60, 37+32.0751/60, 1500) // the drive's peak
		dev, _ := storetest.NewDevice(t, st, "bgeigie-fukushima")
		smp := make([]sample.Sample, len(samples))
		for i, s := range samples {
			s.DeviceID = dev.ID
			smp[i] = s
		}
		if err := r.alarms.Process(ctx, dev, smp); err != nil {
			t.Fatal(err)
		}
		list, err := st.ListIncidents(ctx, store.IncidentFilter{})
		if err != nil {
			t.Fatal(err)
		}
		if len(list) != 1 {
			t.Fatalf("%d incidents, want 1", len(list))
		}
		names := map[string]bool{}
		for _, a := range list[0].Alarms {
			names[a.RuleName] = true
		}
		if len(names) != 3 || !names["Dose rate notice (0.5 µSv/h)"] || !names["IAEA OIL3 (1 µSv/h)"] || !names["hot stretch above 0.3 µSv/h"] {
			t.Fatalf("incident rules %v", names)
		}
		if inc := list[0]; inc.PeakDose != 637.0/334 || inc.Severity != rules.SeverityAlarm {
			t.Fatalf("incident %+v, want peak %v µSv/h, severity alarm", inc, 637.0/334)
		}
	})
}

func loadFukushima(t *testing.T) []sample.Sample {
	t.Helper()
	f, err := os.Open(testutil.RadiationFile(t, "safecast_bgeigie_BGRDD_fukushima_2012-07-01.log"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []sample.Sample
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		for _, line := range bgeigie.Sentences(sc.Bytes()) {
			s, err := bgeigie.ParseSentence(line)
			if err != nil || bgeigie.TimeLost(s) {
				continue
			}
			s.ReceivedAt = s.Time
			s.FillDose(sample.DefaultCPMPerUSvH)
			out = append(out, s)
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// Issue 13's scenario at the incident level: the pass's incident is
// acknowledged (not resolved), its conditions end; an hour later the same
// vehicle reads 50 µSv/h elsewhere. Its OIL3 alarm re-alarms and the same
// incident goes back to raised with a realarm event: it pages again.
func TestRealarmReopensIncident(t *testing.T) {
	eachStore(t, func(t *testing.T, st store.Store) {
		ctx := context.Background()
		r := newRig(t, st)
		dev, _ := storetest.NewDevice(t, st, "veh-realarm")
		start := time.Now().UTC().Add(-3 * time.Hour).Truncate(time.Second)
		if err := r.alarms.Process(ctx, dev, pass(dev.ID, start)); err != nil {
			t.Fatal(err)
		}
		list, _ := st.ListIncidents(ctx, store.IncidentFilter{})
		if len(list) != 1 {
			t.Fatalf("%d incidents after the pass, want 1", len(list))
		}
		inc := list[0]
		if _, err := r.inc.Acknowledge(ctx, inc.ID, "ana", ""); err != nil {
			t.Fatal(err)
		}
		before := r.eventTypes()
		hot := pass(dev.ID, start.Add(time.Hour))[60] // the source's reading, an hour later
		hot.Lon += 0.1                                // ≈ 7 km east
		if err := r.alarms.Process(ctx, dev, []sample.Sample{hot}); err != nil {
			t.Fatal(err)
		}
		after := r.eventTypes()
		if after[incidents.EventRealarm] != before[incidents.EventRealarm]+1 {
			t.Fatalf("incident events %v → %v, want one more realarm", before, after)
		}
		got, err := st.Incident(ctx, inc.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.State != rules.StateRaised || got.RealarmedAt.IsZero() {
			t.Fatalf("incident after the realarm: %+v", got)
		}
		open, _ := st.ListIncidents(ctx, store.IncidentFilter{States: []rules.State{rules.StateRaised}})
		if len(open) != 1 || open[0].ID != inc.ID {
			t.Fatalf("raised incidents %+v, want the same incident %d", open, inc.ID)
		}
	})
}
