package rules

import (
	"math"
	"math/rand/v2"
	"testing"
)

const bgMean = 3.4 // counts per 5 s, the real log's background (design.md §6)

// runCounts feeds counts (one per 5 s) to e for device 1 from sample
// index start, returning all events and the count-sample index of each.
func runCounts(e *Engine, start int, counts []float64) (events []Event, index []int) {
	for i, k := range counts {
		for _, ev := range e.Evaluate(Input{Sample: countSample(1, at(start+i), k)}) {
			events = append(events, ev)
			index = append(index, start+i)
		}
	}
	return events, index
}

func poissonSeries(rng *rand.Rand, n int, lambda func(i int) float64) []float64 {
	out := make([]float64, n)
	for i := range out {
		out[i] = poisson(rng, lambda(i))
	}
	return out
}

func constant(v float64) func(int) float64 { return func(int) float64 { return v } }

func TestBackgroundQuietHourRaisesNothing(t *testing.T) {
	for seed := range uint64(10) {
		e := newEngine(t, backgroundRule(7))
		rng := rand.New(rand.NewPCG(seed, 1))
		if ev, _ := runCounts(e, 0, poissonSeries(rng, 720, constant(bgMean))); len(ev) != 0 {
			t.Errorf("seed %d: %d events in one hour of pure background, first %+v", seed, len(ev), ev[0])
		}
	}
}

func TestBackgroundHotspotRaisesOneEpisode(t *testing.T) {
	e := newEngine(t, backgroundRule(7))
	rng := rand.New(rand.NewPCG(42, 1))
	counts := poissonSeries(rng, 720, func(i int) float64 {
		if i >= 360 && i < 363 { // a source passed: 10× for three samples
			return 10 * bgMean
		}
		return bgMean
	})
	events, index := runCounts(e, 0, counts)
	n := countTypes(events)
	if n[EventRaised] != 1 || n[EventUpdated] != 2 || n[EventConditionEnded] != 1 || index[0] != 360 || index[3] != 363 {
		t.Fatalf("events %v at samples %v, want raised at 360, updated ×2, ended at 363", n, index)
	}
	ep := events[3].Episode
	peak := max(counts[360], counts[361], counts[362]) * 12 / 334 // FillDose: counts/5 s → CPM → µSv/h
	if ep.Samples != 3 || ep.PeakDose != peak || ep.Significance < 10 || ep.Kind != KindBackground {
		t.Errorf("episode %+v, want 3 samples, peak %v, significance ≥ 10", ep, peak)
	}
	// The hotspot was excluded from the background it was tested against.
	level := e.state(streamKey{device: 1}).backgrounds[0].est.counts.level() * 5
	if level < 0.8*bgMean || level > 1.2*bgMean {
		t.Errorf("background after the hotspot %.2f counts/5 s, want ≈ %.1f", level, bgMean)
	}
}

// A vehicle driving into an area with ×10 background over five minutes
// (the real log's rise near Fukushima) must not alarm.
func TestBackgroundFollowsAMovingVehicleRamp(t *testing.T) {
	for seed := range uint64(10) {
		e := newEngine(t, backgroundRule(7))
		rng := rand.New(rand.NewPCG(seed, 2))
		counts := poissonSeries(rng, 720, func(i int) float64 {
			return bgMean * math.Pow(10, min(1, max(0, float64(i-240)/60)))
		})
		if ev, idx := runCounts(e, 0, counts); len(ev) != 0 {
			t.Errorf("seed %d: %d events on a ×10 ramp over 5 min, first %s at sample %d", seed, len(ev), ev[0].Type, idx[0])
		}
	}
}

// A ×10 step is an anomaly; once it has lasted RebaselineS it becomes the
// new background: the condition ends, the alarm stays open.
func TestBackgroundStepRebaselines(t *testing.T) {
	e := newEngine(t, backgroundRule(7))
	rng := rand.New(rand.NewPCG(3, 3))
	counts := poissonSeries(rng, 720, func(i int) float64 {
		if i >= 240 {
			return 10 * bgMean
		}
		return bgMean
	})
	events, index := runCounts(e, 0, counts)
	n := countTypes(events)
	// RebaselineS 120 s = 24 samples of 5 s excluded, tested from sample 240.
	if n[EventRaised] != 1 || n[EventConditionEnded] != 1 || index[0] != 240 || index[len(index)-1] != 240+24 {
		t.Fatalf("events %v at samples %v", n, index)
	}
	if open := e.OpenEpisodes(); len(open) != 1 || open[0].State != StateRaised {
		t.Errorf("the alarm must stay open: %+v", open)
	}
}

func TestBackgroundWarmupAndStaleness(t *testing.T) {
	e := newEngine(t, backgroundRule(7))
	// Nothing is tested during the first 60 s of counting.
	if ev, _ := runCounts(e, 0, []float64{3, 4, 3, 2, 4, 3, 90, 4, 3, 4, 3, 4}); len(ev) != 0 {
		t.Fatalf("alarm during warm-up: %+v", ev)
	}
	if ev, _ := runCounts(e, 12, []float64{60}); len(ev) != 1 || ev[0].Type != EventRaised {
		t.Fatalf("after warm-up a hot interval must alarm: %+v", ev)
	}
	// After a gap longer than 5 τ the vehicle may be anywhere: warm up again.
	e2 := newEngine(t, backgroundRule(7))
	runCounts(e2, 0, []float64{3, 4, 3, 2, 4, 3, 3, 4, 3, 4, 3, 4, 3})
	if ev, _ := runCounts(e2, 13+60, []float64{40, 38, 41}); len(ev) != 0 {
		t.Fatalf("stale background used after a 5 min gap: %+v", ev)
	}
}

func TestBackgroundLateSamplesDoNotFeedIt(t *testing.T) {
	e := newEngine(t, backgroundRule(7))
	runCounts(e, 100, []float64{3, 4, 3, 2, 4, 3, 3, 4, 3, 4, 3, 4, 3})
	before := e.state(streamKey{device: 1}).backgrounds[0].est.counts
	if ev, _ := runCounts(e, 50, []float64{500}); ev != nil {
		t.Fatalf("late interval was tested: %+v", ev)
	}
	if after := e.state(streamKey{device: 1}).backgrounds[0].est.counts; after != before {
		t.Errorf("late interval changed the background: %+v → %+v", before, after)
	}
}

func TestBackgroundDoseFallback(t *testing.T) {
	e := newEngine(t, backgroundRule(7))
	var events []Event
	for i := range 200 {
		dose := 0.08 + 0.01*float64(i%3) // a dose-only device, no counts
		if i == 150 || i == 151 {
			dose = 0.5
		}
		events = append(events, e.Evaluate(Input{Sample: doseSample(1, at(i), dose, 4.4, 51.2)})...)
	}
	n := countTypes(events)
	if n[EventRaised] != 1 || n[EventUpdated] != 1 || n[EventConditionEnded] != 1 {
		t.Fatalf("events %v", n)
	}
	if ep := events[1].Episode; ep.PeakDose != 0.5 || ep.Samples != 2 || ep.Significance != 0 || !ep.FirstSeen.Equal(at(150)) {
		t.Errorf("episode %+v", ep)
	}
}

// The statistics behind the defaults, over many simulated device-hours;
// the numbers are logged for the record (go test -v -run Statistics).
func TestBackgroundStatistics(t *testing.T) {
	if testing.Short() {
		t.Skip("statistical characterisation")
	}
	raisedIn := func(seed uint64, n int, lambda func(int) float64, from int) bool {
		e := newEngine(t, backgroundRule(7))
		ev, idx := runCounts(e, 0, poissonSeries(rand.New(rand.NewPCG(seed, 5)), n, lambda))
		for i := range ev {
			if ev[i].Type == EventRaised && idx[i] >= from {
				return true
			}
		}
		return false
	}
	falseAlarms := 0
	const hours = 500
	for seed := range uint64(hours) {
		if raisedIn(seed, 720, constant(bgMean), 0) {
			falseAlarms++
		}
	}
	// p = 1e-5 per 5 s interval alone gives ≈ 720·1e-5·(discreteness ≈ 0.3)
	// ≈ 0.2 % per hour even with a perfect background.
	if falseAlarms > 5 {
		t.Errorf("%d false alarms in %d device-hours", falseAlarms, hours)
	}
	t.Logf("pure background: %d false alarms in %d device-hours", falseAlarms, hours)
	for _, minutes := range []float64{1, 2, 5} {
		hit := 0
		for seed := range uint64(50) {
			if raisedIn(seed, 480, func(i int) float64 {
				return bgMean * math.Pow(10, min(1, max(0, float64(i-240)/(12*minutes))))
			}, 0) {
				hit++
			}
		}
		t.Logf("×10 background ramp over %v min: %d/50 runs alarmed", minutes, hit)
	}
	for _, factor := range []float64{3, 4, 5, 10} {
		hit := 0
		for seed := range uint64(200) {
			if raisedIn(seed, 366, func(i int) float64 {
				if i >= 360 && i < 363 {
					return factor * bgMean
				}
				return bgMean
			}, 360) {
				hit++
			}
		}
		t.Logf("3-sample hotspot ×%v: detected in %d/200 runs", factor, hit)
		if factor == 10 && hit != 200 {
			t.Errorf("a ×10 hotspot was missed")
		}
	}
}
