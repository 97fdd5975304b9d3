package sim

import (
	"math"
	"math/rand/v2"
)

// Poisson draws a Poisson-distributed count of mean lambda. Small means use
// inversion by sequential search (exact, and cheap while e^-λ is not tiny);
// larger means use Hörmann's transformed rejection with squeeze (PTRS,
// 1993), whose cost does not grow with λ. A source passed at close range
// gives λ in the thousands per interval, so both regimes occur.
func Poisson(rng *rand.Rand, lambda float64) int {
	switch {
	case !(lambda > 0): // also NaN
		return 0
	case lambda < 10:
		return poissonInversion(rng, lambda)
	default:
		return poissonPTRS(rng, lambda)
	}
}

func poissonInversion(rng *rand.Rand, lambda float64) int {
	u := rng.Float64()
	p := math.Exp(-lambda)
	cdf := p
	k := 0
	for u > cdf {
		k++
		p *= lambda / float64(k)
		cdf += p
		if p == 0 { // u beyond the representable tail: stop where the mass ends
			break
		}
	}
	return k
}

func poissonPTRS(rng *rand.Rand, lambda float64) int {
	slam := math.Sqrt(lambda)
	loglam := math.Log(lambda)
	b := 0.931 + 2.53*slam
	a := -0.059 + 0.02483*b
	invAlpha := 1.1239 + 1.1328/(b-3.4)
	vr := 0.9277 - 3.6224/(b-2)
	for {
		u := rng.Float64() - 0.5
		v := rng.Float64()
		us := 0.5 - math.Abs(u)
		k := math.Floor((2*a/us+b)*u + lambda + 0.43)
		if us >= 0.07 && v <= vr {
			return int(k)
		}
		if k < 0 || (us < 0.013 && v > us) {
			continue
		}
		lg, _ := math.Lgamma(k + 1)
		if math.Log(v)+math.Log(invAlpha)-math.Log(a/(us*us)+b) <= -lambda+k*loglam-lg {
			return int(k)
		}
	}
}
