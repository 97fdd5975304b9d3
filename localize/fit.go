package localize

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"sort"
)

// Chi2Two95 is the 95 % quantile of χ² with 2 degrees of freedom.
const Chi2Two95 = 5.991

// chi2Two999 is its 99.9 % quantile.
const chi2Two999 = 13.82

// Config tunes a fit; zero fields take their defaults.
type Config struct {
	HeightM float64 // detector above source, DefaultHeightM
	Mu      float64 // air attenuation per metre, MuCs137Air
	// The (x, y) grid: a square of ±HalfWidthM around Center (or, without
	// HasCenter, around the end of the most significant reading) with
	// GridN points a side. The best local maxima of the grid are refined,
	// and the mirror image of the best across the nearest reading's path.
	Center     [2]float64
	HasCenter  bool
	HalfWidthM float64 // 250
	GridN      int     // 51
	// Background, if not nil, fixes each vehicle's background rate (cps);
	// otherwise Backgrounds estimates it from the readings.
	Background map[int]float64
	// BackgroundTrend lets each free background change linearly along its
	// pass (see Fit). Off by default: on the race-track NaI background it
	// did not help (README, "Source localisation").
	BackgroundTrend bool
	// Independent takes the readings as independent counts (the model
	// before corr.go): no excess estimated, no widening for it, no
	// whitening. For comparison, and for cutting a background's source
	// pass the same way whatever the fit.
	Independent bool
}

func (c Config) withDefaults() Config {
	if c.HeightM <= 0 {
		c.HeightM = DefaultHeightM
	}
	if c.Mu <= 0 {
		c.Mu = MuCs137Air
	}
	if c.HalfWidthM <= 0 {
		c.HalfWidthM = 250
	}
	if c.GridN < 3 {
		c.GridN = 31
	}
	return c
}

// Ellipse is a 95 % confidence ellipse of the position.
type Ellipse struct {
	SemiMajorM float64 `json:"semi_major_m"`
	SemiMinorM float64 `json:"semi_minor_m"`
	// AzimuthDeg is the direction of the major axis, degrees clockwise
	// from north, in [0, 180).
	AzimuthDeg float64 `json:"azimuth_deg"`
	// Cov is the (x, y) covariance, m² (east, north), A marginalised.
	Cov [2][2]float64 `json:"cov_m2"`
}

// Mode is one local maximum of the likelihood.
type Mode struct {
	X, Y     float64 // metres east, north
	Strength float64 // A, counts per second at 1 m
	LogL     float64
	// Ellipse is valid only when OK (the observed information is positive
	// definite there). Its axes are the observed information's; their
	// lengths come from the profile likelihood (profileEllipse). Wald is
	// the ellipse of the observed information alone.
	Ellipse Ellipse
	Wald    Ellipse
	OK      bool
	cov     [3][3]float64
	// rx, ry trace the boundary of the mode's part of the 95 %
	// profile-likelihood region (contour), counter-clockwise; empty
	// without an ellipse.
	rx, ry []float64
	bv     []float64 // the backgrounds at this mode, when free
}

// ContainsWald is Contains for the Wald ellipse.
func (m Mode) ContainsWald(x, y float64) bool {
	return m.OK && mahalanobis2(m.Wald.Cov, x-m.X, y-m.Y) <= Chi2Two95
}

// ContainsEllipse is Contains for the ellipse that summarises the region.
func (m Mode) ContainsEllipse(x, y float64) bool {
	return m.OK && mahalanobis2(m.Ellipse.Cov, x-m.X, y-m.Y) <= Chi2Two95
}

// Contains reports whether (x, y) lies in the mode's part of the 95 %
// region (inside its contour).
func (m Mode) Contains(x, y float64) bool {
	if !m.OK || len(m.rx) < 3 {
		return false
	}
	in := false
	for i, j := 0, len(m.rx)-1; i < len(m.rx); j, i = i, i+1 {
		if (m.ry[i] > y) != (m.ry[j] > y) && x < m.rx[j]+(y-m.ry[j])*(m.rx[i]-m.rx[j])/(m.ry[i]-m.ry[j]) {
			in = !in
		}
	}
	return in
}

// StrengthSE is the standard error of A (observed information).
func (m Mode) StrengthSE() float64 {
	if !m.OK {
		return math.NaN()
	}
	return math.Sqrt(m.cov[2][2])
}

// Estimate is a fit's result.
type Estimate struct {
	Mode
	// Alternatives are other maxima as likely as the best within the 95 %
	// level (log-likelihoods apart by less than 5.991/2 × Dispersion): the
	// mirror image across a straight pass. Ambiguous when any.
	Alternatives []Mode
	Ambiguous    bool
	// Dispersion is Pearson's χ²/(n − 3) at the best fit, at least 1:
	// how much more the counts scatter about the model than Poisson
	// (background that varies along the road, a profile the model does
	// not fit). Every covariance and ellipse is scaled by it, or by the
	// correlation's factor where larger (Scale; quasi-likelihood); with a
	// thousand counts a second the model's errors, not the counting,
	// bound the position.
	Dispersion float64
	// Correlation is the residuals' correlation along the passes as a
	// factor on the Poisson fit's region's level (corr.go: the 95 %
	// quantile of the likelihood ratio under the correlated excess, over
	// 5.991; 1 without correlation), CorrelationA its like for the
	// strength at the best position. Unwhitened, the region is scaled by
	// Scale() = max(Dispersion, Correlation), significance by
	// max(Scale(), CorrelationA).
	Correlation, CorrelationA float64
	// Autocov is each vehicle's (pass's) estimated excess autocovariance
	// of the background, cps² at lags of 0, 1, … readings (σ²·ρ^k); none
	// for a pass without an excess or with too few readings away from
	// the source.
	Autocov map[int][]float64
	// Whitened: the modes, region and TS are those of the whitened fit
	// (gls.go): LogL is −Q/2 there, Q the whitened residuals' sum of
	// squares.
	Whitened        bool
	scale, sigScale float64
	// TS is 2·(ln L(best) − ln L(A = 0)): the source's significance
	// (asymptotically χ² with 3 dof under "no source", loosely); whitened,
	// Q(A = 0) − Q(best).
	TS float64
	// Unbounded: "no source" lies within the 95 % level (TS ≤ 5.991 ×
	// Scale()). A = 0 fits equally well at every position, so every
	// position is in the region: the readings localise nothing, and the
	// modes' contours (traced where the likelihood rises) are not the
	// region. Without this a barely seen source's region was a contour
	// around wherever the noise peaked, and missed the truth far more
	// often than 5 % (eval localize, 1 pass at 50 m, 10 GBq).
	Unbounded bool
	// Background is each vehicle's (pass's) background rate, cps, at the
	// middle of its readings; Trends its change along the pass.
	Background map[int]float64
	Trends     map[int]Trend
	Readings   int
	Vehicles   int
	f          *fitter
}

// LR is the profile likelihood-ratio statistic of a source at (x, y),
// 2·(ln L(best) − max_A ln L(x, y, A)) / Scale(): (x, y) is in the 95 %
// profile-likelihood region when it is at most Chi2Two95.
func (e Estimate) LR(x, y float64) float64 {
	if e.f == nil {
		return math.Inf(1)
	}
	_, ll := e.f.profile(x, y, make([]float64, len(e.f.near)), true)
	return 2 * (e.LogL - ll) / e.Scale()
}

// Scale is what the region's level is multiplied by (at least 1):
// unwhitened, the dispersion or the correlation's factor, the larger;
// whitened, the whitened criterion's own dispersion, widened for the
// excess being estimated.
func (e Estimate) Scale() float64 { return max(e.scale, 1) }

// SignificanceScale is what TS is divided by (Significant): Scale or,
// unwhitened, the correlation's factor on the strength, the larger.
// Never below Scale, so a significant fit always has a bounded region.
func (e Estimate) SignificanceScale() float64 { return max(e.Scale(), e.sigScale) }

// Trend is one vehicle's (pass's) background along it: Rate + Slope·(T −
// Mid) cps, T the reading's time (Reading.T). Slope is 0 when it was not
// fitted (without Config.BackgroundTrend, backgrounds given, or readings
// without a spread of times).
type Trend struct{ Rate, Slope, Mid float64 }

// ErrNoReadings: nothing to fit.
var ErrNoReadings = errors.New("localize: no readings with counts and live time")

// Fit finds the maximum-likelihood point source for the readings.
func Fit(rs []Reading, cfg Config) (Estimate, error) {
	cfg = cfg.withDefaults()
	var clean []Reading
	for _, r := range rs {
		if r.Live > 0 && r.Counts >= 0 && finite(r.X0, r.Y0, r.X1, r.Y1, r.Counts, r.Live) {
			clean = append(clean, r)
		}
	}
	if len(clean) == 0 {
		return Estimate{}, ErrNoReadings
	}
	bkg := cfg.Background
	if bkg == nil {
		bkg = Backgrounds(clean)
	}
	ps := prepare(clean)
	b := make([]float64, len(ps))
	vehicles := map[int]bool{}
	for i, p := range ps {
		b[i] = bkg[p.veh]
		if !(b[i] > 0) {
			return Estimate{}, fmt.Errorf("localize: vehicle %d has no positive background", p.veh)
		}
		vehicles[p.veh] = true
	}
	f := &fitter{ps: ps, b: b, h: cfg.HeightM, mu: cfg.Mu}

	cx, cy := cfg.Center[0], cfg.Center[1]
	if !cfg.HasCenter {
		cx, cy = f.mostSignificant(clean)
	}
	// Readings too far from every grid point to see the source add the
	// same constant to every likelihood and are left out.
	reach := cfg.HalfWidthM*math.Sqrt2 + farM
	for i, r := range clean {
		if math.Hypot((r.X0+r.X1)/2-cx, (r.Y0+r.Y1)/2-cy)-math.Hypot(r.X1-r.X0, r.Y1-r.Y0)/2 < reach {
			f.near = append(f.near, i)
		}
	}
	// Each vehicle's background is a parameter too (unless given): held at
	// its estimate it is known better than it is, and the source's tail
	// read as background biases the fit and shrinks the region.
	f.free = cfg.Background == nil
	slot := map[int]int{}
	vehOf := []int{}
	f.vi = make([]int, len(ps))
	for i, p := range ps {
		v, ok := slot[p.veh]
		if !ok {
			v = len(vehOf)
			slot[p.veh] = v
			vehOf = append(vehOf, p.veh)
			f.bv = append(f.bv, bkg[p.veh], 0)
		}
		f.vi[i] = v
	}
	nv := len(vehOf)
	live := make([]float64, nv)
	for _, i := range f.near {
		live[f.vi[i]] += ps[i].t
	}
	f.bmin = make([]float64, nv)
	for v := range f.bmin {
		f.bmin[v] = min(0.5/max(live[v], 1e-9), f.bv[2*v]) // half a count: never impossible
	}
	// With BackgroundTrend a free background also changes linearly along
	// its pass, b0 + b1·(T − mid): the road's natural background (soil,
	// asphalt, walls) changes over hundreds of metres, and a detector
	// counting thousands a second sees that gradient as many σ; held
	// constant, the fit reads a ramp as a distant source
	// (TestBackgroundRampAloneIsNotASource). A straight line cannot mimic
	// a source's peak, whose width is about twice the distance. Mid is the
	// live-weighted mean time of the pass's near readings, so b0 is its
	// mean rate.
	mids := make([]float64, nv)
	f.tlo, f.thi = make([]float64, nv), make([]float64, nv)
	f.trend = make([]bool, nv)
	cnt := make([]int, nv)
	for _, i := range f.near {
		mids[f.vi[i]] += ps[i].t * clean[i].T
	}
	for v := range mids {
		mids[v] /= max(live[v], 1e-300)
	}
	f.tau = make([]float64, len(ps))
	for i := range ps {
		f.tau[i] = clean[i].T - mids[f.vi[i]]
	}
	for _, i := range f.near {
		v := f.vi[i]
		if cnt[v] == 0 {
			f.tlo[v], f.thi[v] = f.tau[i], f.tau[i]
		}
		cnt[v]++
		f.tlo[v], f.thi[v] = min(f.tlo[v], f.tau[i]), max(f.thi[v], f.tau[i])
	}
	for v := range f.trend {
		f.trend[v] = f.free && cfg.BackgroundTrend && cnt[v] >= minTrendReadings && f.thi[v]-f.tlo[v] > 1e-6
	}
	n := cfg.GridN
	step := 2 * cfg.HalfWidthM / float64(n-1)
	ll := make([]float64, n*n)
	as := make([]float64, n*n)
	tg := make([]float64, len(f.near))
	for iy := range n {
		for ix := range n {
			x, y := cx-cfg.HalfWidthM+float64(ix)*step, cy-cfg.HalfWidthM+float64(iy)*step
			as[iy*n+ix], ll[iy*n+ix] = f.profile(x, y, tg, false)
		}
	}
	// Local maxima of the grid, best first; refine the best few.
	type cand struct {
		i  int
		ll float64
	}
	var cands []cand
	for iy := range n {
		for ix := range n {
			v := ll[iy*n+ix]
			peak := true
			for dy := -1; dy <= 1 && peak; dy++ {
				for dx := -1; dx <= 1; dx++ {
					jx, jy := ix+dx, iy+dy
					if (dx != 0 || dy != 0) && jx >= 0 && jy >= 0 && jx < n && jy < n && ll[jy*n+jx] > v {
						peak = false
						break
					}
				}
			}
			if peak {
				cands = append(cands, cand{iy*n + ix, v})
			}
		}
	}
	sort.Slice(cands, func(i, j int) bool { return cands[i].ll > cands[j].ll })
	var modes []Mode
	for _, c := range cands[:min(len(cands), maxStarts)] {
		if c.ll < cands[0].ll-10 {
			break // too unlikely to matter
		}
		ix, iy := c.i%n, c.i/n
		modes = addMode(modes, f.refine(cx-cfg.HalfWidthM+float64(ix)*step, cy-cfg.HalfWidthM+float64(iy)*step, as[c.i]))
	}
	// The mirror of the best mode across the path it is closest to: a
	// straight pass's other maximum, which a coarse grid may straddle.
	best := modes[0]
	for _, m := range modes[1:] {
		if m.LogL > best.LogL {
			best = m
		}
	}
	if mx, my, ok := f.mirror(clean, best.X, best.Y); ok {
		modes = addMode(modes, f.refine(mx, my, best.Strength))
	}
	if f.free {
		var joint []Mode
		for _, m := range modes {
			m, m.bv = f.joint(m)
			joint = addMode(joint, m)
		}
		modes = joint
	}
	slices.SortFunc(modes, func(a, b Mode) int {
		switch {
		case a.LogL > b.LogL:
			return -1
		case a.LogL < b.LogL:
			return 1
		}
		return 0
	})
	trends := map[int]Trend{}
	if f.free {
		f.setB(modes[0].bv) // the best fit's, for what follows
		for v, veh := range vehOf {
			bkg[veh] = f.bv[2*v]
		}
	}
	for v, veh := range vehOf {
		trends[veh] = Trend{Rate: bkg[veh], Slope: f.bv[2*v+1], Mid: mids[v]}
	}
	phi := f.dispersion(modes[0])
	// The region's scale: the Pearson dispersion or, where the residuals
	// are correlated along a pass, their design effect on the position
	// (corr.go), whichever is larger; significance takes the strength's
	// too.
	order := f.slotOrder()
	acov, nu := make([][]float64, len(order)), 0.0
	if !cfg.Independent {
		acov, nu = f.excessAutocov(modes[0], order)
	}
	kxy, ka, fxy := f.correlation(modes[0], order, acov, nu)
	scale := max(phi, kxy)
	sigScale := max(scale, ka)
	// With counts enough for a Gaussian approximation and an excess found,
	// the modes move to the whitened (GLS) fit of the correlated model,
	// and the region and significance are read on its criterion: the
	// Poisson likelihood weighs the readings as if independent, and a
	// hump under the peak pulls its centre (eval localize: median error
	// 20 % lower on the race-track background).
	whitened := false
	if g, ok := f.whitener(modes[0], order, acov); ok {
		poisson, poissonAcov := modes, acov
		// Twice: the second time with the excess estimated from the
		// whitened fit's residuals (iterated feasible GLS), since the
		// Poisson fit's source took up part of a hump beside it (eval
		// localize: 100 MBq at 20 m, median error / CRB 4.2 → 3.1).
		for pass := 0; ; pass++ {
			var wm []Mode
			for _, m := range modes {
				m.X, m.Y, m.Strength, m.LogL = g.minimize(m.X, m.Y, 2)
				wm = addMode(wm, m)
			}
			slices.SortFunc(wm, func(a, b Mode) int { return cmpFloat(b.LogL, a.LogL) })
			modes = wm
			if pass == 1 {
				break
			}
			// A step of a pass's background (steps.go) is placed at the
			// whitened best (the Poisson fit's may be a far source that
			// took the step for its own wing), and the excess read with it.
			stepped := f.chooseSteps(modes[0], order)
			next, nextNu := f.excessAutocov(modes[0], order)
			if stepped && f.keepSignificantSteps(order, next) {
				next, nextNu = f.excessAutocov(modes[0], order)
			}
			if f.step != nil {
				_, _, fxy = f.correlation(modes[0], order, next, nextNu)
			}
			g2, ok := f.whitener(modes[0], order, next)
			if !ok {
				break
			}
			g, acov = g2, next
		}
		// Q's own dispersion (its minimum per degree of freedom, at least
		// 1) times the widening for the excess being estimated.
		ws := max(-2*modes[0].LogL/float64(max(len(f.near)-3-g.nb, 1)), 1) * fxy
		// The two fits must not disagree grossly: the Poisson fit's best
		// position within the whitened 99.9 % region (χ²₂: 13.82; they
		// differ by about the error, and the 95 % region left out good
		// whitened fits of the eval's 3 passes). Where it is not, the
		// excess took up part of the source's peak (a step in the
		// background between two stretches of road read as a slow
		// wander: the race-track file's whole drive whitened put the
		// source on the road, 4.7 × 0.4 m, its peak's width says 51 m
		// off, before the excess was read as what the fit left of it and
		// the background could step) or the other way round; the Poisson
		// fit stands, its region widened for the correlation.
		// With a step in some pass's background the Poisson fit, which
		// has none, is the one misled (a far source's wing for the step).
		if _, q := g.q(poisson[0].X, poisson[0].Y); f.step != nil || (q+2*modes[0].LogL)/ws <= chi2Two999 {
			f.gls, whitened = g, true
			scale, sigScale = ws, ws
		} else {
			modes, acov = poisson, poissonAcov
			f.step = nil
		}
	}
	// A contour is traced out to where the readings stop seeing a source
	// (a weak one's region is wide, and not only around the grid).
	reachM := reach + math.Hypot(modes[0].X-cx, modes[0].Y-cy)
	for i := range modes {
		modes[i].scale(scale)
		modes[i].Wald = modes[i].Ellipse
		f.profileEllipse(&modes[i], scale)
	}
	f.contour(&modes[0], modes[0].LogL, scale, reachM)
	est := Estimate{Mode: modes[0], Background: bkg, Readings: len(ps), Vehicles: len(vehicles), Dispersion: phi,
		Correlation: kxy, CorrelationA: ka, Whitened: whitened, scale: scale, sigScale: sigScale, Trends: trends, f: f}
	est.Autocov = map[int][]float64{}
	for v, veh := range vehOf {
		if acov[v] != nil {
			est.Autocov[veh] = acov[v]
		}
	}
	for _, m := range modes[1:] {
		if (est.LogL-m.LogL)/scale <= Chi2Two95/2 && !est.Contains(m.X, m.Y) {
			f.contour(&m, est.LogL, scale, reachM)
			est.Alternatives = append(est.Alternatives, m)
		}
	}
	est.Ambiguous = len(est.Alternatives) > 0
	est.TS = 2 * (est.LogL - f.nullLogL())
	est.Unbounded = est.TS <= Chi2Two95*scale
	return est, nil
}

// Significant reports whether the fit is evidence of a source: TS /
// SignificanceScale() ≥ SignificantTS. TS is a likelihood ratio, and the
// counts scatter Dispersion times more than Poisson, in humps that
// widen it further (CorrelationA): divided, it is on the scale the
// region is (quasi-likelihood) or above, so a significant fit is never
// "unbounded" (TS ≤ 5.991 × Scale()).
func (e Estimate) Significant() bool { return e.TS/e.SignificanceScale() >= SignificantTS }

// InRegion reports whether (x, y) lies in the reported 95 % region: the
// whole plane when Unbounded, else the best mode's part or an
// alternative's.
func (e Estimate) InRegion(x, y float64) bool {
	if e.Unbounded || e.Contains(x, y) {
		return true
	}
	for _, m := range e.Alternatives {
		if m.Contains(x, y) {
			return true
		}
	}
	return false
}

// Backgrounds is each vehicle's background rate: the mean rate of its
// readings outside the peak, those no more than 3 Poisson sigmas above
// the median rate. (The mean, not the median: the median of a few counts
// is an integer and biased — a bGeigie's 3.35 mean counts in 5 s have
// median 3, 10 % low.)
func Backgrounds(rs []Reading) map[int]float64 {
	rates := map[int][]float64{}
	for _, r := range rs {
		rates[r.Vehicle] = append(rates[r.Vehicle], r.Counts/r.Live)
	}
	out := map[int]float64{}
	for v, rr := range rates {
		med := median(rr)
		var counts, live, allLive float64
		for _, r := range rs {
			if r.Vehicle != v {
				continue
			}
			allLive += r.Live
			if r.Counts/r.Live <= med+3*math.Sqrt(max(med, 1/r.Live)/r.Live) {
				counts += r.Counts
				live += r.Live
			}
		}
		b := counts / live
		// A silent detector still has some background: half a count over
		// all its live time, so that a count is never impossible.
		if !(b > 0) {
			b = 0.5 / allLive
		}
		out[v] = b
	}
	return out
}

// maxStarts bounds the grid's local maxima refined: a weak source leaves
// a flat likelihood with several islands above the 95 % level, each a
// part of the region.
const maxStarts = 8

// minTrendReadings: a pass with fewer near readings keeps a constant
// background.
const minTrendReadings = 6

// farM: at this distance a source is e^(−4.65)/250 000 of its 1-m
// rate — below a millionth of any background worth fitting.
const farM = 500

type fitter struct {
	ps    []prepared
	b     []float64 // each reading's background rate as held now
	h, mu float64
	near  []int // readings the grid uses
	// free: the backgrounds are parameters of the fit (Config.Background
	// not given), profiled out with A. vi is each reading's vehicle slot;
	// bv holds each slot's background as (b0, b1) pairs, the rate at
	// reading i being b0 + b1·tau[i] (b1 stays 0 without trend[v]); bmin
	// is each slot's floor on the rate, tlo and thi the extreme tau of its
	// near readings.
	free     bool
	vi       []int
	bv, bmin []float64
	tau      []float64
	tlo, thi []float64
	trend    []bool
	// step marks the slots whose whitened background may step once
	// along the pass (steps.go), after the readings after it.
	step     []bool
	after    []bool
	stepSize [][3]float64 // per slot: the step (cps), the readings before and after
	// gls, once set, replaces the likelihood by the whitened criterion
	// in profile and nullLogL (Fit, after the modes are found).
	gls *gls
}

// setB holds the slots' backgrounds bv.
func (f *fitter) setB(bv []float64) {
	copy(f.bv, bv)
	for i := range f.ps {
		v := f.vi[i]
		f.b[i] = max(f.bv[2*v]+f.bv[2*v+1]*f.tau[i], f.bmin[v])
	}
}

// rate is reading i's background rate under the slots' backgrounds b.
func (f *fitter) rate(b []float64, i int) float64 {
	v := f.vi[i]
	return b[2*v] + b[2*v+1]*f.tau[i]
}

// project moves slot v's (b0, b1) in b to the nearest point (b0 first,
// then the slope) where the rate stays at or above its floor over the
// slot's near readings.
func (f *fitter) project(b []float64, v int) {
	b0 := max(b[2*v], f.bmin[v])
	b1 := b[2*v+1]
	if !f.trend[v] {
		b1 = 0
	}
	if f.thi[v] > 0 && b0+b1*f.thi[v] < f.bmin[v] {
		b1 = (f.bmin[v] - b0) / f.thi[v]
	}
	if f.tlo[v] < 0 && b0+b1*f.tlo[v] < f.bmin[v] {
		b1 = (f.bmin[v] - b0) / f.tlo[v]
	}
	b[2*v], b[2*v+1] = b0, b1
}

// dispersion is Pearson's χ² per degree of freedom of the readings near
// the source at mode m, at least 1.
func (f *fitter) dispersion(m Mode) float64 {
	var chi2 float64
	for _, i := range f.near {
		p := &f.ps[i]
		lam := p.t*f.b[i] + p.te*m.Strength*gOnly(p, m.X, m.Y, f.h, f.mu)
		chi2 += (p.c - lam) * (p.c - lam) / lam
	}
	dof := len(f.near) - 3
	if f.free {
		for v := range f.bmin {
			dof--
			if f.trend[v] {
				dof--
			}
		}
	}
	if dof > 0 {
		return max(chi2/float64(dof), 1)
	}
	return 1
}

// scale multiplies the mode's covariance by phi.
func (m *Mode) scale(phi float64) {
	if !m.OK || phi == 1 {
		return
	}
	for j := range 3 {
		for k := range 3 {
			m.cov[j][k] *= phi
		}
	}
	m.Ellipse = ellipse([2][2]float64{{m.cov[0][0], m.cov[0][1]}, {m.cov[1][0], m.cov[1][1]}})
}

// profileEllipse sets the lengths of m's ellipse axes from the profile
// likelihood: along each axis, both ways, the distance at which
// 2·(ln L(m) − ln L_profile) reaches 5.991·phi; each semi-axis is the
// longer of its two. With few counts the likelihood is far from quadratic
// (a single pass's distance from the road is bounded by the road on one
// side and loosely known on the other), and the observed information's
// ellipse alone covers the truth less often than it says.
func (f *fitter) profileEllipse(m *Mode, phi float64) {
	if !m.OK {
		return
	}
	tg := make([]float64, len(f.near))
	_, ref := f.profile(m.X, m.Y, tg, true)
	ref = max(ref, m.LogL)
	target := Chi2Two95 * phi / 2
	az := m.Ellipse.AzimuthDeg * math.Pi / 180
	ux, uy := math.Sin(az), math.Cos(az) // major axis
	vx, vy := -uy, ux                    // minor axis
	reach := func(dx, dy, t0 float64) float64 {
		drop := func(t float64) float64 {
			_, ll := f.profile(m.X+t*dx, m.Y+t*dy, tg, true)
			return ref - ll
		}
		lo, hi := 0.0, max(t0, 0.1)
		for drop(hi) < target {
			lo, hi = hi, 2*hi
			if hi > 50*max(t0, 1) {
				return hi // flat: as far as looked
			}
		}
		_, hi = bisect(lo, hi, 30, 0.01, func(t float64) bool { return drop(t) < target })
		return hi
	}
	a := max(reach(ux, uy, m.Ellipse.SemiMajorM), reach(-ux, -uy, m.Ellipse.SemiMajorM))
	b := max(reach(vx, vy, m.Ellipse.SemiMinorM), reach(-vx, -vy, m.Ellipse.SemiMinorM))
	if b > a {
		a, b = b, a
		ux, uy, vx, vy = vx, vy, ux, uy
	}
	ca, cb := a*a/Chi2Two95, b*b/Chi2Two95
	c := [2][2]float64{
		{ca*ux*ux + cb*vx*vx, ca*ux*uy + cb*vx*vy},
		{ca*ux*uy + cb*vx*vy, ca*uy*uy + cb*vy*vy},
	}
	m.Ellipse = ellipse(c)
}

// contourRays is the number of rays a contour is traced along.
const contourRays = 48

// contour traces the boundary of m's part of the 95 % profile-likelihood
// region {(x, y): 2·(best − max_A ln L(x, y, A)) ≤ 5.991·phi}, best the
// log-likelihood of the best mode: along each of contourRays rays from m,
// the distance where the statistic crosses the level (starting from the
// ellipse's radius that way, doubling out to at most maxR, then
// bisecting to 1 %). This is the region Wilks' theorem calibrates;
// where one pass leaves the likelihood far from quadratic (the distance
// from the road bounded on one side, loose on the other) it is not an
// ellipse, and an ellipse of any size covers the truth less often than it
// says or is needlessly large. A region not star-shaped about its mode is
// cut to its star-shaped part.
func (f *fitter) contour(m *Mode, best, phi, maxR float64) {
	if !m.OK {
		return
	}
	tg := make([]float64, len(f.near))
	level := Chi2Two95 * phi / 2
	outside := func(x, y float64) bool {
		_, ll := f.profile(x, y, tg, true)
		return best-ll > level
	}
	c := m.Ellipse.Cov
	m.rx, m.ry = make([]float64, contourRays), make([]float64, contourRays)
	for k := range contourRays {
		t := 2 * math.Pi * float64(k) / contourRays
		ux, uy := math.Cos(t), math.Sin(t)
		// The summary ellipse's radius that way: a first guess.
		r0 := math.Sqrt(Chi2Two95 / max(mahalanobis2(c, ux, uy), 1e-12))
		lo, hi := 0.0, min(max(r0, 0.5), maxR)
		for !outside(m.X+hi*ux, m.Y+hi*uy) && hi < maxR {
			lo, hi = hi, min(2*hi, maxR)
		}
		if hi >= maxR && !outside(m.X+hi*ux, m.Y+hi*uy) {
			lo = hi // flat as far as looked
		}
		lo, hi = bisect(lo, hi, maxBisections, 0.01, func(r float64) bool { return !outside(m.X+r*ux, m.Y+r*uy) })
		r := (lo + hi) / 2
		m.rx[k], m.ry[k] = m.X+r*ux, m.Y+r*uy
	}
}

// mirror reflects (x, y) across the line of the reading path nearest to
// it; ok is false when that path is a point.
func (f *fitter) mirror(rs []Reading, x, y float64) (mx, my float64, ok bool) {
	bestD := math.Inf(1)
	for _, r := range rs {
		dx, dy := r.X1-r.X0, r.Y1-r.Y0
		l2 := dx*dx + dy*dy
		if l2 < 1 {
			continue
		}
		t := min(max(((x-r.X0)*dx+(y-r.Y0)*dy)/l2, 0), 1)
		if d := math.Hypot(x-r.X0-t*dx, y-r.Y0-t*dy); d < bestD {
			bestD = d
			// Foot of the perpendicular on the infinite line.
			u := ((x-r.X0)*dx + (y-r.Y0)*dy) / l2
			fx, fy := r.X0+u*dx, r.Y0+u*dy
			mx, my, ok = 2*fx-x, 2*fy-y, true
		}
	}
	return mx, my, ok
}

// mostSignificant is the end of the reading furthest above its background.
func (f *fitter) mostSignificant(rs []Reading) (x, y float64) {
	best := math.Inf(-1)
	for i, p := range f.ps {
		mean := p.t * f.b[i]
		if z := (p.c - mean) / math.Sqrt(mean); z > best {
			best, x, y = z, rs[i].X1, rs[i].Y1
		}
	}
	return x, y
}

func (f *fitter) logL(x, y, a float64) float64 {
	var ll float64
	for _, i := range f.near {
		p := &f.ps[i]
		g := 0.0
		if a != 0 {
			g = gOnly(p, x, y, f.h, f.mu)
		}
		lam := p.t*f.b[i] + p.te*a*g
		ll += xlogy(p.c, lam) - lam
	}
	return ll
}

// profile maximises the likelihood at (x, y) over A ≥ 0 and, when the
// backgrounds are free, over every vehicle's background (profileB).
func (f *fitter) profile(x, y float64, tg []float64, fine bool) (a, ll float64) {
	if f.gls != nil {
		a, q := f.gls.q(x, y)
		return a, -q / 2
	}
	a, ll, _ = f.profileB(x, y, tg, fine)
	return a, ll
}

// profileB maximises the likelihood at (x, y) over A ≥ 0 and, when free,
// the backgrounds (returned; nil when held): λ is linear in them, so the
// likelihood is concave. Fisher scoring on the arrow-shaped information
// (A against each background; backgrounds apart), safeguarded by step
// halving; backgrounds stay at or above their floors.
func (f *fitter) profileB(x, y float64, tg []float64, fine bool) (a, ll float64, b []float64) {
	gm := gCoarse
	if fine {
		gm = gOnly
	}
	var num, den float64
	for k, i := range f.near {
		p := &f.ps[i]
		tg[k] = p.te * gm(p, x, y, f.h, f.mu)
		num += p.c - p.t*f.b[i]
		den += tg[k]
	}
	a = max(num/den, 0)
	if !f.free {
		for range 30 {
			var d1, d2 float64
			for k, i := range f.near {
				p := &f.ps[i]
				lam := p.t*f.b[i] + a*tg[k]
				d1 += tg[k] * (p.c/lam - 1)
				d2 -= p.c * tg[k] * tg[k] / (lam * lam)
			}
			if d2 >= 0 {
				break
			}
			next := max(a-d1/d2, 0)
			if math.Abs(next-a) <= 1e-9*max(a, 1e-12) {
				a = next
				break
			}
			a = next
		}
		return a, f.llHeld(a, tg), nil
	}
	a, ll, b = f.climb(a, tg)
	return a, ll, b
}

// climb maximises the likelihood over A ≥ 0 (from a; it stays 0 when tg
// is all 0) and the free backgrounds (from f.bv) at the readings' tg.
// Fisher scoring on the arrow-shaped information: A against each slot's
// (b0, b1) block, the blocks apart.
func (f *fitter) climb(a float64, tg []float64) (float64, float64, []float64) {
	nv := len(f.bmin)
	b := slices.Clone(f.bv)
	scratch := make([]float64, 9*nv)
	nb, g, ha, d := scratch[:2*nv], scratch[2*nv:4*nv], scratch[4*nv:6*nv], scratch[6*nv:8*nv]
	hs := make([]float64, 3*nv) // each slot's (h00, h01, h11)
	// solve is slot v's block inverse times (r0, r1).
	solve := func(v int, r0, r1 float64) (float64, float64) {
		h00, h01, h11 := hs[3*v], hs[3*v+1], hs[3*v+2]
		if !f.trend[v] {
			if h00 > 0 {
				return r0 / h00, 0
			}
			return 0, 0
		}
		det := h00*h11 - h01*h01
		if !(det > 0) {
			return 0, 0
		}
		return (h11*r0 - h01*r1) / det, (h00*r1 - h01*r0) / det
	}
	ll := f.llFree(a, b, tg)
	for range 100 {
		clear(scratch[2*nv:])
		clear(hs)
		var gA, hAA float64
		for k, i := range f.near {
			p := &f.ps[i]
			v, tau := f.vi[i], f.tau[i]
			lam := p.t*f.rate(b, i) + a*tg[k]
			w := p.c/lam - 1
			u := p.t / lam
			gA += tg[k] * w
			hAA += tg[k] * tg[k] / lam
			g[2*v] += p.t * w
			g[2*v+1] += p.t * tau * w
			hs[3*v] += p.t * u
			hs[3*v+1] += p.t * tau * u
			hs[3*v+2] += p.t * tau * tau * u
			ha[2*v] += tg[k] * u
			ha[2*v+1] += tg[k] * tau * u
		}
		sA, rA := hAA, gA
		for v := range nv {
			x0, x1 := solve(v, ha[2*v], ha[2*v+1])
			sA -= ha[2*v]*x0 + ha[2*v+1]*x1
			rA -= g[2*v]*x0 + g[2*v+1]*x1
		}
		dA := 0.0
		if sA > 0 {
			dA = rA / sA
		}
		if a == 0 && dA < 0 {
			dA = 0 // at the boundary: the backgrounds alone
		}
		for v := range nv {
			d[2*v], d[2*v+1] = solve(v, g[2*v]-ha[2*v]*dA, g[2*v+1]-ha[2*v+1]*dA)
		}
		accepted, gain := false, 0.0
		for step := 1.0; step > 1e-6; step /= 2 {
			na := max(a+step*dA, 0)
			for j := range nb {
				nb[j] = b[j] + step*d[j]
			}
			for v := range nv {
				f.project(nb, v)
			}
			if nll := f.llFree(na, nb, tg); nll >= ll {
				accepted, gain = true, nll-ll
				a, ll = na, nll
				copy(b, nb)
				break
			}
		}
		if !accepted || gain <= 1e-10*max(1, math.Abs(ll)) {
			break
		}
	}
	return a, ll, b
}

// llHeld is the log-likelihood of the near readings at strength a, with
// tg their t·ε·ḡ, and the backgrounds held.
func (f *fitter) llHeld(a float64, tg []float64) float64 {
	var ll float64
	for k, i := range f.near {
		p := &f.ps[i]
		lam := p.t*f.b[i] + a*tg[k]
		ll += xlogy(p.c, lam) - lam
	}
	return ll
}

// llFree is llHeld with the slots' backgrounds b.
func (f *fitter) llFree(a float64, b, tg []float64) float64 {
	var ll float64
	for k, i := range f.near {
		p := &f.ps[i]
		lam := p.t*f.rate(b, i) + a*tg[k]
		if !(lam > 0) {
			return math.Inf(-1)
		}
		ll += xlogy(p.c, lam) - lam
	}
	return ll
}

// joint climbs from mode m to the maximum over the backgrounds too,
// alternating the position and strength at the backgrounds held (refine)
// with the strength and backgrounds at the position held (profileB) until
// the likelihood stops rising. It returns the mode and its backgrounds;
// f holds them after.
func (f *fitter) joint(m Mode) (Mode, []float64) {
	if !f.free {
		return m, nil
	}
	tg := make([]float64, len(f.near))
	for range 8 {
		_, ll, b := f.profileB(m.X, m.Y, tg, true)
		f.setB(b)
		next := f.refine(m.X, m.Y, m.Strength)
		gain := next.LogL - m.LogL
		m = next
		if gain < 1e-4 && ll-m.LogL < 1e-4 {
			break
		}
	}
	return m, slices.Clone(f.bv)
}

// nullLogL is the log-likelihood without a source (A = 0), the
// backgrounds at their maximum when free.
func (f *fitter) nullLogL() float64 {
	if f.gls != nil {
		return -f.gls.null() / 2
	}
	if !f.free {
		return f.logL(0, 0, 0)
	}
	_, ll, _ := f.climb(0, make([]float64, len(f.near)))
	return ll
}

// derivs is the log-likelihood, its gradient and Hessian in (x, y, A).
func (f *fitter) derivs(x, y, a float64) (ll float64, grad [3]float64, hess [3][3]float64) {
	for _, i := range f.near {
		p := &f.ps[i]
		g := geom(p, x, y, f.h, f.mu, true)
		lam := p.t*f.b[i] + p.te*a*g.g
		ll += xlogy(p.c, lam) - lam
		d := [3]float64{p.te * a * g.gx, p.te * a * g.gy, p.te * g.g}
		d2 := [3][3]float64{
			{p.te * a * g.gxx, p.te * a * g.gxy, p.te * g.gx},
			{p.te * a * g.gxy, p.te * a * g.gyy, p.te * g.gy},
			{p.te * g.gx, p.te * g.gy, 0},
		}
		w := p.c/lam - 1
		w2 := p.c / (lam * lam)
		for j := range 3 {
			grad[j] += w * d[j]
			for k := range 3 {
				hess[j][k] += w*d2[j][k] - w2*d[j]*d[k]
			}
		}
	}
	return ll, grad, hess
}

// refine climbs from (x, y, a) by Levenberg–Marquardt on the exact
// Hessian, then returns the mode with its observed-information ellipse.
func (f *fitter) refine(x, y, a float64) Mode {
	th := [3]float64{x, y, a}
	ll, grad, hess := f.derivs(x, y, a)
	lambda := 1e-3
	for iter := 0; iter < 100; iter++ {
		var m [3][3]float64
		for j := range 3 {
			for k := range 3 {
				m[j][k] = -hess[j][k]
			}
			m[j][j] += lambda * max(math.Abs(hess[j][j]), 1e-12)
		}
		step, ok := solve3(m, grad)
		if !ok {
			lambda *= 10
			if lambda > 1e12 {
				break
			}
			continue
		}
		next := [3]float64{th[0] + step[0], th[1] + step[1], max(th[2]+step[2], 0)}
		nll, ngrad, nhess := f.derivs(next[0], next[1], next[2])
		if nll >= ll && !math.IsNaN(nll) {
			small := math.Abs(step[0]) < 1e-3 && math.Abs(step[1]) < 1e-3 || nll-ll < 1e-8
			th, ll, grad, hess = next, nll, ngrad, nhess
			lambda = max(lambda/10, 1e-9)
			if small {
				break
			}
		} else {
			lambda *= 10
			if lambda > 1e8 {
				break
			}
		}
	}
	mode := Mode{X: th[0], Y: th[1], Strength: th[2], LogL: ll}
	var info [3][3]float64
	for j := range 3 {
		for k := range 3 {
			info[j][k] = -hess[j][k]
		}
	}
	if cov, ok := inv3(info); ok && th[2] > 0 && cov[0][0] > 0 && cov[1][1] > 0 && cov[2][2] > 0 &&
		cov[0][0]*cov[1][1] > cov[0][1]*cov[0][1] {
		mode.cov, mode.OK = cov, true
		mode.Ellipse = ellipse([2][2]float64{{cov[0][0], cov[0][1]}, {cov[1][0], cov[1][1]}})
	}
	return mode
}

// ExpectedInfo is the expected Fisher information Σ ∇λ ∇λᵀ / λ in
// (x, y, A) of readings with backgrounds bkg for a source at (x, y) of
// strength a.
func ExpectedInfo(rs []Reading, bkg map[int]float64, x, y, a float64, cfg Config) [3][3]float64 {
	cfg = cfg.withDefaults()
	var info [3][3]float64
	for _, p := range prepare(rs) {
		g := geom(&p, x, y, cfg.HeightM, cfg.Mu, false)
		lam := p.t*bkg[p.veh] + p.te*a*g.g
		if !(lam > 0) {
			continue
		}
		d := [3]float64{p.te * a * g.gx, p.te * a * g.gy, p.te * g.g}
		for j := range 3 {
			for k := range 3 {
				info[j][k] += d[j] * d[k] / lam
			}
		}
	}
	return info
}

// CRB is the Cramér–Rao bound of the position for the readings'
// geometry: the (x, y) covariance any unbiased estimator is at least
// (A unknown), and its RMS radial error √(trace). ok is false when the
// information is singular (no information on the position).
func CRB(rs []Reading, bkg map[int]float64, x, y, a float64, cfg Config) (cov [2][2]float64, rms float64, ok bool) {
	c, ok := inv3(ExpectedInfo(rs, bkg, x, y, a, cfg))
	if !ok || c[0][0] <= 0 || c[1][1] <= 0 {
		return cov, math.Inf(1), false
	}
	cov = [2][2]float64{{c[0][0], c[0][1]}, {c[1][0], c[1][1]}}
	return cov, math.Sqrt(c[0][0] + c[1][1]), true
}

// ModelCRB is the Cramér–Rao bound of the fit's own model: besides A,
// every vehicle's background rate and, with cfg.BackgroundTrend where its
// readings span time, its trend are unknown (as the fit profiles them), at the values bkg. CRB
// takes the backgrounds as known and is smaller; an estimator that must
// find them cannot reach it, so error / ModelCRB is the honest ratio.
func ModelCRB(rs []Reading, bkg map[int]Trend, x, y, a float64, cfg Config) (cov [2][2]float64, rms float64, ok bool) {
	cfg = cfg.withDefaults()
	col, slope, n := boundColumns(rs, cfg)
	info := square(n)
	d := make([]float64, n)
	for k, p := range prepare(rs) {
		r := rs[k]
		bt := bkg[r.Vehicle]
		tau := r.T - bt.Mid
		g := geom(&p, x, y, cfg.HeightM, cfg.Mu, false)
		lam := p.t*(bt.Rate+bt.Slope*tau) + p.te*a*g.g
		if !(lam > 0) {
			continue
		}
		clear(d)
		d[0], d[1], d[2] = p.te*a*g.gx, p.te*a*g.gy, p.te*g.g
		d[col[r.Vehicle]] = p.t
		if j, ok := slope[r.Vehicle]; ok {
			d[j] = p.t * tau
		}
		for j := range n {
			for l := range n {
				info[j][l] += d[j] * d[l] / lam
			}
		}
	}
	return positionBound(info)
}

// boundColumns lays out the columns of a bound's information matrix:
// x, y, A, then each vehicle's rate and, with a trend, slope (vehicles
// in order of first reading; a slope where the vehicle has enough
// readings spread in time to tell one). n is the number of columns.
func boundColumns(rs []Reading, cfg Config) (col, slope map[int]int, n int) {
	col, slope = map[int]int{}, map[int]int{}
	lo, hi, cnt := map[int]float64{}, map[int]float64{}, map[int]int{}
	for _, r := range rs {
		if cnt[r.Vehicle] == 0 {
			lo[r.Vehicle], hi[r.Vehicle] = r.T, r.T
		}
		cnt[r.Vehicle]++
		lo[r.Vehicle], hi[r.Vehicle] = min(lo[r.Vehicle], r.T), max(hi[r.Vehicle], r.T)
	}
	n = 3
	for _, r := range rs {
		v := r.Vehicle
		if _, seen := col[v]; seen {
			continue
		}
		col[v] = n
		n++
		if cfg.BackgroundTrend && cnt[v] >= minTrendReadings && hi[v]-lo[v] > 1e-6 {
			slope[v] = n
			n++
		}
	}
	return col, slope, n
}

// positionBound is the (x, y) block of info's inverse and the root of its
// trace; ok is false when info is singular or the block is not positive.
func positionBound(info [][]float64) (cov [2][2]float64, rms float64, ok bool) {
	c, ok := invN(info)
	if !ok || c[0][0] <= 0 || c[1][1] <= 0 {
		return cov, math.Inf(1), false
	}
	cov = [2][2]float64{{c[0][0], c[0][1]}, {c[1][0], c[1][1]}}
	return cov, math.Sqrt(c[0][0] + c[1][1]), true
}

// invN inverts a symmetric positive-definite matrix by Gauss–Jordan
// elimination with partial pivoting; ok is false when it is singular.
func invN(m [][]float64) ([][]float64, bool) {
	n := len(m)
	a := make([][]float64, n)
	for i := range a {
		a[i] = make([]float64, 2*n)
		copy(a[i], m[i])
		a[i][n+i] = 1
	}
	for c := range n {
		p := c
		for r := c + 1; r < n; r++ {
			if math.Abs(a[r][c]) > math.Abs(a[p][c]) {
				p = r
			}
		}
		if !(math.Abs(a[p][c]) > 1e-300) {
			return nil, false
		}
		a[c], a[p] = a[p], a[c]
		piv := a[c][c]
		for j := range a[c] {
			a[c][j] /= piv
		}
		for r := range n {
			if r == c || a[r][c] == 0 {
				continue
			}
			k := a[r][c]
			for j := range a[r] {
				a[r][j] -= k * a[c][j]
			}
		}
	}
	out := make([][]float64, n)
	for i := range out {
		out[i] = a[i][n:]
		if !finite(out[i]...) {
			return nil, false
		}
	}
	return out, true
}

func ellipse(c [2][2]float64) Ellipse {
	a, b, d := c[0][0], c[0][1], c[1][1]
	mid, rad := (a+d)/2, math.Hypot((a-d)/2, b)
	l1, l2 := mid+rad, max(mid-rad, 0)
	theta := 0.5 * math.Atan2(2*b, a-d) // major axis from east, counter-clockwise
	az := math.Mod(90-theta*180/math.Pi+360, 180)
	return Ellipse{SemiMajorM: math.Sqrt(Chi2Two95 * l1), SemiMinorM: math.Sqrt(Chi2Two95 * l2), AzimuthDeg: az, Cov: c}
}

func mahalanobis2(c [2][2]float64, dx, dy float64) float64 {
	det := c[0][0]*c[1][1] - c[0][1]*c[1][0]
	if !(det > 0) {
		return math.Inf(1)
	}
	return (c[1][1]*dx*dx - 2*c[0][1]*dx*dy + c[0][0]*dy*dy) / det
}

func inv3(m [3][3]float64) ([3][3]float64, bool) {
	var c [3][3]float64
	c[0][0] = m[1][1]*m[2][2] - m[1][2]*m[2][1]
	c[0][1] = m[0][2]*m[2][1] - m[0][1]*m[2][2]
	c[0][2] = m[0][1]*m[1][2] - m[0][2]*m[1][1]
	c[1][0] = m[1][2]*m[2][0] - m[1][0]*m[2][2]
	c[1][1] = m[0][0]*m[2][2] - m[0][2]*m[2][0]
	c[1][2] = m[0][2]*m[1][0] - m[0][0]*m[1][2]
	c[2][0] = m[1][0]*m[2][1] - m[1][1]*m[2][0]
	c[2][1] = m[0][1]*m[2][0] - m[0][0]*m[2][1]
	c[2][2] = m[0][0]*m[1][1] - m[0][1]*m[1][0]
	det := m[0][0]*c[0][0] + m[0][1]*c[1][0] + m[0][2]*c[2][0]
	if det == 0 || math.IsNaN(det) || math.IsInf(det, 0) {
		return c, false
	}
	for j := range 3 {
		for k := range 3 {
			c[j][k] /= det
		}
	}
	return c, true
}

func solve3(m [3][3]float64, v [3]float64) ([3]float64, bool) {
	inv, ok := inv3(m)
	if !ok {
		return [3]float64{}, false
	}
	var out [3]float64
	for j := range 3 {
		for k := range 3 {
			out[j] += inv[j][k] * v[k]
		}
	}
	return out, finite(out[:]...)
}

func xlogy(x, y float64) float64 {
	if x == 0 {
		return 0
	}
	return x * math.Log(y)
}

func median(v []float64) float64 {
	s := slices.Clone(v)
	slices.Sort(s)
	n := len(s)
	if n == 0 {
		return math.NaN()
	}
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

func finite(v ...float64) bool {
	for _, x := range v {
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return false
		}
	}
	return true
}

// addMode appends m unless a mode within 1 m of it is already there (two
// starting points that refined to the same maximum).
func addMode(modes []Mode, m Mode) []Mode {
	for _, o := range modes {
		if math.Hypot(o.X-m.X, o.Y-m.Y) < 1 {
			return modes
		}
	}
	return append(modes, m)
}

// maxBisections bounds a bisection that stops at its tolerance: halving
// reaches any relative tolerance above 1e-16 in far fewer steps.
const maxBisections = 200

// bisect narrows [lo, hi] around where below turns false (below holds
// left of it) by halving, at most n times and until hi − lo < tol·hi,
// and returns the bracket.
func bisect(lo, hi float64, n int, tol float64, below func(float64) bool) (float64, float64) {
	for range n {
		if hi-lo < tol*hi {
			break
		}
		if mid := (lo + hi) / 2; below(mid) {
			lo = mid
		} else {
			hi = mid
		}
	}
	return lo, hi
}
