package localize

import (
	"math"
	"slices"
)

// Correlated background. A detector counting thousands a second sees the
// road's own background rise and fall over tens of metres: humps that
// last several readings. The Poisson model takes every reading as an
// independent count; one Pearson dispersion scales every variance alike,
// but not the covariances between neighbouring readings, and those are
// what bias a peak's centre and width. Measured on the race-track NaI
// background: lag-1 autocorrelation 0.70 on its climbing stretch, still
// 0.2 at lag 10 (README, "Source localisation").
//
// The counts are taken as Poisson about λ_i plus a stationary excess
// along each pass, Cov(c_i, c_j) = λ_i·[i = j] + t_i·t_j·C_v(|i − j|),
// C_v in cps² at a lag of |i − j| readings. C_v is estimated from the
// fit's own residuals where the fitted source adds less than the
// background (so the source's misfit is not read as background), and
// the Poisson likelihood's estimate keeps its sandwich covariance
// I⁻¹·(I + E)·I⁻¹, E the excess's share of the score's variance. The
// eigenvalues κ₁, κ₂ of the position block of I⁻¹ against that of the
// sandwich are how much the correlation widens the position in each
// direction; the likelihood-ratio statistic is then ≈ κ₁Z₁² + κ₂Z₂²,
// and Correlation is that sum's 95 % quantile over 5.991. Where the
// counts allow a Gaussian criterion the fit instead whitens with this
// covariance (gls.go) and the factor is not needed.

// minCorrReadings: a pass with fewer readings away from the source gets
// no excess (too few to tell a hump from noise).
const minCorrReadings = 10

// maxRho bounds the excess's lag-1 correlation: nearer 1 the pass is
// one slow wander, and the fitted background already takes its mean.
const maxRho = 0.95

// slotOrder is each slot's near readings in time order.
func (f *fitter) slotOrder() [][]int {
	out := make([][]int, len(f.bmin))
	for _, i := range f.near {
		out[f.vi[i]] = append(out[f.vi[i]], i)
	}
	for _, o := range out {
		slices.SortStableFunc(o, func(a, b int) int { return cmpFloat(f.tau[a], f.tau[b]) })
	}
	return out
}

// excessAutocov estimates each slot's excess autocovariance C_v(k) =
// σ²·ρ^k, cps², k = 0 … its readings − 1, from the residuals at mode m
// (f holding its backgrounds): nil for a slot without minCorrReadings
// readings away from the source (where it adds less than the
// background), or without excess. An exponential (AR(1)) excess, its
// two moments from lags 0 and 1 only: the longer lags of a short pass
// are too noisy to use one by one, and tapering them (Bartlett, a
// quarter of the pass) left the factor two thirds of what the true
// covariance gives (coverage 78 of 100 on an AR(1) background, 95 with
// the true covariance).
//
// The residuals are what the fit left: it took out of the counts
// whatever its parameters could explain, the backgrounds a pass's mean
// and the source, where the source is weak, the hump of its own shape
// beside it. A correlated excess puts most of its variance into such
// slow shapes, so the residuals' sums of squares and of lag-1 products
// fall short of it: by a third and more on the race-track's humped
// stretch, where the fit then read a hump as a source 100 m off and
// called it certain. So the moments are matched to what they are
// expected to be after the fit, E[e·eᵀ] = P·Σ(σ², ρ)·Pᵀ, P = I − X(XᵀWX)⁻¹XᵀW
// the linearised fit's residual projection (X = ∇λ over every
// parameter, W = 1/λ) and Σ the Poisson counts plus slot v's excess
// (REML's idea, by moments): the ratio of the lag-1 to the lag-0 moment
// fixes ρ, the lag-0 one then σ². This also corrects for the mean being
// estimated, which Kendall's (n·ρ̂ + 1)/(n − 3) did before.
// nu is the estimate's effective degrees of freedom, Σ n·(1 − ρ)/(1 + ρ)
// over the slots with an excess.
func (f *fitter) excessAutocov(m Mode, order [][]int) (acov [][]float64, nu float64) {
	acov = make([][]float64, len(order))
	lin, ok := f.linearise(m)
	if !ok {
		return acov, 0
	}
	for v, o := range order {
		n := len(o)
		away := make([]bool, n)
		na := 0
		for k, i := range o {
			p := &f.ps[i]
			if away[k] = p.te*m.Strength*gOnly(p, m.X, m.Y, f.h, f.mu) <= p.t*f.b[i]; away[k] {
				na++
			}
		}
		if na < minCorrReadings {
			continue
		}
		// Q = P·diag(t) over this pass, P[k][l] = [k = l] − x_kᵀ·M·x_l / λ_l
		// (other passes' noise reaches these residuals only through the
		// shared source's few parameters, and their excess is left out).
		q := square(n)
		for k, i := range o {
			for l, j := range o {
				p := -lin.hat(i, j) / lin.lam[j]
				if k == l {
					p++
				}
				q[k][l] = p * f.ps[j].t
			}
		}
		// Observed moments, and their Poisson part: P·diag(λ)·Pᵀ = diag(λ)
		// − X·M·Xᵀ, W being 1/λ.
		var s0, s1, a0, a1 float64
		for k, i := range o {
			if !away[k] {
				continue
			}
			s0 += lin.resid[i] * lin.resid[i]
			a0 += lin.lam[i] - lin.hat(i, i)
			if k+1 < n && away[k+1] {
				s1 += lin.resid[i] * lin.resid[o[k+1]]
				a1 -= lin.hat(i, o[k+1])
			}
		}
		// The excess's part, Σ_{l,m} Q[k][l]·ρ^|l−m|·Q[k'][m], summed over
		// the moments' pairs (k, k' = k for lag 0, k + 1 for lag 1) and
		// gathered by |l − m|, so that each ρ costs n.
		m0, m1 := make([]float64, n), make([]float64, n)
		for k := range n {
			if !away[k] {
				continue
			}
			lag1 := k+1 < n && away[k+1]
			for l := range n {
				for mm := range n {
					d := abs(l - mm)
					m0[d] += q[k][l] * q[k][mm]
					if lag1 {
						m1[d] += q[k][l] * q[k+1][mm]
					}
				}
			}
		}
		ex0, ex1 := s0-a0, s1-a1
		if !(ex0 > 0) {
			continue
		}
		// ρ where the excess's lag-1 moment over its lag-0 one is what was
		// observed (the ratio rises with ρ), bisected.
		ratio := func(rho float64) float64 { return powerSeries(m1, rho) / powerSeries(m0, rho) }
		want := ex1 / ex0
		rho := 0.0
		switch {
		case want >= ratio(maxRho):
			rho = maxRho
		case want > ratio(0):
			lo, hi := bisect(0, maxRho, 40, 0, func(rho float64) bool { return ratio(rho) < want })
			rho = (lo + hi) / 2
		}
		// The fit takes at most half the excess's variance: nearer ρ = 1
		// the excess is a level the backgrounds take whole, the moments
		// no longer see it, and ex0 / b0 would grow without bound (a
		// scale of 10⁵ on a 10-GBq pass at 50 m). Kendall's correction
		// for the mean, before, was bounded the same way.
		var white float64
		for k, i := range o {
			if away[k] {
				white += f.ps[i].t * f.ps[i].t
			}
		}
		b0 := max(powerSeries(m0, rho), white/2)
		if !(b0 > 0) {
			continue
		}
		c0 := ex0 / b0
		c := make([]float64, n)
		for k := range c {
			c[k] = c0 * math.Pow(rho, float64(k))
		}
		acov[v] = c
		nu += float64(na) * (1 - rho) / (1 + rho)
	}
	return acov, nu
}

// powerSeries is Σ_d c[d]·ρ^d.
func powerSeries(c []float64, rho float64) float64 {
	var s float64
	pw := 1.0
	for _, x := range c {
		s += x * pw
		pw *= rho
	}
	return s
}

// linearised is the fit linearised at a mode over its near readings
// (indexed by reading): the residual projection P = I − X·M·Xᵀ·W, M =
// (XᵀWX)⁻¹, X = ∇λ over x, y, A and the backgrounds (without a source,
// the backgrounds alone), W = 1/λ, held as the columns x (scaled to unit
// weighted norm: x, y and A differ by orders of magnitude) and M.
type linearised struct {
	x     [][]float64 // by reading; nil for one not near
	m     [][]float64
	lam   []float64
	resid []float64 // c − λ, projected once more by P
}

// hat is x_iᵀ·M·x_j.
func (l *linearised) hat(i, j int) float64 {
	var s float64
	for a, xa := range l.x[i] {
		for b, xb := range l.x[j] {
			s += xa * l.m[a][b] * xb
		}
	}
	return s
}

// linearise is the fit linearised at mode m. The residuals are projected
// once more: idempotent for the mode's own, it takes out what another
// mode's held backgrounds left (the whitened fit's modes).
func (f *fitter) linearise(m Mode) (*linearised, bool) {
	col, np := f.columns()
	l := &linearised{x: make([][]float64, len(f.ps)), lam: make([]float64, len(f.ps)), resid: make([]float64, len(f.ps))}
	full := make([]float64, np)
	norm := make([]float64, np)
	for _, i := range f.near {
		l.lam[i] = f.gradLambda(m, i, col, full)
		if !(l.lam[i] > 0) {
			return nil, false
		}
		for a, d := range full {
			norm[a] += d * d / l.lam[i]
		}
		l.x[i] = slices.Clone(full)
	}
	var keep []int
	for a := range np {
		if norm[a] > 0 && (a > 2 || m.Strength > 0) {
			keep = append(keep, a)
		}
	}
	info := square(len(keep))
	for _, i := range f.near {
		x := make([]float64, len(keep))
		for k, a := range keep {
			x[k] = l.x[i][a] / math.Sqrt(norm[a])
		}
		l.x[i] = x
		for a := range x {
			for b := range x {
				info[a][b] += x[a] * x[b] / l.lam[i]
			}
		}
	}
	var ok bool
	if l.m, ok = invN(info); !ok {
		return nil, false
	}
	// β = M·Xᵀ·W·(c − λ); the residuals less X·β.
	xtw := make([]float64, len(keep))
	for _, i := range f.near {
		l.resid[i] = f.ps[i].c - l.lam[i]
		for a, xa := range l.x[i] {
			xtw[a] += xa * l.resid[i] / l.lam[i]
		}
	}
	beta := make([]float64, len(keep))
	for a := range beta {
		for b := range xtw {
			beta[a] += l.m[a][b] * xtw[b]
		}
	}
	for _, i := range f.near {
		for a, xa := range l.x[i] {
			l.resid[i] -= xa * beta[a]
		}
	}
	return l, true
}

// columns numbers the fit's parameters: x, y, A, then each slot's rate
// and, with its trend, slope. col[v] is slot v's rate column.
func (f *fitter) columns() (col []int, n int) {
	col = make([]int, len(f.bmin))
	n = 3
	if !f.free {
		return nil, n
	}
	for v := range col {
		col[v] = n
		n++
		if f.trend[v] {
			n++
		}
		if f.hasStep(v) {
			n++
		}
	}
	return col, n
}

// gradLambda is ∇λ_i over the fit's parameters at mode m.
func (f *fitter) gradLambda(m Mode, i int, col []int, d []float64) (lam float64) {
	p := &f.ps[i]
	g := geom(p, m.X, m.Y, f.h, f.mu, false)
	clear(d)
	d[0], d[1], d[2] = p.te*m.Strength*g.gx, p.te*m.Strength*g.gy, p.te*g.g
	if col != nil {
		v := f.vi[i]
		d[col[v]] = p.t
		j := col[v] + 1
		if f.trend[v] {
			d[j] = p.t * f.tau[i]
			j++
		}
		if f.hasStep(v) && f.after[i] {
			d[j] = p.t
		}
	}
	return p.t*f.b[i] + p.te*m.Strength*g.g
}

// correlation is the design effect of the excess acov on the position
// (Correlation: the 95 % level of κ₁Z₁² + κ₂Z₂² over 5.991) and on the
// strength at m's position (CorrelationA), both at least 1; 1 where the
// information is singular (no source: no position to widen).
func (f *fitter) correlation(m Mode, order [][]int, acov [][]float64, nu float64) (kxy, ka, fxy float64) {
	col, n := f.columns()
	info, exc := square(n), square(n)
	d := make([]float64, n)
	for v, o := range order {
		// w_k = t_k ∇λ_k / λ_k: the score's weight on the excess of reading k.
		w := make([][]float64, len(o))
		for k, i := range o {
			lam := f.gradLambda(m, i, col, d)
			if !(lam > 0) {
				w[k] = make([]float64, n)
				continue
			}
			for a := range n {
				for b := range n {
					info[a][b] += d[a] * d[b] / lam
				}
			}
			w[k] = make([]float64, n)
			for a := range n {
				w[k][a] = f.ps[i].t * d[a] / lam
			}
		}
		c := acov[v]
		for k := range o {
			for l := max(k-len(c)+1, 0); l < min(k+len(c), len(o)); l++ {
				cl := c[abs(k-l)]
				for a := range n {
					for b := range n {
						exc[a][b] += cl * w[k][a] * w[l][b]
					}
				}
			}
		}
	}
	kxy, ka, fxy = 1, 1, 1
	// The strength at the position held: its column and the backgrounds'.
	keep := []int{2}
	for j := 3; j < n; j++ {
		keep = append(keep, j)
	}
	if mi, ok := invN(sub(info, keep)); ok && mi[0][0] > 0 {
		ka = max(1, 1+quad(mi, sub(exc, keep), 0, 0)/mi[0][0])
		ka *= estimatedScaleFactor(ka, nu, 3.841)
	}
	mi, ok := invN(info)
	if !ok || !(mi[0][0] > 0 && mi[1][1] > 0) {
		return kxy, ka, fxy
	}
	// M⁻¹X on the position block, M = (I⁻¹)_xy, X = (I⁻¹ E I⁻¹)_xy.
	mxy := [2][2]float64{{mi[0][0], mi[0][1]}, {mi[1][0], mi[1][1]}}
	x := [2][2]float64{{quad(mi, exc, 0, 0), quad(mi, exc, 0, 1)}, {quad(mi, exc, 1, 0), quad(mi, exc, 1, 1)}}
	det := mxy[0][0]*mxy[1][1] - mxy[0][1]*mxy[1][0]
	if !(det > 0) {
		return kxy, ka, fxy
	}
	inv := [2][2]float64{{mxy[1][1] / det, -mxy[0][1] / det}, {-mxy[1][0] / det, mxy[0][0] / det}}
	var p [2][2]float64
	for a := range 2 {
		for b := range 2 {
			p[a][b] = inv[a][0]*x[0][b] + inv[a][1]*x[1][b]
		}
	}
	tr, dt := p[0][0]+p[1][1], p[0][0]*p[1][1]-p[0][1]*p[1][0]
	disc := math.Sqrt(max(tr*tr/4-dt, 0))
	k1, k2 := max(1+tr/2+disc, 1), max(1+tr/2-disc, 1)
	kxy = weightedChi2Level(k1, k2) / Chi2Two95
	fxy = estimatedScaleFactor(kxy, nu, Chi2Two95)
	return kxy * fxy, ka, fxy
}

// estimatedScaleFactor widens a level for the excess being estimated, not
// known: with k = 1 + e, the Poisson 1 known and the excess e estimated
// on nu degrees of freedom, Satterthwaite's ν = nu·(k/e)² for the sum,
// and the statistic over its scale is F-, not χ²-distributed: the
// factor is F's 95 % quantile over χ²'s. With two degrees of freedom
// 2·F(2, ν) has the closed form ν·(0.05^(−2/ν) − 1); with one, its
// square is Student's t, taken from the Cornish–Fisher series. q is
// χ²'s quantile: 5.991 (two) or 3.841 (one).
func estimatedScaleFactor(k, nu, q float64) float64 {
	e := k - 1
	if !(e > 0) || !(nu > 0) {
		return 1
	}
	v := nu * (k / e) * (k / e)
	if q == Chi2Two95 {
		return v * (math.Pow(0.05, -2/v) - 1) / Chi2Two95
	}
	// t's 97.5 % quantile, z = 1.96: z + (z³ + z)/(4ν) + (5z⁵ + 16z³ + 3z)/(96ν²).
	const z = 1.959964
	t := z + (z*z*z+z)/(4*v) + (5*z*z*z*z*z+16*z*z*z+3*z)/(96*v*v)
	return t * t / 3.841
}

// quad is (A·B·A)[a][b] for symmetric A.
func quad(a, b [][]float64, r, c int) float64 {
	var s float64
	for j := range b {
		if a[r][j] == 0 {
			continue
		}
		for k := range b {
			s += a[r][j] * b[j][k] * a[k][c]
		}
	}
	return s
}

func square(n int) [][]float64 {
	m := make([][]float64, n)
	for i := range m {
		m[i] = make([]float64, n)
	}
	return m
}

func sub(m [][]float64, idx []int) [][]float64 {
	out := square(len(idx))
	for a, i := range idx {
		for b, j := range idx {
			out[a][b] = m[i][j]
		}
	}
	return out
}

func abs(k int) int {
	if k < 0 {
		return -k
	}
	return k
}

// weightedChi2Level is the 95 % quantile of k1·Z₁² + k2·Z₂², Z standard
// normal: 5.991 when both are 1, 3.841·k1 as k2 → 0. P(≤ q) =
// ∫₀^√(q/k1) 2φ(s)·erf(√((q − k1·s²)/(2·k2))) ds, bisected in q.
func weightedChi2Level(k1, k2 float64) float64 {
	if k1 < k2 {
		k1, k2 = k2, k1
	}
	if !(k2 > 0) {
		return 3.841 * k1
	}
	cdf := func(q float64) float64 {
		const steps = 400
		top := math.Sqrt(q / k1)
		h := top / steps
		var s float64
		for j := range steps {
			u := (float64(j) + 0.5) * h
			s += math.Exp(-u*u/2) * math.Erf(math.Sqrt(max(q-k1*u*u, 0)/(2*k2)))
		}
		return 2 / math.Sqrt(2*math.Pi) * s * h
	}
	// k2 ≤ k1: between one term and two equal ones.
	lo, hi := bisect(3.841*k1, Chi2Two95*k1, 60, 1e-6, func(q float64) bool { return cdf(q) < 0.95 })
	return (lo + hi) / 2
}

// CorrelatedCRB is ModelCRB under the correlated-excess model: the counts
// of each vehicle's (pass's) readings, in time order, have covariance
// Σ = diag(λ) + t·tᵀ∘C(|i − j|), autocov[v] being C in cps² by lag in
// readings (Estimate.Autocov; a vehicle without one has none), and the
// bound is the (x, y) block of (Σ_v Jᵥᵀ Σᵥ⁻¹ Jᵥ)⁻¹, J = ∇λ over x, y, A
// and the backgrounds (Gaussian counts of that covariance). It is not
// below ModelCRB: the excess only adds noise. ok is false when the
// information or a Σ is singular.
func CorrelatedCRB(rs []Reading, bkg map[int]Trend, autocov map[int][]float64, x, y, a float64, cfg Config) (cov [2][2]float64, rms float64, ok bool) {
	cfg = cfg.withDefaults()
	byVeh := map[int][]int{}
	var vehs []int
	for i, r := range rs {
		if _, seen := byVeh[r.Vehicle]; !seen {
			vehs = append(vehs, r.Vehicle)
		}
		byVeh[r.Vehicle] = append(byVeh[r.Vehicle], i)
	}
	col, slope, n := boundColumns(rs, cfg)
	ps := prepare(rs)
	info := square(n)
	for _, v := range vehs {
		idx := slices.Clone(byVeh[v])
		slices.SortStableFunc(idx, func(i, j int) int { return cmpFloat(rs[i].T, rs[j].T) })
		m := len(idx)
		bt := bkg[v]
		sigma := square(m)
		jac := square(m) // m rows of n columns, grown below
		for k, i := range idx {
			p := &ps[i]
			tau := rs[i].T - bt.Mid
			g := geom(p, x, y, cfg.HeightM, cfg.Mu, false)
			lam := p.t*(bt.Rate+bt.Slope*tau) + p.te*a*g.g
			if !(lam > 0) {
				return cov, math.Inf(1), false
			}
			sigma[k][k] = lam
			jac[k] = make([]float64, n)
			jac[k][0], jac[k][1], jac[k][2] = p.te*a*g.gx, p.te*a*g.gy, p.te*g.g
			jac[k][col[v]] = p.t
			if j, ok := slope[v]; ok {
				jac[k][j] = p.t * tau
			}
		}
		if c := autocov[v]; len(c) > 0 {
			for k := range m {
				for l := range m {
					if d := abs(k - l); d < len(c) {
						sigma[k][l] += ps[idx[k]].t * ps[idx[l]].t * c[d]
					}
				}
			}
		}
		l, ok := cholesky(sigma)
		if !ok {
			return cov, math.Inf(1), false
		}
		// Whitened columns: L⁻¹J; then JᵀΣ⁻¹J = (L⁻¹J)ᵀ(L⁻¹J).
		w := make([][]float64, m)
		for k := range m {
			w[k] = make([]float64, n)
			for c := range n {
				s := jac[k][c]
				for j := range k {
					s -= l[k][j] * w[j][c]
				}
				w[k][c] = s / l[k][k]
			}
		}
		for k := range m {
			for a := range n {
				for b := range n {
					info[a][b] += w[k][a] * w[k][b]
				}
			}
		}
	}
	return positionBound(info)
}

// cholesky is the lower factor L of a symmetric positive-definite m,
// m = L·Lᵀ; ok is false when m is not.
func cholesky(m [][]float64) ([][]float64, bool) {
	n := len(m)
	l := square(n)
	for i := range n {
		for j := 0; j <= i; j++ {
			s := m[i][j]
			for k := range j {
				s -= l[i][k] * l[j][k]
			}
			if i == j {
				if !(s > 0) {
					return nil, false
				}
				l[i][i] = math.Sqrt(s)
			} else {
				l[i][j] = s / l[j][j]
			}
		}
	}
	return l, true
}

func cmpFloat(a, b float64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}
