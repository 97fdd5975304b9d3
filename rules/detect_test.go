package rules

import (
	"math/rand/v2"
	"testing"
	"time"

	"github.com/radtrack/radtrack/sample"
)

// Tail probabilities below from mpmath 1.3.0 (gammainc, regularised); the
// notice level 0.5 µSv/h at 334 CPM per µSv/h is λ = 13.9167 counts per
// 5 s, and each of the four windows gets α = 1e-3/4 = 2.5e-4.

// Counting noise alone never raises a level: 100 000 five-second readings
// (139 h) of a 0.12 µSv/h background. The single-reading rule this
// replaced raised the notice whenever 14 counts fell in 5 s
// (P(X ≥ 14 | 3.4) = 2.0e-5 per reading: ≈ 2 per 100 000).
func TestBackgroundNoiseRaisesNoLevel(t *testing.T) {
	e := newEngine(t, DefaultRules()[:4]...)
	rng := rand.New(rand.NewPCG(13, 1))
	for i := range 100_000 {
		if ev := e.Evaluate(Input{Sample: countSample(1, at(i), poisson(rng, 3.4))}); ev != nil {
			t.Fatalf("reading %d (%v counts) raised %+v", i, ev[0].Episode.PeakDose, ev)
		}
	}
}

// One 5-s reading after a quiet history: P(X ≥ 29 | 13.9167) = 2.71e-4 is
// not below 2.5e-4, P(X ≥ 30) = 1.23e-4 is; the longer windows hold the
// quiet readings and say nothing.
func TestNoticeBoundaryOfOneReading(t *testing.T) {
	for _, c := range []struct {
		counts float64
		raised bool
	}{{29, false}, {30, true}} {
		e := newEngine(t, levelRule(1, 0.5))
		for i := range 20 {
			e.Evaluate(Input{Sample: countSample(1, at(i), 3)})
		}
		ev := e.Evaluate(Input{Sample: countSample(1, at(20), c.counts)})
		if got := len(ev) == 1 && ev[0].Type == EventRaised; got != c.raised {
			t.Errorf("%v counts: events %+v, want raised %v", c.counts, ev, c.raised)
		}
	}
}

// A very high reading is certain on its own: 150 µSv/h is 4 175 counts in
// 5 s where OIL2 allows λ = 2 783 (P = 3e-133); 2 900 counts (104 µSv/h)
// is within OIL2's noise (P = 0.014) but far over OIL3 and the notice.
func TestVeryHighReadingRaisesOnItsOwn(t *testing.T) {
	for _, c := range []struct {
		counts float64
		want   []int64
	}{{4175, []int64{1, 2, 3}}, {2900, []int64{1, 2}}} {
		e := newEngine(t, DefaultRules()[:4]...)
		var got []int64
		for _, ev := range e.Evaluate(Input{Sample: countSample(1, at(0), c.counts)}) {
			if ev.Type == EventRaised {
				got = append(got, ev.Key.RuleID)
			}
		}
		if len(got) != len(c.want) || (len(got) > 0 && (got[0] != c.want[0] || got[len(got)-1] != c.want[len(c.want)-1])) {
			t.Errorf("first reading of %v counts raised rules %v, want %v", c.counts, got, c.want)
		}
	}
}

// The condition ends only when the dose is confidently below the level:
// after a 60-count reading, background readings of 3 counts give
// P(X ≤ 3 | 13.9167) = 5.1e-4 in the 5-s window (not enough), and the 15-s
// window holds the 60 until the third of them, when P(X ≤ 9 | 41.75) =
// 9.9e-10 ends it. A dose sitting at the level never ends it.
func TestConditionEndsWhenConfidentlyBelow(t *testing.T) {
	e := newEngine(t, levelRule(1, 0.5))
	for i := range 12 {
		e.Evaluate(Input{Sample: countSample(1, at(i), 3)})
	}
	if ev := e.Evaluate(Input{Sample: countSample(1, at(12), 60)}); len(ev) != 1 || ev[0].Type != EventRaised {
		t.Fatalf("60 counts: %+v", ev)
	}
	for i := 13; i <= 14; i++ {
		if ev := e.Evaluate(Input{Sample: countSample(1, at(i), 3)}); ev != nil {
			t.Fatalf("reading %d ended too early: %+v", i, ev)
		}
	}
	if ev := e.Evaluate(Input{Sample: countSample(1, at(15), 3)}); len(ev) != 1 || ev[0].Type != EventConditionEnded {
		t.Fatalf("third background reading: %+v, want condition_ended", ev)
	}

	// At the level (14 counts per 5 s ≈ λ): neither above nor below, for 10 min.
	e = newEngine(t, levelRule(1, 0.5))
	e.Evaluate(Input{Sample: countSample(1, at(0), 60)})
	for i := 1; i <= 120; i++ {
		if ev := e.Evaluate(Input{Sample: countSample(1, at(i), 14)}); len(ev) != 0 && ev[0].Type != EventUpdated {
			t.Fatalf("reading %d at the level: %+v", i, ev)
		}
	}
	if ep := e.OpenEpisodes()[0]; !ep.ConditionActive {
		t.Errorf("condition ended at the level: %+v", ep)
	}
}

// Window sums over bGeigie readings 5 s apart with counts 1, 2, …, 13:
// 5 s holds the newest (13), 15 s the newest three, 30 s six, 60 s twelve.
func TestWindowSums(t *testing.T) {
	var h levelHistory
	var r levelReading
	for i := 1; i <= 13; i++ {
		s := countSample(1, at(i), float64(i))
		r = h.observe(&s, false)
	}
	want := []struct{ k, t float64 }{{13, 5}, {13 + 12 + 11, 15}, {13 + 12 + 11 + 10 + 9 + 8, 30}, {13*14/2 - 1, 60}}
	if r.nw != 4 {
		t.Fatalf("%d windows", r.nw)
	}
	for i, w := range want {
		if r.k[i] != w.k || r.t[i] != w.t {
			t.Errorf("window %d: %v counts in %v s, want %v in %v", i, r.k[i], r.t[i], w.k, w.t)
		}
	}
	// A device reporting the counts of the last 5 s every second: the
	// readings overlap, so only the newest is used (no count twice).
	h = levelHistory{}
	for i := range 30 {
		s := countSample(1, t0.Add(time.Duration(i)*time.Second), 10)
		r = h.observe(&s, false)
	}
	if r.nw != 1 || r.k[0] != 10 || r.t[0] != 5 {
		t.Errorf("overlapping readings: %d windows, %v counts in %v s", r.nw, r.k[0], r.t[0])
	}
	// A gap longer than LevelMaxGapS starts afresh.
	s := countSample(1, at(13).Add(2*time.Minute), 7)
	h = levelHistory{}
	for i := 1; i <= 13; i++ {
		x := countSample(1, at(i), float64(i))
		h.observe(&x, false)
	}
	if r = h.observe(&s, false); r.nw != 1 || r.k[0] != 7 {
		t.Errorf("after a gap: %d windows, %v counts", r.nw, r.k[0])
	}
}

// A dose the device computed itself with another calibration is judged on
// the dose (k-of-n), never on counts converted with ours.
func TestOwnDoseOfAnotherCalibrationUsesTheDosePath(t *testing.T) {
	e := newEngine(t, levelRule(1, 0.5))
	for i := range 3 {
		s := countSample(1, at(i), 200) // 200 counts: 7 µSv/h at 334 CPM/µSv/h
		s.DoseRate, s.CPMPerUSvH = 0.1, 0
		s.FillDose(sample.DefaultCPMPerUSvH) // keeps the device's 0.1
		if ev := e.Evaluate(Input{Sample: s}); ev != nil {
			t.Fatalf("reading %d: %+v", i, ev)
		}
	}
}
