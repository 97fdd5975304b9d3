package localize

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/radtrack/radtrack/sim"
)

// nai1s is a pass of 1-s readings at 10 m/s for ±30 s whose closest
// approach to the origin is d metres, with a background that climbs
// linearly along it (rate cps at the pass's middle, slope cps per second)
// and a source of strength a at the origin, drawn with rng.
func nai1s(d, rate, slope, a float64, rng *rand.Rand) []Reading {
	rs := pass(d, 30, 10, 1, 30, 0)
	for i, p := range prepare(rs) {
		mean := p.t*(rate+slope*rs[i].T) + p.te*a*gOnly(&p, 0, 0, DefaultHeightM, MuCs137Air)
		rs[i].Counts = float64(sim.Poisson(rng, mean))
	}
	return rs
}

// A 1-s detector's background that climbs along the pass (2 700 cps,
// +4 cps a second: 240 cps over the minute, as the race-track NaI's did)
// with no source: one constant background per pass reads the climb as a
// far source and calls it significant; with Config.BackgroundTrend it is
// not.
func TestBackgroundRampAloneIsNotASource(t *testing.T) {
	const n = 10
	constSig := 0
	for seed := range uint64(n) {
		rs := nai1s(40, 2700, 4, 0, rand.New(rand.NewPCG(21, seed)))
		est, err := Fit(rs, Config{BackgroundTrend: true})
		if err != nil {
			t.Fatal(err)
		}
		if est.Significant() {
			t.Errorf("seed %d: ramp without a source significant: TS %.1f, dispersion %.2f, slope %.2f cps/s", seed, est.TS, est.Dispersion, est.Trends[0].Slope)
		}
		if s := est.Trends[0].Slope; math.Abs(s-4) > 1 {
			t.Errorf("seed %d: slope %.2f cps/s, drawn with 4", seed, s)
		}
		old, err := Fit(rs, Config{})
		if err != nil {
			t.Fatal(err)
		}
		if old.Significant() {
			constSig++
		}
	}
	// Without the trend the test has no teeth: the constant background
	// must fail it.
	if constSig < n/2 {
		t.Errorf("constant background: %d of %d ramps significant; the ramp is too gentle to test the trend", constSig, n)
	}
	t.Logf("constant background: %d of %d ramps significant", constSig, n)
}

// With Config.BackgroundTrend a source on the ramp (about 400 cps at 20 m
// over 2 700) is found near where it is, and the 95 % region covers it
// about as often as it says.
func TestSourceOnARampIsFoundAndCovered(t *testing.T) {
	const n = 40
	covered, covConst := 0, 0
	var errs []float64
	for seed := range uint64(n) {
		rs := nai1s(20, 2700, 4, 2e5, rand.New(rand.NewPCG(22, seed)))
		est, err := Fit(rs, Config{BackgroundTrend: true})
		if err != nil {
			t.Fatal(err)
		}
		if !est.Significant() {
			t.Errorf("seed %d: source not significant: TS %.1f", seed, est.TS)
		}
		best := math.Hypot(est.X, est.Y)
		for _, m := range est.Alternatives {
			best = min(best, math.Hypot(m.X, m.Y)) // the mirror across the road
		}
		errs = append(errs, best)
		if est.InRegion(0, 0) {
			covered++
		}
		old, err := Fit(rs, Config{})
		if err != nil {
			t.Fatal(err)
		}
		if old.InRegion(0, 0) {
			covConst++
		}
	}
	med := median(errs)
	t.Logf("median error %.1f m, coverage %d/%d (constant background %d/%d)", med, covered, n, covConst, n)
	if med > 0.3*20 {
		t.Errorf("median error %.1f m, more than 30 %% of 20 m", med)
	}
	// Binomial(40, 0.95): sd 3.4 %; 85 % is 3 sd under.
	if float64(covered) < 0.85*n {
		t.Errorf("coverage %d/%d", covered, n)
	}
}

// Every unknown the fit estimates can only widen the bound: known
// backgrounds (CRB) ≤ unknown rates ≤ unknown rates and trends.
func TestModelCRBCountsTheBackgroundsAsUnknown(t *testing.T) {
	rs := nai1s(30, 2700, 4, 2e5, rand.New(rand.NewPCG(23, 1)))
	rs = append(rs, pass(-45, 100, 10, 1, 30, 1)...)
	bkg := map[int]float64{0: 2700, 1: 2500}
	tr := map[int]Trend{0: {Rate: 2700, Slope: 4}, 1: {Rate: 2500}}
	_, known, ok1 := CRB(rs, bkg, 0, 0, 2e5, Config{})
	_, rates, ok2 := ModelCRB(rs, tr, 0, 0, 2e5, Config{})
	_, trends, ok3 := ModelCRB(rs, tr, 0, 0, 2e5, Config{BackgroundTrend: true})
	if !ok1 || !ok2 || !ok3 {
		t.Fatalf("bounds not finite: %v %v %v", ok1, ok2, ok3)
	}
	t.Logf("CRB known %.3f m, rates unknown %.3f m, trends unknown %.3f m", known, rates, trends)
	if !(known <= rates*(1+1e-9) && rates <= trends*(1+1e-9)) {
		t.Errorf("bounds out of order: known %.4f, rates %.4f, trends %.4f", known, rates, trends)
	}
}
