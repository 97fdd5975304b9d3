package rules

import (
	"math"
	"math/rand/v2"
	"testing"
)

// Reference values computed with mpmath 1.3.0 at 50 digits:
//
//	mpmath.gammainc(k, 0, lam, regularized=True)   # = P(X ≥ k | lam)
func TestLogPoissonTailKnownValues(t *testing.T) {
	for _, c := range []struct {
		k, lambda float64
		want      float64 // P(X ≥ k), or ln P when log is set
		log       bool
	}{
		{k: 10, lambda: 3.4, want: 0.0027087327498798010412},
		{k: 13, lambda: 3.4, want: 5.707378822e-5},
		{k: 15, lambda: 3.4, want: 3.027536545e-6},
		{k: 1, lambda: 1e-9, want: 9.9999999950000006245e-10},
		{k: 1e6, lambda: 1e6, want: 0.50013298076087259124},
		{k: 34, lambda: 3.4, want: -50.270589589491828209, log: true},
		{k: 1000, lambda: 3.4, want: -4691.7493444926906209, log: true},
		{k: 1e6, lambda: 9e5, want: -5366.0398566076870475, log: true},
	} {
		got := logPoissonTail(c.k, c.lambda)
		if !c.log {
			got = math.Exp(got)
		}
		if rel := math.Abs(got-c.want) / math.Abs(c.want); rel > 1e-9 {
			t.Errorf("P(X ≥ %g | λ=%g): got %.17g want %.17g (rel err %.2g, log=%v)", c.k, c.lambda, got, c.want, rel, c.log)
		}
	}
}

func TestLogPoissonTailEdges(t *testing.T) {
	if got := logPoissonTail(0, 3.4); got != 0 {
		t.Errorf("P(X ≥ 0) = e^%g, want 1", got)
	}
	if got := logPoissonTail(1, 0); !math.IsInf(got, -1) {
		t.Errorf("P(X ≥ 1 | λ=0) = e^%g, want 0", got)
	}
	if got := logPoissonTail(1e9, 1); math.IsInf(got, 0) || math.IsNaN(got) || got > -1e10 {
		t.Errorf("huge k: ln P = %g, want a finite, very negative number", got)
	}
	if got := logPoissonTail(3, 1e7); got > 0 || got < -1e-300 {
		t.Errorf("huge λ, small k: ln P = %g, want ≈ 0", got)
	}
}

// Against direct summation of the probability mass function over the upper
// tail (all terms positive, so the sum is accurate where 1 − Σ is not).
func TestLogPoissonTailMatchesSummation(t *testing.T) {
	for _, lambda := range []float64{0.05, 0.5, 1, 3.4, 7.9, 20, 55.5, 100} {
		for k := 1; k <= 80; k++ {
			maxTerm := math.Inf(-1)
			var terms []float64
			for i := k; i < k+2000; i++ {
				lg, _ := math.Lgamma(float64(i) + 1)
				lt := float64(i)*math.Log(lambda) - lambda - lg
				terms = append(terms, lt)
				maxTerm = math.Max(maxTerm, lt)
			}
			var sum float64
			for _, lt := range terms {
				sum += math.Exp(lt - maxTerm)
			}
			want := maxTerm + math.Log(sum)
			got := logPoissonTail(float64(k), lambda)
			if math.Abs(got-want) > 1e-10*math.Max(1, math.Abs(want)) {
				t.Fatalf("ln P(X ≥ %d | λ=%g): got %.15g want %.15g", k, lambda, got, want)
			}
		}
	}
}

// The shortcut of observeCounts: wherever tailAtLeastHalf holds, the
// exact tail is at least one half.
func TestTailAtLeastHalf(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 11))
	checked := 0
	for range 200_000 {
		lambda := math.Exp(rng.Float64()*12 - 3) // 0.05 … 8 000
		k := math.Floor(rng.Float64() * 2 * lambda)
		if rng.IntN(4) == 0 {
			k += rng.Float64() // non-integer counts too (the gamma form)
		}
		if !tailAtLeastHalf(k, lambda) {
			continue
		}
		checked++
		if lp := logPoissonTail(k, lambda); lp < -math.Ln2-1e-9 {
			t.Fatalf("k %v λ %v: ln P(X ≥ k) = %v < ln ½", k, lambda, lp)
		}
	}
	// Near the bound, where it is tightest.
	for lambda := 0.7; lambda < 3000; lambda *= 1.01 {
		k := math.Floor(lambda - math.Ln2)
		checked++
		if lp := logPoissonTail(k, lambda); lp < -math.Ln2-1e-9 {
			t.Fatalf("k %v λ %v: ln P(X ≥ k) = %v < ln ½", k, lambda, lp)
		}
	}
	if checked < 50_000 {
		t.Fatalf("only %d cases checked", checked)
	}
}

// The Chernoff bound never claims a smaller tail than the exact one, and
// is tight enough far above λ to settle a level test by itself.
func TestChernoffLogTailBoundsTheTail(t *testing.T) {
	rng := rand.New(rand.NewPCG(12, 12))
	settled := 0
	for range 200_000 {
		lambda := math.Exp(rng.Float64()*10 - 3) // 0.05 … 1 100
		k := lambda * (1 + rng.Float64()*20)
		if rng.IntN(2) == 0 {
			k = math.Ceil(k)
		}
		if k <= lambda {
			continue
		}
		exact, bound := logPoissonTail(k, lambda), chernoffLogTail(k, lambda)
		if bound < exact-1e-9*math.Max(1, -exact) {
			t.Fatalf("k %v λ %v: bound %v below the exact %v", k, lambda, bound, exact)
		}
		if bound < logLevelAlpha {
			settled++
		}
	}
	if settled < 10_000 {
		t.Fatalf("the bound settled only %d cases", settled)
	}
}
