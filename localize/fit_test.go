package localize

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/radtrack/radtrack/sim"
)

// pass is a straight drive at speed v (m/s) with heading az (degrees from
// north) whose closest approach to the origin is d metres to the left
// (d < 0: right), readings every dt seconds for ±half seconds, vehicle veh.
func pass(d, az, v, dt, half float64, veh int) []Reading {
	a := az * math.Pi / 180
	ux, uy := math.Sin(a), math.Cos(a) // direction of travel
	nx, ny := uy, -ux                  // right of travel
	var out []Reading
	for t := -half; t < half; t += dt {
		s0, s1 := v*t, v*(t+dt)
		out = append(out, Reading{
			X0: -d*nx + s0*ux, Y0: -d*ny + s0*uy,
			X1: -d*nx + s1*ux, Y1: -d*ny + s1*uy,
			Live: dt, Vehicle: veh, T: t + dt/2,
		})
	}
	return out
}

// draw fills in Poisson counts for a source of strength a at (x, y).
func draw(rs []Reading, bkg map[int]float64, x, y, a float64, rng *rand.Rand) []Reading {
	out := slices.Clone(rs)
	for i, p := range prepare(rs) {
		mean := p.t * (bkg[p.veh] + a*gOnly(&p, x, y, DefaultHeightM, MuCs137Air))
		out[i].Counts = float64(sim.Poisson(rng, mean))
	}
	return out
}

// The analytic gradient and Hessian agree with finite differences of the
// log-likelihood.
func TestDerivativesMatchFiniteDifferences(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	bkg := map[int]float64{0: 0.7, 1: 2}
	rs := append(pass(20, 30, 14, 5, 60, 0), pass(-35, 100, 10, 1, 40, 1)...)
	rs = draw(rs, bkg, 0, 0, 5000, rng)
	f := &fitter{ps: prepare(rs), h: DefaultHeightM, mu: MuCs137Air}
	for _, p := range f.ps {
		f.b = append(f.b, bkg[p.veh])
	}
	th := [3]float64{7, -4, 4000}
	_, grad, hess := f.derivs(th[0], th[1], th[2])
	hs := [3]float64{1e-3, 1e-3, 1e-2}
	at := func(d [3]float64) float64 { ll, _, _ := f.derivs(d[0], d[1], d[2]); return ll }
	gradAt := func(d [3]float64) [3]float64 { _, g, _ := f.derivs(d[0], d[1], d[2]); return g }
	for j := range 3 {
		up, dn := th, th
		up[j] += hs[j]
		dn[j] -= hs[j]
		num := (at(up) - at(dn)) / (2 * hs[j])
		if math.Abs(num-grad[j]) > 1e-4*math.Max(1, math.Abs(num)) {
			t.Errorf("grad[%d] = %v, finite difference %v", j, grad[j], num)
		}
		gu, gd := gradAt(up), gradAt(dn)
		for k := range 3 {
			num := (gu[k] - gd[k]) / (2 * hs[j])
			if math.Abs(num-hess[k][j]) > 1e-4*math.Max(1, math.Abs(num)) {
				t.Errorf("hess[%d][%d] = %v, finite difference %v", k, j, hess[k][j], num)
			}
		}
	}
}

type trials struct {
	errs    []float64
	covered int
	crb     float64
}

func run(t *testing.T, n int, geometry []Reading, bkg map[int]float64, x, y, a float64, mirror bool) trials {
	t.Helper()
	rng := rand.New(rand.NewPCG(7, 11))
	var out trials
	_, out.crb, _ = CRB(geometry, bkg, x, y, a, Config{})
	for range n {
		rs := draw(geometry, bkg, x, y, a, rng)
		est, err := Fit(rs, Config{})
		if err != nil {
			t.Fatal(err)
		}
		best := est.Mode
		if mirror {
			// Measured against whichever mode is on the source's side.
			for _, m := range est.Alternatives {
				if math.Hypot(m.X-x, m.Y-y) < math.Hypot(best.X-x, best.Y-y) {
					best = m
				}
			}
		}
		out.errs = append(out.errs, math.Hypot(best.X-x, best.Y-y))
		if best.Contains(x, y) {
			out.covered++
		}
	}
	return out
}

// Three passes in different directions by two vehicles (30, 45 and 20 m
// from the source): the median error is metres, near the Cramér–Rao bound,
// and the 95 % ellipse covers the truth about 95 % of the time.
func TestThreePassesKnownTruth(t *testing.T) {
	bkg := map[int]float64{0: 0.67, 1: 0.5}
	var g []Reading
	g = append(g, pass(30, 10, 14, 5, 120, 0)...)
	g = append(g, pass(-45, 75, 12, 5, 120, 0)...)
	g = append(g, pass(20, 140, 10, 5, 120, 1)...)
	const n = 300
	r := run(t, n, g, bkg, 0, 0, 5000, false)
	med := median(r.errs)
	cov := float64(r.covered) / n
	t.Logf("median error %.2f m, CRB rms %.2f m, ratio %.2f, coverage %.3f", med, r.crb, med/r.crb, cov)
	if med > 10 {
		t.Errorf("median error %.1f m > 10 m", med)
	}
	if med > 1.5*r.crb {
		t.Errorf("median error %.2f m above 1.5× the bound %.2f m", med, r.crb)
	}
	// 300 Bernoulli(0.95) trials: sd 1.3 %; 0.90–0.99 is > 3.5 sd wide.
	if cov < 0.90 || cov > 0.99 {
		t.Errorf("coverage %.3f outside 0.90–0.99", cov)
	}
}

// One straight pass: the mirror image across the road is as likely; the
// fit says so, and either mode is within 30 % of the closest approach.
func TestSinglePassReportsTheMirror(t *testing.T) {
	bkg := map[int]float64{0: 0.67}
	g := pass(40, 60, 14, 5, 120, 0)
	rng := rand.New(rand.NewPCG(3, 4))
	est, err := Fit(draw(g, bkg, 0, 0, 60000, rng), Config{})
	if err != nil {
		t.Fatal(err)
	}
	if !est.Ambiguous || len(est.Alternatives) == 0 {
		t.Fatalf("no mirror reported: %+v", est)
	}
	alt := est.Alternatives[0]
	// The road runs through (−40·n) along the heading: the two modes lie
	// on opposite sides of it.
	a := 60 * math.Pi / 180
	side := func(x, y float64) float64 { return (x+40*math.Cos(a))*math.Cos(a) - (y-40*math.Sin(a))*math.Sin(a) }
	if side(est.X, est.Y)*side(alt.X, alt.Y) >= 0 {
		t.Errorf("modes (%.1f, %.1f) and (%.1f, %.1f) on the same side", est.X, est.Y, alt.X, alt.Y)
	}
	r := run(t, 200, g, bkg, 0, 0, 60000, true)
	if med := median(r.errs); med > 0.3*40 {
		t.Errorf("median error (mirror resolved) %.1f m > 30 %% of 40 m (CRB %.1f m)", med, r.crb)
	} else {
		t.Logf("single pass at 40 m: median error %.1f m, CRB %.1f m, coverage %.2f", med, r.crb, float64(r.covered)/200)
	}
}

// No source: the fit's significance stays low.
func TestBackgroundOnlyIsNotSignificant(t *testing.T) {
	bkg := map[int]float64{0: 0.67}
	rng := rand.New(rand.NewPCG(5, 6))
	est, err := Fit(draw(pass(30, 0, 14, 5, 120, 0), bkg, 0, 0, 0, rng), Config{})
	if err != nil {
		t.Fatal(err)
	}
	if est.TS > 15 {
		t.Errorf("TS %.1f on background alone", est.TS)
	}
}

// Where "no source" is within the 95 % level, so is every position
// (A = 0 fits anywhere): the region is unbounded and holds a point a
// kilometre off; a source the readings plainly see keeps a bounded one.
func TestRegionUnboundedWhenNoSourceIsWithinTheLevel(t *testing.T) {
	bkg := map[int]float64{0: 0.67}
	seen := 0
	for seed := range uint64(20) {
		rng := rand.New(rand.NewPCG(7, seed))
		est, err := Fit(draw(pass(30, 0, 14, 5, 60, 0), bkg, 0, 0, 0, rng), Config{})
		if err != nil {
			t.Fatal(err)
		}
		if want := est.TS <= Chi2Two95*est.Dispersion; est.Unbounded != want {
			t.Fatalf("seed %d: TS %.2f, dispersion %.2f, unbounded %v", seed, est.TS, est.Dispersion, est.Unbounded)
		}
		if est.Significant() && est.Unbounded {
			t.Fatalf("seed %d: significant with an unbounded region (TS %.2f, dispersion %.2f)", seed, est.TS, est.Dispersion)
		}
		if est.Unbounded {
			seen++
			if !est.InRegion(1000, -1000) || !est.InRegion(est.X, est.Y) {
				t.Errorf("seed %d: an unbounded region leaves points out", seed)
			}
		}
	}
	if seen == 0 {
		t.Error("background alone never gave an unbounded region in 20 draws")
	}
	rng := rand.New(rand.NewPCG(8, 9))
	est, err := Fit(draw(pass(30, 0, 14, 5, 60, 0), bkg, 0, 0, 1e5, rng), Config{})
	if err != nil {
		t.Fatal(err)
	}
	if est.Unbounded || est.InRegion(1000, -1000) || !est.InRegion(est.X, est.Y) {
		t.Errorf("strong source: unbounded %v, TS %.0f, far point in %v", est.Unbounded, est.TS, est.InRegion(1000, -1000))
	}
}

func TestFitRefusesNothing(t *testing.T) {
	if _, err := Fit(nil, Config{}); err != ErrNoReadings {
		t.Fatalf("err %v", err)
	}
	if _, err := Fit([]Reading{{Counts: math.NaN(), Live: 1}}, Config{}); err != ErrNoReadings {
		t.Fatalf("err %v", err)
	}
}

func TestFrameRoundTrip(t *testing.T) {
	f := NewFrame(37.42, 141.03)
	x, y := f.ToXY(37.43, 141.04)
	// 0.01° of latitude ≈ 1.11 km, of longitude at 37.4° ≈ 0.885 km.
	if math.Abs(y-1110) > 5 || math.Abs(x-885) > 5 {
		t.Errorf("(%.1f, %.1f)", x, y)
	}
	lat, lon := f.ToLatLon(x, y)
	if math.Abs(lat-37.43) > 1e-12 || math.Abs(lon-141.04) > 1e-12 {
		t.Errorf("round trip %v %v", lat, lon)
	}
}
