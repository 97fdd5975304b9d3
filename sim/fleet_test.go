package sim

import (
	"math"
	"testing"
	"time"

	"github.com/radtrack/radtrack/sample"
)

var epoch = time.Date(2026, 11, 22, 8, 0, 0, 0, time.UTC)

// drive reports every sample of v up to the simulated time until.
func drive(v Vehicle, until time.Duration) []sample.Sample {
	var out []sample.Sample
	for v.Next() <= until {
		out = append(out, v.Report(epoch.Add(v.Next())))
	}
	return out
}

func TestRoutesStayInsidePortArea(t *testing.T) {
	l := DefaultLayout()
	for _, r := range l.Routes {
		for i, p := range r.Waypoints() {
			if !l.Area.Contains(l.Frame.LonLat(p)) {
				t.Errorf("route %q waypoint %d %v outside the port area", r.Name, i, p)
			}
		}
	}
	fleet, err := NewFleet(l, FleetConfig{Vehicles: 10, Seed: 3})
	if err != nil {
		t.Fatal(err)
	}
	stops := 0
	for _, v := range fleet.Vehicles() {
		for _, s := range drive(v, time.Hour) {
			if !l.Area.Contains(LonLat{s.Lon, s.Lat}) {
				t.Fatalf("%s at %v,%v: outside the port area %+v", v.UID(), s.Lon, s.Lat, l.Area)
			}
			if s.Speed > maxCruise || s.Speed < 0 {
				t.Fatalf("%s: speed %v m/s", v.UID(), s.Speed)
			}
			if s.Speed == 0 {
				stops++
			}
			if err := s.Validate(s.Time); err != nil {
				t.Fatalf("%s: invalid sample: %v", v.UID(), err)
			}
		}
	}
	if stops == 0 {
		t.Error("no vehicle ever stopped in an hour")
	}
}

func TestPatrolSpeedsAndCadence(t *testing.T) {
	fleet, err := NewFleet(DefaultLayout(), FleetConfig{Vehicles: 4, Seed: 9})
	if err != nil {
		t.Fatal(err)
	}
	p := fleet.Patrols[3] // perimeter road: long straights
	samples := drive(p, 30*time.Minute)
	if len(samples) != 900 {
		t.Fatalf("%d samples in 30 min at 2 s, want 900", len(samples))
	}
	var moving, sum float64
	for i, s := range samples {
		if i > 0 && s.Time.Sub(samples[i-1].Time) != 2*time.Second {
			t.Fatalf("sample %d: gap %v", i, s.Time.Sub(samples[i-1].Time))
		}
		if s.Speed >= minCruise {
			moving++
			sum += s.Speed
		}
		if s.CountInterval != 2 || !sample.Has(s.Counts) || !sample.Has(s.DoseRate) {
			t.Fatalf("sample %d lacks counts/interval/dose: %+v", i, s)
		}
	}
	if mean := sum / moving; mean < 7 || mean > 13 {
		t.Errorf("mean driving speed %.1f m/s, want about 10", mean)
	}
	if first, last := samples[0].Battery, samples[len(samples)-1].Battery; !(last < first) && last != 100 {
		t.Errorf("battery did not drain: %v → %v", first, last)
	}
}

func TestFleetIsDeterministic(t *testing.T) {
	run := func() []sample.Sample {
		f, err := NewFleet(DefaultLayout(), FleetConfig{Vehicles: 2, Seed: 11})
		if err != nil {
			t.Fatal(err)
		}
		return drive(f.Patrols[1], 10*time.Minute)
	}
	a, b := run(), run()
	for i := range a {
		if a[i].Lat != b[i].Lat || a[i].Lon != b[i].Lon || a[i].Counts != b[i].Counts {
			t.Fatalf("sample %d differs between runs with the same seed", i)
		}
	}
}

func TestPassingTheSourceRaisesTheDose(t *testing.T) {
	l := DefaultLayout()
	src := l.Frame.XY(l.Sources[0].Pos)
	for seed := range uint64(5) {
		fleet, err := NewFleet(l, FleetConfig{Vehicles: 2, Seed: seed})
		if err != nil {
			t.Fatal(err)
		}
		p := fleet.Patrols[1] // the container terminal loop passes 15 m from it
		lap := time.Duration(p.Route().Length()/minCruise) * time.Second
		var passes, far int
		var farDose float64
		best := math.Inf(1)
		bestDose := 0.0
		for _, s := range drive(p, 2*lap) {
			at := l.Frame.XY(LonLat{s.Lon, s.Lat})
			r := math.Hypot(at.X-src.X, at.Y-src.Y)
			switch {
			case r < 40:
				passes++
				if r < best {
					best, bestDose = r, s.DoseRate
				}
				bestDose = max(bestDose, s.DoseRate)
			case r > 300:
				far++
				farDose += s.DoseRate
			}
		}
		if passes == 0 {
			t.Fatalf("seed %d: never came within 40 m of the source", seed)
		}
		if bestDose <= 1 {
			t.Errorf("seed %d: %.2f µSv/h at closest approach (%.0f m), want > 1 (OIL3)", seed, bestDose, best)
		}
		// Far away the mean is natural background, 0.05–0.12 µSv/h.
		if mean := farDose / float64(far); mean < BackgroundMin-0.01 || mean > BackgroundMax+0.01 {
			t.Errorf("seed %d: mean dose far from the source %.3f µSv/h, want background", seed, mean)
		}
	}
}

func TestZones(t *testing.T) {
	l := DefaultLayout()
	mon, ok := l.Zone("monitoring")
	if !ok || !mon.Contains(l.Sources[0].Pos) {
		t.Fatal("the monitoring zone must surround the hidden source")
	}
	res, ok := l.Zone("restricted")
	if !ok {
		t.Fatal("no restricted zone")
	}
	// Only the customs loop drives through the restricted yard.
	for _, r := range l.Routes {
		entered := false
		for d := 0.0; d < r.Length(); d += 5 {
			at, _ := r.At(d)
			entered = entered || res.Contains(l.Frame.LonLat(at))
		}
		if entered != (r.Name == "Customs loop") {
			t.Errorf("route %q enters the restricted zone: %v", r.Name, entered)
		}
	}
	b, err := res.MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	want := `{"geometry":{"coordinates":[[[`
	if string(b[:len(want)]) != want {
		t.Errorf("feature JSON: %s", b)
	}
}

func TestRouteGeometry(t *testing.T) {
	r, err := NewRoute("square", []XY{{0, 0}, {100, 0}, {100, 100}, {0, 100}})
	if err != nil {
		t.Fatal(err)
	}
	if r.Length() != 400 {
		t.Fatalf("length %v", r.Length())
	}
	for _, c := range []struct {
		d       float64
		at      XY
		heading float64
	}{
		{0, XY{0, 0}, 90}, {50, XY{50, 0}, 90}, {150, XY{100, 50}, 0}, {450, XY{50, 0}, 90}, {-50, XY{0, 50}, 180},
	} {
		at, h := r.At(c.d)
		if math.Abs(at.X-c.at.X) > 1e-9 || math.Abs(at.Y-c.at.Y) > 1e-9 || h != c.heading {
			t.Errorf("At(%v) = %v heading %v, want %v heading %v", c.d, at, h, c.at, c.heading)
		}
	}
	// The next waypoint is always ahead and never more than a segment away,
	// also at lap boundaries where rounding could slip a lap.
	for _, d := range []float64{0, 100, 399.99999999999994, 400, 1e6, 1e6 + 1e-9, 123456.789} {
		at, _ := r.nextWaypoint(d)
		if !(at > d) || at-d > 100 {
			t.Errorf("nextWaypoint(%v) = %v", d, at)
		}
	}
	if _, err := NewRoute("bad", []XY{{0, 0}, {0, 0}, {1, 1}}); err == nil {
		t.Error("coinciding waypoints accepted")
	}
}
