package localize

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/radtrack/radtrack/sim"
)

// stepPass is a pass of 1-s readings at 10 m/s for ±75 s, closest to the
// origin at d metres, over a background of rate cps that steps by step
// cps at time at (a road section's change) plus an AR(1) excess (rho,
// sd cps), a source of strength a at the origin.
func stepPass(d, rate, step, at, rho, sd, a float64, rng *rand.Rand) []Reading {
	rs := pass(d, 30, 10, 1, 75, 0)
	x := sd * rng.NormFloat64()
	for i, p := range prepare(rs) {
		x = rho*x + sd*math.Sqrt(1-rho*rho)*rng.NormFloat64()
		b := rate + x
		if rs[i].T >= at {
			b += step
		}
		rs[i].Counts = float64(sim.Poisson(rng, max(p.t*b+p.te*a*gOnly(&p, 0, 0, DefaultHeightM, MuCs137Air), 0)))
	}
	return rs
}

// A background that steps by 350 cps 30 s before the source (as the
// race-track drive's two road sections did), under humps (AR(1), 0.8,
// 60 cps) and a source of ≈ 600 cps at 40 m: the step is found, and the
// source is significant and covered. Without the step (minStepZ
// unreachable) the excess read from it, σ ≈ 205 cps, hid the source:
// significant in none of 20, against 19 with it.
func TestBackgroundStepIsNotAnExcess(t *testing.T) {
	if testing.Short() {
		t.Skip("fits 20 passes")
	}
	const n = 20
	sig, covered, stepped := 0, 0, 0
	for seed := range uint64(n) {
		rs := stepPass(40, 2700, 350, -30, 0.8, 60, 1.4e6, rand.New(rand.NewPCG(31, seed)))
		est, err := Fit(rs, Config{})
		if err != nil {
			t.Fatal(err)
		}
		if est.Significant() {
			sig++
		}
		if est.InRegion(0, 0) {
			covered++
		}
		if est.f.hasStep(0) {
			stepped++
		}
		if seed < 3 {
			t.Logf("seed %d: error %.1f m (mirror resolved), TS %.1f, scale %.2f, whitened %v, step %v, excess σ %.0f cps", seed, resolved(est), est.TS, est.Scale(), est.Whitened, est.f.hasStep(0), math.Sqrt(est.Autocov[0][0]))
		}
	}
	t.Logf("step kept in %d, significant in %d, covered in %d of %d", stepped, sig, covered, n)
	if stepped < n-1 || sig < n-2 || covered < n-3 {
		t.Errorf("step kept in %d, significant in %d, covered in %d of %d", stepped, sig, covered, n)
	}
}

// The same humps without a step or a source: a step is seldom kept, and
// no source is significant.
func TestHumpsAreNotSteps(t *testing.T) {
	if testing.Short() {
		t.Skip("fits 40 passes")
	}
	const n = 40
	stepped, sig := 0, 0
	for seed := range uint64(n) {
		rs := stepPass(40, 2700, 0, 0, 0.8, 60, 0, rand.New(rand.NewPCG(32, seed)))
		est, err := Fit(rs, Config{})
		if err != nil {
			t.Fatal(err)
		}
		if est.f.hasStep(0) {
			stepped++
		}
		if est.Significant() {
			sig++
		}
	}
	t.Logf("no step, no source: a step kept in %d, significant %d of %d", stepped, sig, n)
	if stepped > n/10 || sig > 2 {
		t.Errorf("no step, no source: a step kept in %d, significant %d of %d", stepped, sig, n)
	}
}
