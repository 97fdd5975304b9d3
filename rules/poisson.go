package rules

import "math"

// logPoissonTail returns ln P(X ≥ k) for X ~ Poisson(λ).
//
// P(X ≥ k) equals the regularised lower incomplete gamma function P(k, λ),
// which is also defined for non-integer k. Working in log space keeps the
// tiny probabilities of a real source (1e-50 and far below) finite and
// comparable, where 1 − Σ pmf would round to 0 or lose every digit.
func logPoissonTail(k, lambda float64) float64 {
	switch {
	case k <= 0:
		return 0 // P(X ≥ 0) = 1
	case lambda <= 0:
		return math.Inf(-1)
	case lambda < k+1:
		return logGammaPSeries(k, lambda)
	default:
		// Here P(k, λ) is at least about one half, so 1 − Q loses nothing.
		return math.Log1p(-gammaQContinuedFraction(k, lambda))
	}
}

// logPoissonCDF returns ln P(X ≤ k) for X ~ Poisson(λ), k ≥ 0: the
// regularised upper incomplete gamma function Q(k+1, λ), in log space for
// the same reason as logPoissonTail.
func logPoissonCDF(k, lambda float64) float64 {
	switch {
	case k < 0:
		return math.Inf(-1)
	case lambda <= 0:
		return 0 // P(X ≤ k) = 1 when X is always 0
	case lambda < k+2:
		// Here P(k+1, λ) is at most about one half, so 1 − P loses nothing.
		return math.Log1p(-math.Exp(logGammaPSeries(k+1, lambda)))
	default:
		return logGammaQContinuedFraction(k+1, lambda)
	}
}

// maxGammaIterations bounds both expansions; both need O(√a) terms when x
// is close to a, so the bound scales with √a.
func maxGammaIterations(a float64) int { return 100 + int(20*math.Sqrt(a)) }

// logGammaPSeries evaluates ln P(a, x) by its power series, which converges
// quickly for x < a+1:
//
//	P(a, x) = x^a e^-x / Γ(a+1) · Σ_{n≥0} x^n / ((a+1)(a+2)…(a+n))
func logGammaPSeries(a, x float64) float64 {
	term, sum := 1.0, 1.0
	for n, limit := 1, maxGammaIterations(a); n <= limit; n++ {
		term *= x / (a + float64(n))
		sum += term
		if term < sum*1e-17 {
			break
		}
	}
	lgA1, _ := math.Lgamma(a + 1)
	return a*math.Log(x) - x - lgA1 + math.Log(sum)
}

// gammaQContinuedFraction evaluates Q(a, x) = 1 − P(a, x) by its continued
// fraction (modified Lentz), which converges quickly for x ≥ a+1.
func gammaQContinuedFraction(a, x float64) float64 {
	return math.Exp(logGammaQContinuedFraction(a, x))
}

// logGammaQContinuedFraction is ln Q(a, x) by the continued fraction.
func logGammaQContinuedFraction(a, x float64) float64 {
	const tiny = 1e-300
	b := x + 1 - a
	c := 1 / tiny
	d := 1 / b
	h := d
	for i, limit := 1, maxGammaIterations(a); i <= limit; i++ {
		an := -float64(i) * (float64(i) - a)
		b += 2
		d = an*d + b
		if math.Abs(d) < tiny {
			d = tiny
		}
		c = b + an/c
		if math.Abs(c) < tiny {
			c = tiny
		}
		d = 1 / d
		delta := d * c
		h *= delta
		if math.Abs(delta-1) < 1e-16 {
			break
		}
	}
	lgA, _ := math.Lgamma(a)
	return a*math.Log(x) - x - lgA + math.Log(h)
}

// tailAtLeastHalf documents the shortcut in observeCounts: for X ~
// Poisson(λ) the median ν satisfies λ − ln 2 ≤ ν (Choi, "Medians of gamma
// distributions and an equation of Ramanujan", Proc. AMS 121, 1994), and
// P(X ≥ ν) ≥ ½ by definition of a median; so for an integer
// j ≤ λ − ln 2, P(X ≥ j) ≥ ½, and for k ≤ j, P(k, λ) ≥ P(j, λ) (the
// regularised lower incomplete gamma falls as k grows). Tested against
// logPoissonTail in poisson_test.go.
func tailAtLeastHalf(k, lambda float64) bool { return k <= math.Floor(lambda-math.Ln2) }

// chernoffLogTail is an upper bound of logPoissonTail(k, λ) for k > λ > 0:
// ln P(X ≥ k) ≤ k − λ − k·ln(k/λ), the Chernoff bound (minimise
// E[e^{tX}]·e^{−tk} over t); for non-integer k the same bound holds for
// the gamma form P(k, λ) (the lower tail of a Gamma(k) variable). Cheap:
// one logarithm, where the exact tail sums a series.
func chernoffLogTail(k, lambda float64) float64 { return k - lambda - k*math.Log(k/lambda) }
