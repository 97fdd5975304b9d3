package sim

import (
	"math"
	"math/rand/v2"
	"testing"
)

func TestPoissonMeanAndVariance(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	const n = 200_000
	// Both regimes (inversion below 10, PTRS from 10) and the boundary.
	for _, lambda := range []float64{0.05, 0.95, 3.4, 9.99, 10, 27, 150, 5000} {
		var sum, sumSq float64
		for range n {
			k := float64(Poisson(rng, lambda))
			sum += k
			sumSq += k * k
		}
		mean := sum / n
		variance := sumSq/n - mean*mean
		// Five standard errors: the mean's is sqrt(λ/n), the sample
		// variance's sqrt((λ + 2λ²)/n) for a Poisson variable.
		if tol := 5 * math.Sqrt(lambda/n); math.Abs(mean-lambda) > tol {
			t.Errorf("λ=%v: mean %.4f, want within %.4f", lambda, mean, tol)
		}
		if tol := 5 * math.Sqrt((lambda+2*lambda*lambda)/n); math.Abs(variance-lambda) > tol {
			t.Errorf("λ=%v: variance %.4f, want within %.4f", lambda, variance, tol)
		}
	}
}

func TestPoissonDistributionShape(t *testing.T) {
	// Frequencies against the exact pmf for the real log's 5 s background
	// mean (design.md §6: 3.40) and for a mean in the PTRS regime.
	for _, lambda := range []float64{3.4, 20} {
		rng := rand.New(rand.NewPCG(7, uint64(lambda)))
		const n = 200_000
		counts := map[int]int{}
		for range n {
			counts[Poisson(rng, lambda)]++
		}
		for k := 0; k <= int(3*lambda); k++ {
			lg, _ := math.Lgamma(float64(k) + 1)
			p := math.Exp(-lambda + float64(k)*math.Log(lambda) - lg)
			got := float64(counts[k]) / n
			if tol := 5*math.Sqrt(p*(1-p)/n) + 1e-4; math.Abs(got-p) > tol {
				t.Errorf("λ=%v: P(%d) = %.5f, want %.5f ± %.5f", lambda, k, got, p, tol)
			}
		}
	}
}

func TestPoissonDegenerate(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 1))
	for _, lambda := range []float64{0, -1, math.NaN()} {
		if k := Poisson(rng, lambda); k != 0 {
			t.Errorf("Poisson(%v) = %d, want 0", lambda, k)
		}
	}
}
