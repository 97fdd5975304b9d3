package localize

import "math"

// Physical defaults.
const (
	// MuCs137Air is the linear attenuation coefficient of air at 662 keV,
	// per metre (see the package comment for the source).
	MuCs137Air = 0.0093
	// DefaultHeightM is the detector's height above the source: a detector
	// on or in a vehicle 1.5 m above a source on the ground.
	DefaultHeightM = 1.5
)

// Reading is one counting interval of one detector, in the local frame.
type Reading struct {
	// X0, Y0 → X1, Y1: where the detector was at the start and the end of
	// the interval, metres east and north of the frame's origin (equal
	// when the start is unknown).
	X0, Y0, X1, Y1 float64
	Counts         float64 // counts in the interval
	Live           float64 // live time of the interval, seconds (> 0)
	Vehicle        int     // index of the detector's pass: each has its own background
	// T is the middle of the counting interval, seconds from any origin
	// common to the vehicle's readings (Frame.Readings: Unix time). A
	// vehicle whose readings all have one T gets a constant background.
	T float64
	// Eff is the detector's efficiency relative to the one A is stated
	// for (0 means 1): a fleet's detectors see one source differently.
	Eff float64
}

// maxSubSteps bounds the points a reading's path is averaged over.
const maxSubSteps = 32

// subStepM is the longest step between them.
const subStepM = 2.5

// coarseStepM spaces the path points of the grid search (a cell of the
// grid is wider than this).
const coarseStepM = 10

// prepared is a reading with its path points (fine for the fit, coarse
// for the grid search).
type prepared struct {
	px, py []float64
	qx, qy []float64
	c, t   float64
	te     float64 // t × efficiency
	veh    int
}

func prepare(rs []Reading) []prepared {
	out := make([]prepared, len(rs))
	for i, r := range rs {
		l := math.Hypot(r.X1-r.X0, r.Y1-r.Y0)
		eff := r.Eff
		if !(eff > 0) {
			eff = 1
		}
		p := prepared{c: r.Counts, t: r.Live, te: r.Live * eff, veh: r.Vehicle}
		p.px, p.py = pathPoints(r, min(max(int(math.Ceil(l/subStepM)), 1), maxSubSteps))
		p.qx, p.qy = pathPoints(r, min(max(int(math.Ceil(l/coarseStepM)), 1), maxSubSteps))
		out[i] = p
	}
	return out
}

// pathPoints are the midpoints of k equal steps along r's path.
func pathPoints(r Reading, k int) (xs, ys []float64) {
	xs, ys = make([]float64, k), make([]float64, k)
	for j := range k {
		f := (float64(j) + 0.5) / float64(k)
		xs[j], ys[j] = r.X0+f*(r.X1-r.X0), r.Y0+f*(r.Y1-r.Y0)
	}
	return xs, ys
}

// geometry is ḡ and its derivatives with respect to the source position
// for one reading.
type geometry struct {
	g             float64
	gx, gy        float64 // ∂ḡ/∂x, ∂ḡ/∂y
	gxx, gxy, gyy float64
}

// geom averages g(r) and its first and second derivatives over the path.
// With d = (x−px, y−py), r = √(|d|² + h²): g' = −g(μ + 2/r),
// g” = g((μ + 2/r)² + 2/r²), ∂r/∂x = dx/r, ∂²r/∂x² = (1 − dx²/r²)/r,
// ∂²r/∂x∂y = −dx·dy/r³.
func geom(p *prepared, x, y, h, mu float64, second bool) geometry {
	var out geometry
	n := float64(len(p.px))
	h2 := h * h
	for j := range p.px {
		dx, dy := x-p.px[j], y-p.py[j]
		r2 := dx*dx + dy*dy + h2
		r := math.Sqrt(r2)
		g := math.Exp(-mu*r) / r2
		k := mu + 2/r
		g1 := -g * k
		rx, ry := dx/r, dy/r
		out.g += g
		out.gx += g1 * rx
		out.gy += g1 * ry
		if second {
			g2 := g * (k*k + 2/r2)
			out.gxx += g2*rx*rx + g1*(1-rx*rx)/r
			out.gyy += g2*ry*ry + g1*(1-ry*ry)/r
			out.gxy += g2*rx*ry - g1*rx*ry/r
		}
	}
	out.g /= n
	out.gx /= n
	out.gy /= n
	out.gxx /= n
	out.gxy /= n
	out.gyy /= n
	return out
}

// gOnly is ḡ alone over the fine path points.
func gOnly(p *prepared, x, y, h, mu float64) float64 { return gMean(p.px, p.py, x, y, h, mu) }

// gCoarse is ḡ over the coarse ones (the grid's hot loop).
func gCoarse(p *prepared, x, y, h, mu float64) float64 { return gMean(p.qx, p.qy, x, y, h, mu) }

func gMean(px, py []float64, x, y, h, mu float64) float64 {
	var s float64
	h2 := h * h
	for j := range px {
		dx, dy := x-px[j], y-py[j]
		r2 := dx*dx + dy*dy + h2
		s += math.Exp(-mu*math.Sqrt(r2)) / r2
	}
	return s / float64(len(px))
}

// SourceCounts is the mean number of counts a source of strength a at
// (x, y) adds to reading r: r.Live·a·ḡ (the model the fit assumes; the
// evaluation injects with it).
func SourceCounts(r Reading, x, y, a float64, cfg Config) float64 {
	cfg = cfg.withDefaults()
	p := prepare([]Reading{r})[0]
	return p.te * a * gOnly(&p, x, y, cfg.HeightM, cfg.Mu)
}
