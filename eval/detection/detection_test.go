package detection

import (
	"bytes"
	"context"
	"image/png"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/radtrack/radtrack/internal/testutil"
	"github.com/radtrack/radtrack/rules"
	"github.com/radtrack/radtrack/sample"
	"github.com/radtrack/radtrack/sim"
)

var t0 = time.Date(2026, 3, 1, 8, 0, 0, 0, time.UTC)

// syntheticTrack is a bGeigie-like log: 5-s readings of Poisson(mean)
// counts with CPM the sum of the last twelve, dose from FillDose.
func syntheticTrack(n int, mean float64, seed uint64) Track {
	rng := rand.New(rand.NewPCG(seed, 7))
	t := Track{Name: "synthetic", Format: "bgeigie", CPMPerUSvH: sample.DefaultCPMPerUSvH, Counting: true}
	var last []float64
	for i := range n {
		s := sample.New()
		s.DeviceID, s.Time = 1, t0.Add(time.Duration(i)*5*time.Second)
		s.ReceivedAt, s.Lon, s.Lat, s.GPSValid = s.Time, 4.4, 51.9, true
		c := float64(sim.Poisson(rng, mean))
		last = append(last, c)
		if len(last) > 12 {
			last = last[1:]
		}
		var cpm float64
		for _, x := range last {
			cpm += x
		}
		s.Counts, s.CountInterval, s.CPM = c, 5, cpm
		s.FillDose(t.CPMPerUSvH)
		t.Samples = append(t.Samples, s)
		if i > 0 {
			t.Hours += 5.0 / 3600
		}
	}
	return t
}

// The real 21-h Zen log: one background onset (11 counts in 5 s at
// 2025-07-26 04:05:56 against a local mean of ≈ 3.4, p ≈ 7.6e-6 < 1e-5)
// and no level onset. Injecting a source of zero activity over the whole
// log changes nothing: the same onsets.
func TestZeroActivityReproducesTheReplay(t *testing.T) {
	tr, err := LoadFile(testutil.RadiationFile(t, "safecast_bgeigie-zen_BNRDD_5002_2025-07-25.log"))
	if err != nil {
		t.Fatal(err)
	}
	rep, err := ReplayTrack(tr, rules.DefaultRules())
	if err != nil {
		t.Fatal(err)
	}
	want := []Onset{{RuleID: 7, Time: time.Date(2025, 7, 26, 4, 5, 56, 0, time.UTC)}}
	if !slices.Equal(rep.Onsets, want) || rep.Rules[6].False != 1 {
		t.Fatalf("onsets %+v, want %+v", rep.Onsets, want)
	}
	zero := Inject(tr.Samples, Pass{Nuclide: Cs137, DistanceM: 5, SpeedMS: 10, At: tr.Samples[5000].Time}, tr.CPMPerUSvH, rand.New(rand.NewPCG(1, 2)), nil)
	got, err := runRules(zero, rules.DefaultRules())
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got, rep.Onsets) {
		t.Fatalf("zero activity: onsets %+v, want %+v", got, rep.Onsets)
	}
}

// Vehicle-hours and skipped files of the shared directory: the LA drive
// runs 01:51:08–04:10:08 without a gap (2.3167 h); the files without a
// usable time series are named with their reason.
func TestLoadDir(t *testing.T) {
	dir := testutil.RadiationFile(t, "")
	tracks, skipped, err := LoadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, tr := range tracks {
		names = append(names, tr.Name)
		if tr.Name == "safecast_bgeigie-mini_BMRDD_los-angeles_2012-05-23.LOG" &&
			(math.Abs(tr.Hours-(2*3600+19*60)/3600.0) > 1e-9 || !tr.Counting || len(tr.Samples) != 1701) {
			t.Errorf("LA: %v h, counting %v, %d samples", tr.Hours, tr.Counting, len(tr.Samples))
		}
	}
	wantNames := []string{"atomfast_walk_2025-07-19.csv", "safecast_bgeigie-mini_BMRDD_los-angeles_2012-05-23.LOG",
		"safecast_bgeigie-zen_BNRDD_5002_2025-07-25.log", "safecast_bgeigie_BGRDD_fukushima_2012-07-01.log"}
	if !slices.Equal(names, wantNames) || len(skipped) != 5 {
		t.Errorf("tracks %v, skipped %+v", names, skipped)
	}
}

// ExpectedCounts against the closed form without attenuation:
// ∫ ΓA/(d² + v²t²) dt = ΓA/(d·v)·[atan(v·t/d)] (µSv/h·s), × cal/60.
func TestExpectedCountsClosedForm(t *testing.T) {
	n := Nuclide{Name: "test", GammaH: 0.09}
	p := Pass{Nuclide: n, ActivityMBq: 1000, DistanceM: 10, SpeedMS: 5, At: t0}
	end := t0.Add(1500 * time.Millisecond)
	t1, t2 := -3.5, 1.5
	want := n.GammaH * 1000 / (10 * 5) * (math.Atan(5*t2/10) - math.Atan(5*t1/10)) * 334 / 60
	if got := p.ExpectedCounts(end, 5, 334); math.Abs(got-want) > 1e-8*want { // Simpson, 0.05-s steps
		t.Errorf("expected counts %v, want %v", got, want)
	}
}

// A huge source (1 TBq of Cs-137 at 5 m: ~3.6 mSv/h at closest approach)
// is detected by the rules and the ideal detector in every trial, while
// the vehicle approaches: at 10 m/s it reads ~1 µSv/h 150 m (15 s) before
// closest approach, so every alarm is raised before the reading after
// closest approach, and the median more than 10 s before it.
func TestHugeSourceIsAlwaysDetected(t *testing.T) {
	cfg := DefaultGrid()
	cfg.Nuclides, cfg.ActivitiesMBq, cfg.DistancesM, cfg.SpeedsMS = []Nuclide{Cs137}, []float64{0, 1e6}, []float64{5}, []float64{10}
	cfg.PassesPerTrack, cfg.IdealFAPerHour = 20, 0.1
	tr := syntheticTrack(2000, 3.4, 3)
	pts, err := RunGrid(context.Background(), []Track{tr}, cfg)
	if err != nil {
		t.Fatal(err)
	}
	zero, huge := pts[0], pts[1]
	if zero.Trials != 20 || zero.RulesDetected != 0 || zero.IdealDetected != 0 {
		t.Errorf("zero activity: %+v", zero)
	}
	if huge.Trials != 20 || huge.RulesDetected != 20 || huge.IdealDetected != 20 {
		t.Errorf("huge source: %+v", huge)
	}
	for _, tta := range huge.TimesToAlarm {
		if tta > 5 {
			t.Errorf("time to alarm %v s, want before the reading after closest approach", tta)
		}
	}
	if m := huge.MedianTimeToAlarm(); m > -10 {
		t.Errorf("median time to alarm %v s, want more than 10 s before closest approach", m)
	}
}

// The ideal detector's tail against the exact Poisson tail when one reading
// carries all the weight (the lattice case): P(X ≥ 13 | 3.4) = 5.707e-5
// (mpmath), and against simulation for a pass spread over several readings:
// scanning a synthetic background with the matched filter of a Cs-137 pass
// at 10 m and 5 m/s, the fraction of positions that alarm at pFA = 1e-3
// must lie within [0.6, 1.1] × pFA (measured 0.72: the continuity
// correction errs on the side of fewer alarms).
func TestIdealFalseAlarmRate(t *testing.T) {
	w := math.Log1p(10.0 / 3.4)
	if got := IdealTail(13*w, []float64{w}, []float64{3.4}); math.Abs(got-5.707378822e-5)/5.707378822e-5 > 0.15 {
		t.Errorf("one reading: tail %v, want 5.707e-5 within 15%%", got)
	} else {
		t.Logf("one reading: tail %v = %.3f × exact", got, got/5.707378822e-5)
	}
	p := Pass{Nuclide: Cs137, ActivityMBq: 2000, DistanceM: 10, SpeedMS: 5, At: t0}
	var s, b []float64
	for i := -6; i <= 6; i++ {
		s = append(s, p.ExpectedCounts(t0.Add(time.Duration(i)*5*time.Second+1300*time.Millisecond), 5, 334))
		b = append(b, 3.4)
	}
	rng := rand.New(rand.NewPCG(5, 5))
	const trials, pFA = 100_000, 1e-3
	alarms := 0
	c := make([]float64, len(s))
	for range trials {
		for i := range c {
			c[i] = float64(sim.Poisson(rng, 3.4))
		}
		stat, ws, bs := IdealStatistic(c, b, s)
		if IdealTail(stat, ws, bs) <= pFA {
			alarms++
		}
	}
	t.Logf("false-alarm fraction %v at pFA %v", float64(alarms)/trials, pFA)
	if rate := float64(alarms) / trials; rate < 0.6*pFA || rate > 1.1*pFA {
		t.Errorf("false-alarm fraction %v at pFA %v", rate, pFA)
	}
}

func TestActivity95Interpolates(t *testing.T) {
	curve := []Point{{ActivityMBq: 10, Trials: 100, RulesDetected: 50}, {ActivityMBq: 100, Trials: 100, RulesDetected: 90}, {ActivityMBq: 1000, Trials: 100, RulesDetected: 100}}
	// 0.95 lies half way between 0.90 and 1.00: √(100·1000).
	if got, want := Activity95(curve, Point.PRules), math.Sqrt(100*1000); math.Abs(got-want) > 1e-9 {
		t.Errorf("A95 %v, want %v", got, want)
	}
	if got := Activity95(curve[:2], Point.PRules); !math.IsInf(got, 1) {
		t.Errorf("never reached: %v", got)
	}
}

func TestWritePlot(t *testing.T) {
	cfg := DefaultGrid()
	cfg.ActivitiesMBq, cfg.SpeedsMS, cfg.PassesPerTrack = []float64{100, 1e4, 1e6}, []float64{10}, 1
	pts, err := RunGrid(context.Background(), []Track{syntheticTrack(400, 3.4, 4)}, cfg)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := WritePlot(&buf, Curves(pts)); err != nil {
		t.Fatal(err)
	}
	img, err := png.Decode(&buf)
	if err != nil {
		t.Fatal(err)
	}
	// 3 distances × (360 + 56) + 48 wide; 2 nuclides × (240 + 36 + 40) + 60 high.
	if b := img.Bounds(); b.Dx() != 3*416+48 || b.Dy() != 2*316+60 {
		t.Errorf("plot %v", b)
	}
}
