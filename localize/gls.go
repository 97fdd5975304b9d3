package localize

import "math"

// gls is the whitened least-squares criterion of the correlated-excess
// model: Q(x, y) = min over A ≥ 0 and the backgrounds of
// Σ_v ‖L_v⁻¹(c_v − λ_v)‖², Σ_v = L_v·L_vᵀ the counts' covariance of slot
// v (Poisson at the fit's λ plus the excess), held fixed.
type gls struct {
	f     *fitter
	order [][]int
	chol  [][][]float64 // per slot
	yw    [][]float64   // whitened counts per slot
	bw    [][][]float64 // whitened background columns per slot: [col][k]
	bcol  []int         // first background column of each slot
	nb    int           // background columns
}

// glsMinCounts: below this many expected counts in a near reading the
// fit stays Poisson (a Gaussian criterion misreads a few counts).
const glsMinCounts = 20

// whitenable tells whether a whitened criterion can follow this fit: the
// backgrounds are free (the criterion fits them) and every near reading
// expects glsMinCounts or more.
func (f *fitter) whitenable() bool {
	if !f.free {
		return false
	}
	for _, i := range f.near {
		if f.ps[i].t*f.b[i] < glsMinCounts {
			return false
		}
	}
	return true
}

// whitener is the whitened criterion at mode m when the fit is
// whitenable and some pass has an excess; ok false otherwise.
func (f *fitter) whitener(m Mode, order [][]int, acov [][]float64) (*gls, bool) {
	excess := false
	for _, c := range acov {
		excess = excess || c != nil
	}
	if !excess || !f.whitenable() {
		return nil, false
	}
	return newGLS(f, m, order, acov)
}

func newGLS(f *fitter, m Mode, order [][]int, acov [][]float64) (*gls, bool) {
	g := &gls{f: f, order: order}
	for v, o := range order {
		n := len(o)
		sig := square(n)
		for k, i := range o {
			p := &f.ps[i]
			sig[k][k] = p.t*f.b[i] + p.te*m.Strength*gOnly(p, m.X, m.Y, f.h, f.mu)
		}
		if c := acov[v]; c != nil {
			for k := range n {
				for l := range n {
					if d := abs(k - l); d < len(c) {
						sig[k][l] += f.ps[o[k]].t * f.ps[o[l]].t * c[d]
					}
				}
			}
		}
		l, ok := cholesky(sig)
		if !ok {
			return nil, false
		}
		g.chol = append(g.chol, l)
		y := make([]float64, n)
		for k, i := range o {
			y[k] = f.ps[i].c
		}
		g.yw = append(g.yw, forward(l, y))
		g.bcol = append(g.bcol, g.nb)
		cols := [][]float64{}
		one := make([]float64, n)
		for k, i := range o {
			one[k] = f.ps[i].t
		}
		cols = append(cols, forward(l, one))
		g.nb++
		if f.trend[v] {
			tt := make([]float64, n)
			for k, i := range o {
				tt[k] = f.ps[i].t * f.tau[i]
			}
			cols = append(cols, forward(l, tt))
			g.nb++
		}
		if f.hasStep(v) {
			st := make([]float64, n)
			for k, i := range o {
				if f.after[i] {
					st[k] = f.ps[i].t
				}
			}
			cols = append(cols, forward(l, st))
			g.nb++
		}
		g.bw = append(g.bw, cols)
	}
	return g, true
}

// forward solves L·x = y.
func forward(l [][]float64, y []float64) []float64 {
	x := make([]float64, len(y))
	for k := range y {
		s := y[k]
		for j := range k {
			s -= l[k][j] * x[j]
		}
		x[k] = s / l[k][k]
	}
	return x
}

// q is Q at (x, y) and the strength there.
func (g *gls) q(x, y float64) (a, q float64) { return g.fit(x, y, true) }

// null is Q without a source.
func (g *gls) null() float64 {
	_, q := g.fit(0, 0, false)
	return q
}

// fit solves the whitened linear least squares in A (column 0; held at
// 0 without a source or where it would go negative) and the
// backgrounds, the source at (x, y), for their Q.
func (g *gls) fit(x, y float64, source bool) (a, q float64) {
	f := g.f
	p := 1 + g.nb
	ata := square(p)
	atb := make([]float64, p)
	var yy float64
	for v, o := range g.order {
		col := make([]float64, len(o))
		if source {
			for k, i := range o {
				ps := &f.ps[i]
				col[k] = ps.te * gOnly(ps, x, y, f.h, f.mu)
			}
		}
		cols := append([][]float64{forward(g.chol[v], col)}, g.bw[v]...)
		idx := []int{0}
		for j := range g.bw[v] {
			idx = append(idx, 1+g.bcol[v]+j)
		}
		for a2, ca := range cols {
			for b2, cb := range cols {
				ata[idx[a2]][idx[b2]] += dot(ca, cb)
			}
			atb[idx[a2]] += dot(ca, g.yw[v])
		}
		yy += dot(g.yw[v], g.yw[v])
	}
	beta, ok := solveSym(ata, atb)
	if !source || !ok || beta[0] < 0 { // A = 0: the backgrounds alone
		sub := square(p - 1)
		for i := 1; i < p; i++ {
			for j := 1; j < p; j++ {
				sub[i-1][j-1] = ata[i][j]
			}
		}
		b2, ok := solveSym(sub, atb[1:])
		if !ok {
			return 0, math.Inf(1)
		}
		beta = append([]float64{0}, b2...)
	}
	// Q = yᵀy − 2βᵀXᵀy + βᵀXᵀXβ.
	q = yy
	for i := range p {
		q -= 2 * beta[i] * atb[i]
		for j := range p {
			q += beta[i] * ata[i][j] * beta[j]
		}
	}
	return beta[0], q
}

func dot(a, b []float64) float64 {
	var s float64
	for i := range a {
		s += a[i] * b[i]
	}
	return s
}

func solveSym(m [][]float64, v []float64) ([]float64, bool) {
	inv, ok := invN(m)
	if !ok {
		return nil, false
	}
	out := make([]float64, len(v))
	for i := range v {
		for j := range v {
			out[i] += inv[i][j] * v[j]
		}
	}
	return out, true
}

// minimize is Nelder–Mead on Q from (x, y), simplex size s: the
// minimum's position, strength and −Q/2.
func (g *gls) minimize(x, y, s float64) (bx, by, ba, ll float64) {
	type pt struct{ x, y, q float64 }
	ev := func(x, y float64) pt { _, q := g.q(x, y); return pt{x, y, q} }
	p := [3]pt{ev(x, y), ev(x+s, y), ev(x, y+s)}
	for range 300 {
		// sort
		for i := 0; i < 3; i++ {
			for j := i + 1; j < 3; j++ {
				if p[j].q < p[i].q {
					p[i], p[j] = p[j], p[i]
				}
			}
		}
		if math.Hypot(p[2].x-p[0].x, p[2].y-p[0].y) < 1e-3 && math.Abs(p[2].q-p[0].q) < 1e-6 {
			break
		}
		cx, cy := (p[0].x+p[1].x)/2, (p[0].y+p[1].y)/2
		r := ev(2*cx-p[2].x, 2*cy-p[2].y)
		switch {
		case r.q < p[0].q:
			e := ev(3*cx-2*p[2].x, 3*cy-2*p[2].y)
			if e.q < r.q {
				p[2] = e
			} else {
				p[2] = r
			}
		case r.q < p[1].q:
			p[2] = r
		default:
			c := ev((cx+p[2].x)/2, (cy+p[2].y)/2)
			if c.q < p[2].q {
				p[2] = c
			} else {
				p[1] = ev((p[0].x+p[1].x)/2, (p[0].y+p[1].y)/2)
				p[2] = ev((p[0].x+p[2].x)/2, (p[0].y+p[2].y)/2)
			}
		}
	}
	best := p[0]
	for _, q := range p[1:] {
		if q.q < best.q {
			best = q
		}
	}
	a, _ := g.q(best.x, best.y)
	return best.x, best.y, a, -best.q / 2
}
