package localize

import "math"

// A road's background can change from one section to the next (asphalt
// to soil, a wall, a bridge) within a pass. The correlated excess
// (corr.go) reads such a step as a slow wander of the background, large
// enough to mimic the source: the race-track file's whole drive, one
// constant background over two sections ~350 cps apart, lost its
// source's significance that way (TS / scale 16–18). Where the fit is
// whitened each pass's background may therefore step once, b + δ·[after
// the step], δ a parameter like b: at the reading where the Poisson
// fit's residuals change their level most, |difference of the two
// sides' means|·√(n₁·n₂/n), kept when that difference is minStepZ
// standard errors under Poisson plus the excess estimated with the step
// (its long-run variance).
//
// Each side must hold minStepReadings: over fewer, a change of level is
// a hump, which only the excess can tell from a source (on the eval's
// ±26-s NaI passes, 49 readings, steps at ≥ 10 readings a side cost
// coverage: 94.5 → 89.5 % at 50 m, 10 GBq, 79.5 → 73.5 % at 50 m, 100
// MBq, and the error of 3 passes, 3.9 → 4.9 m).

// minStepReadings: readings a step leaves on each side of it.
const minStepReadings = 30

// minStepZ: a step is kept at this many standard errors (its position
// is searched for, so well above 2).
const minStepZ = 4

func (f *fitter) hasStep(v int) bool { return f.step != nil && f.step[v] }

// chooseSteps places each slot's step from the residuals at mode m
// where the whitened fit can follow (whitenable); false when it placed
// none.
func (f *fitter) chooseSteps(m Mode, order [][]int) bool {
	f.step, f.after, f.stepSize = nil, nil, nil
	if !f.whitenable() {
		return false
	}
	step := make([]bool, len(order))
	after := make([]bool, len(f.ps))
	size := make([][3]float64, len(order))
	placed := false
	for v, o := range order {
		n := len(o)
		if n < 2*minStepReadings {
			continue
		}
		r := make([]float64, n+1) // prefix sums of the residuals, cps
		for k, i := range o {
			p := &f.ps[i]
			lam := p.t*f.b[i] + p.te*m.Strength*gOnly(p, m.X, m.Y, f.h, f.mu)
			r[k+1] = r[k] + (p.c-lam)/p.t
		}
		best, at := 0.0, -1
		for c := minStepReadings; c <= n-minStepReadings; c++ {
			n1, n2 := float64(c), float64(n-c)
			d := (r[n]-r[c])/n2 - r[c]/n1
			if s := math.Abs(d) * math.Sqrt(n1*n2/float64(n)); s > best {
				best, at = s, c
			}
		}
		if at < 0 {
			continue
		}
		step[v], placed = true, true
		for _, i := range o[at:] {
			after[i] = true
		}
		n1, n2 := float64(at), float64(n-at)
		size[v] = [3]float64{(r[n]-r[at])/n2 - r[at]/n1, n1, n2}
	}
	if placed {
		f.step, f.after, f.stepSize = step, after, size
	}
	return placed
}

// keepSignificantSteps drops the steps smaller than minStepZ standard
// errors under Poisson plus the excess acov (estimated with the steps),
// and reports whether it dropped any.
func (f *fitter) keepSignificantSteps(order [][]int, acov [][]float64) bool {
	dropped := false
	for v, o := range order {
		if !f.hasStep(v) {
			continue
		}
		var rate float64
		for _, i := range o {
			rate += f.b[i]
		}
		rate /= float64(len(o))
		d, n1, n2 := f.stepSize[v][0], f.stepSize[v][1], f.stepSize[v][2]
		if z := math.Abs(d) / math.Sqrt((rate+longRun(acov[v]))*(1/n1+1/n2)); z < minStepZ {
			f.step[v] = false
			for _, i := range o {
				f.after[i] = false
			}
			dropped = true
		}
	}
	return dropped
}

// longRun is an AR(1) autocovariance's long-run variance σ²·(1 + ρ)/(1 −
// ρ), cps², 0 for none.
func longRun(c []float64) float64 {
	if len(c) < 2 || !(c[0] > 0) {
		return 0
	}
	r := c[1] / c[0]
	return c[0] * (1 + r) / (1 - r)
}
