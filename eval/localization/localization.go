// Package localization measures the source localisation of package
// localize on real drive tracks (`radtrack eval localize`, README "Source
// localisation"): a Cs-137 point source is injected into the real counts
// of the shared bGeigie drives at chosen positions and activities, passes
// are fitted, and the position error, the coverage of the 95 % ellipse and
// the Cramér–Rao bound of the same geometry are reported. The NaI1s rows
// drive the same roads with a 1-s NaI log instead (nai.go).
//
// Passes. A pass is a window of ±WindowS seconds of a real log around a
// moment the vehicle was moving (3–40 m/s, fixes and counts without gaps):
// its real fixes, times and counts (real background, with its real
// fluctuation along the road). The window is moved rigidly — rotated to a
// chosen heading and shifted so that, at the chosen moment, the vehicle is
// d metres to the side of the source — and a Poisson draw of the source's
// counts (the fit's own model: inverse square, air attenuation, averaged
// over the reading's path) is added to each reading. A single pass keeps
// the real road's shape; several passes come from different moments of
// two logs (two vehicles), at headings 60° apart.
//
// Everything is deterministic: fixed seeds, no clock.
package localization

import (
	"context"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"text/tabwriter"

	"github.com/radtrack/radtrack/eval/detection"
	"github.com/radtrack/radtrack/localize"
	"github.com/radtrack/radtrack/sample"
	"github.com/radtrack/radtrack/sim"
)

// Options of one evaluation run.
type Options struct {
	DataDir string // the shared radiation logs
	Trials  int    // Monte-Carlo trials per scenario
	Seed    uint64
	WindowS float64 // half-width of a pass window, seconds
	// PoissonBackground replaces each pass's real counts by Poisson draws
	// of its mean rate: the same geometry without the real background's
	// variation along the road (the model's assumption), for comparison.
	PoissonBackground bool
	// BackgroundTrend fits each pass's background with a linear trend
	// along the pass (localize.Config.BackgroundTrend).
	BackgroundTrend bool
	// NaIStretch, when ≥ 0, draws every NaI pass's background from that
	// stretch of the race-track's alone (0: its flat one, 1: the one with
	// a climb and a hump); -1 from both, by length.
	NaIStretch int
	// Independent fits the readings as independent counts
	// (localize.Config.Independent): the estimator before the correlated
	// excess.
	Independent bool
	// Rows, when not empty, runs only the scenarios whose name contains
	// it (each keeps the seed of its place in Scenarios).
	Rows string
}

// selects tells whether scenario sc is one of the rows to run.
func (o Options) selects(sc Scenario) bool { return o.Rows == "" || strings.Contains(sc.Name, o.Rows) }

// DefaultOptions is what `radtrack eval localize` runs.
func DefaultOptions() Options {
	return Options{DataDir: "../shared/data/radiation", Trials: 200, Seed: 20, WindowS: 60, NaIStretch: -1}
}

// The logs driven: two vehicles with counts and calibration (bGeigie
// LND 7317, 334 CPM per µSv/h). The Zen log is stationary; the AtomFast one
// is a walk; the race-track NaI has no calibration to dose.
var logs = []string{
	"safecast_bgeigie-mini_BMRDD_los-angeles_2012-05-23.LOG",
	"safecast_bgeigie_BGRDD_fukushima_2012-07-01.log",
}

// Cs-137: Γ_H = 0.09 µSv·m²/(MBq·h) (eval/detection). A detector of cal
// CPM per µSv/h sees A = Γ·activity·cal/60 counts per second at 1 m.
func strength(mbq, cal float64) float64 { return detection.Cs137.GammaH * mbq * cal / 60 }

// Scenario is one row of the report.
type Scenario struct {
	Name        string
	ActivityMBq float64
	// Distances are the passes' closest approaches, metres.
	Distances []float64
	MinD      float64 // with random distances: the lower bound
	Random    bool    // distances uniform in [MinD, Distances[k]]
	Detector  Detector
}

// Scenarios are the evaluated geometries.
func Scenarios() []Scenario {
	return []Scenario{
		{Name: "1 pass, 20 m, 10 GBq", ActivityMBq: 1e4, Distances: []float64{20}},
		{Name: "1 pass, 50 m, 10 GBq", ActivityMBq: 1e4, Distances: []float64{50}},
		{Name: "1 pass, 50 m, 100 GBq", ActivityMBq: 1e5, Distances: []float64{50}},
		{Name: "1 pass, 100 m, 100 GBq", ActivityMBq: 1e5, Distances: []float64{100}},
		{Name: "3 passes ≤ 50 m, 10 GBq", ActivityMBq: 1e4, Distances: []float64{50, 50, 50}, MinD: 10, Random: true},
		{Name: "3 passes ≤ 50 m, 100 GBq", ActivityMBq: 1e5, Distances: []float64{50, 50, 50}, MinD: 10, Random: true},
		{Name: "4 passes ≤ 50 m, 10 GBq", ActivityMBq: 1e4, Distances: []float64{50, 50, 50, 50}, MinD: 10, Random: true},
		// The same roads driven with a 1-s NaI log (appended: the rows
		// above keep their seeds).
		{Name: "NaI 1 s: 1 pass, 20 m, 10 GBq", ActivityMBq: 1e4, Distances: []float64{20}, Detector: NaI1s},
		{Name: "NaI 1 s: 1 pass, 50 m, 10 GBq", ActivityMBq: 1e4, Distances: []float64{50}, Detector: NaI1s},
		{Name: "NaI 1 s: 1 pass, 100 m, 100 GBq", ActivityMBq: 1e5, Distances: []float64{100}, Detector: NaI1s},
		{Name: "NaI 1 s: 1 pass, 20 m, 100 MBq", ActivityMBq: 100, Distances: []float64{20}, Detector: NaI1s},
		{Name: "NaI 1 s: 1 pass, 50 m, 100 MBq", ActivityMBq: 100, Distances: []float64{50}, Detector: NaI1s},
		{Name: "NaI 1 s: 1 pass, 100 m, 1 GBq", ActivityMBq: 1e3, Distances: []float64{100}, Detector: NaI1s},
		{Name: "NaI 1 s: 3 passes ≤ 50 m, 100 MBq", ActivityMBq: 100, Distances: []float64{50, 50, 50}, MinD: 10, Random: true, Detector: NaI1s},
		// No source: how often the background alone comes out significant.
		{Name: "no source, 1 pass", Distances: []float64{50}},
		{Name: "NaI 1 s: no source, 1 pass", Distances: []float64{50}, Detector: NaI1s},
	}
}

// Result is a scenario's outcome over its trials.
type Result struct {
	Scenario
	Trials int
	// Errors: the best mode's distance to the truth; Resolved: the nearest
	// of the reported modes' (the mirror ambiguity resolved by an oracle).
	Errors, Resolved []float64
	ClosestM         []float64 // actual closest approach of the nearest pass
	// CRB: √trace of the bound of the fit's model (A, every pass's
	// background and its trend unknown, localize.ModelCRB); CRBKnown: with
	// the backgrounds known (localize.CRB, the bound reported before).
	CRB, CRBKnown []float64
	// CRBCorr: the bound of the correlated-excess model (A, the
	// backgrounds unknown, each pass's excess autocovariance as the fit
	// estimated it, localize.CorrelatedCRB): not the physical bound of the
	// Poisson counts but what the road's humps leave of it.
	CRBCorr     []float64
	Covered     int // the truth in the best mode's ellipse
	CoveredWald int // ... in its observed-information ellipse alone
	CoveredAny  int // ... in any reported mode's region
	// ... in the best mode's summary ellipse, and in any mode's.
	CoveredEllipse, CoveredEllipseAny int
	CoveredAnySignificant             int // CoveredAny among the significant trials
	Ambiguous                         int
	Unbounded                         int // "no source" within the 95 % level
	Significant                       int // TS / dispersion ≥ 25 (Estimate.Significant)
	SignificantRaw                    int // TS ≥ 25 without dividing by the dispersion
}

// Median of a slice (NaN when empty).
func Median(v []float64) float64 {
	if len(v) == 0 {
		return math.NaN()
	}
	s := slices.Clone(v)
	sort.Float64s(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// site is a moment of a track where a pass window fits.
type site struct {
	track *detection.Track
	i     int // index of the moment's sample
}

// env is what the trials draw from: each log's pass sites, and the 1-s
// detector's background (nil without NaI rows).
type env struct {
	sites [][]site
	nai   *naiBackground
}

// loadTracks reads the logs driven from dir.
func loadTracks(dir string) ([]detection.Track, error) {
	var tracks []detection.Track
	for _, name := range logs {
		t, err := detection.LoadFile(filepath.Join(dir, name))
		if err != nil {
			return nil, err
		}
		tracks = append(tracks, t)
	}
	return tracks, nil
}

// Run is `radtrack eval localize`.
func Run(ctx context.Context, opt Options, w io.Writer) error {
	tracks, err := loadTracks(opt.DataDir)
	if err != nil {
		return err
	}
	sites := make([][]site, len(tracks))
	for k := range tracks {
		sites[k] = passSites(&tracks[k], opt.WindowS)
		if len(sites[k]) == 0 {
			return fmt.Errorf("eval localize: %s has no moving stretch of ±%.0f s", tracks[k].Name, opt.WindowS)
		}
	}
	e := &env{sites: sites}
	for _, sc := range Scenarios() {
		if sc.Detector == NaI1s && e.nai == nil && opt.selects(sc) {
			nai, err := loadNaIBackground(opt.DataDir)
			if err != nil {
				return err
			}
			if opt.NaIStretch >= len(nai.stretches) {
				return fmt.Errorf("eval localize: NaI stretch %d of %d", opt.NaIStretch, len(nai.stretches))
			}
			nai.pick = opt.NaIStretch + 1
			e.nai = nai
		}
	}
	bg := "real counts"
	if opt.PoissonBackground {
		bg = "Poisson background of each pass's mean rate"
	}
	if opt.BackgroundTrend {
		bg += "; each pass's background fitted with a linear trend along it"
	}
	if opt.Independent {
		bg += "; readings fitted as independent counts (no correlated excess)"
	}
	fmt.Fprintf(w, "Source localisation on real drives (Cs-137 injected; %d trials per row; passes ±%.0f s, %s)\n", opt.Trials, opt.WindowS, bg)
	for k, t := range tracks {
		fmt.Fprintf(w, "  vehicle %d: %s, %d pass sites, calibration %.0f CPM per µSv/h\n", k+1, t.Name, len(sites[k]), t.CPMPerUSvH)
	}
	if e.nai != nil {
		fmt.Fprintf(w, "  NaI 1 s rows: the same paths, a reading every second (positions interpolated between the real fixes); "+
			"Cs-137 sensitivity %.0f cps per µSv/h (2\"×4\"×16\" log, scaled from a 2\"×2\" NaI's published 900 cpm per µR/h); "+
			"background: %s, %d of %d s outside its source pass in %d stretches, halved (the file holds twice the counts), %.0f cps (%.0f–%.0f), "+
			"second-to-second scatter %.2f × Poisson; a pass is ±%.0f s (the shorter stretch), its background consecutive seconds of one stretch\n",
			naiCPSPerUSvH, racetrackFile, e.nai.kept, e.nai.total, len(e.nai.stretches), e.nai.mean, e.nai.lo, e.nai.hi, e.nai.scatter, min(opt.WindowS, e.nai.halfS()))
	}
	fmt.Fprintln(w)
	results, err := runScenarios(ctx, e, opt)
	if err != nil {
		return err
	}
	Write(w, results)
	return nil
}

func runScenarios(ctx context.Context, e *env, opt Options) ([]Result, error) {
	var results []Result
	for si, sc := range Scenarios() {
		if !opt.selects(sc) {
			continue
		}
		rng := rand.New(rand.NewPCG(opt.Seed, uint64(si)))
		res := Result{Scenario: sc}
		for range opt.Trials {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
			if err := trial(sc, e, opt, rng, &res); err != nil {
				return nil, err
			}
		}
		results = append(results, res)
	}
	return results, nil
}

// passSites are the moments with a complete window of moving readings.
func passSites(t *detection.Track, half float64) []site {
	s := t.Samples
	var out []site
	for i := range s {
		if !usable(&s[i]) {
			continue
		}
		lo, hi := i, i
		for lo > 0 && s[i].Time.Sub(s[lo-1].Time).Seconds() <= half {
			lo--
		}
		for hi+1 < len(s) && s[hi+1].Time.Sub(s[i].Time).Seconds() <= half {
			hi++
		}
		if s[i].Time.Sub(s[lo].Time).Seconds() < half-10 || s[hi].Time.Sub(s[i].Time).Seconds() < half-10 {
			continue
		}
		ok := true
		for j := lo; j <= hi && ok; j++ {
			ok = usable(&s[j]) && (j == lo || s[j].Time.Sub(s[j-1].Time).Seconds() <= 2*s[j].CountInterval)
		}
		if !ok || i < 2 || i+2 >= len(s) {
			continue
		}
		if v := speed(&s[i-2], &s[i+2]); v < 3 || v > 40 {
			continue
		}
		out = append(out, site{track: t, i: i})
	}
	return out
}

func usable(s *sample.Sample) bool {
	return s.GPSValid && sample.Has(s.Counts) && sample.Has(s.CountInterval) && s.CountInterval > 0
}

func speed(a, b *sample.Sample) float64 {
	f := localize.NewFrame(a.Lat, a.Lon)
	x, y := f.ToXY(b.Lat, b.Lon)
	return math.Hypot(x, y) / b.Time.Sub(a.Time).Seconds()
}

// span is the indices of st's track within half seconds of its moment.
func (st site) span(half float64) (lo, hi int) {
	s := st.track.Samples
	c := &s[st.i]
	lo, hi = st.i, st.i
	for lo > 0 && c.Time.Sub(s[lo-1].Time).Seconds() <= half {
		lo--
	}
	for hi+1 < len(s) && s[hi+1].Time.Sub(c.Time).Seconds() <= half {
		hi++
	}
	return lo, hi
}

// window is the pass around st as readings in a frame where the vehicle is
// at the origin at the moment, heading north (+y).
func window(st site, half float64, veh int) []localize.Reading {
	s := st.track.Samples
	c := &s[st.i]
	lo, hi := st.span(half)
	f := localize.NewFrame(c.Lat, c.Lon)
	rs := f.Readings(s[lo:hi+1], veh, st.track.CPMPerUSvH)
	toNorth(rs, f, s, st.i)
	return rs
}

// toNorth rotates readings in frame f so that the heading at sample i
// (over ±2 samples) points north.
func toNorth(rs []localize.Reading, f localize.Frame, s []sample.Sample, i int) {
	ax, ay := f.ToXY(s[i-2].Lat, s[i-2].Lon)
	bx, by := f.ToXY(s[i+2].Lat, s[i+2].Lon)
	h := math.Atan2(bx-ax, by-ay) // azimuth, radians
	sin, cos := math.Sin(h), math.Cos(h)
	rot := func(x, y float64) (float64, float64) { return x*cos - y*sin, x*sin + y*cos }
	for i := range rs {
		rs[i].X0, rs[i].Y0 = rot(rs[i].X0, rs[i].Y0)
		rs[i].X1, rs[i].Y1 = rot(rs[i].X1, rs[i].Y1)
	}
}

// place turns a north-heading window to azimuth az (radians) and moves it
// so that the vehicle's moment is d metres from the origin (the source),
// the source on its right (side +1) or left (−1).
func place(rs []localize.Reading, az, d, side float64) {
	sin, cos := math.Sin(az), math.Cos(az)
	// North (0, 1) turns to (sin az, cos az); the right of travel is
	// (cos az, −sin az). The vehicle at P, the source at P + side·d·right = 0.
	px, py := -side*d*cos, side*d*sin
	for i := range rs {
		for _, p := range []*[2]*float64{{&rs[i].X0, &rs[i].Y0}, {&rs[i].X1, &rs[i].Y1}} {
			x, y := *p[0], *p[1]
			*p[0], *p[1] = x*cos+y*sin+px, -x*sin+y*cos+py
		}
	}
}

func trial(sc Scenario, e *env, opt Options, rng *rand.Rand, res *Result) error {
	sites := e.sites
	var all []localize.Reading
	base := rng.Float64() * 2 * math.Pi
	// A is stated for a detector of the reference calibration (the
	// bGeigie's); others see it scaled by their calibration (Eff).
	a := strength(sc.ActivityMBq, sample.DefaultCPMPerUSvH)
	closest := math.Inf(1)
	for k, dmax := range sc.Distances {
		// Pass k: vehicle 1 for even passes, 2 for odd ones (one vehicle
		// when there is one pass).
		v := k % len(sites)
		st := sites[v][rng.IntN(len(sites[v]))]
		eff := st.track.CPMPerUSvH / sample.DefaultCPMPerUSvH
		var rs []localize.Reading
		switch sc.Detector {
		case NaI1s:
			if e.nai == nil {
				return fmt.Errorf("eval localize: %s: no NaI background loaded", sc.Name)
			}
			rs = windowNaI(st, min(opt.WindowS, e.nai.halfS()), k)
			if err := e.nai.fill(rs, rng); err != nil {
				return err
			}
			eff = naiEff
		default:
			rs = window(st, opt.WindowS, k)
		}
		if opt.PoissonBackground {
			var c, t float64
			for _, r := range rs {
				c, t = c+r.Counts, t+r.Live
			}
			for i := range rs {
				rs[i].Counts = float64(sim.Poisson(rng, c/t*rs[i].Live))
			}
		}
		d := dmax
		if sc.Random {
			d = sc.MinD + rng.Float64()*(dmax-sc.MinD)
		}
		side := 1.0
		if rng.IntN(2) == 0 {
			side = -1
		}
		place(rs, base+float64(k)*math.Pi/3, d, side)
		for i := range rs {
			rs[i].Eff = eff
			rs[i].Counts += float64(sim.Poisson(rng, localize.SourceCounts(rs[i], 0, 0, a, localize.Config{})))
			closest = min(closest, segDist(rs[i]))
		}
		all = append(all, rs...)
	}
	cfg := localize.Config{BackgroundTrend: opt.BackgroundTrend, Independent: opt.Independent}
	est, err := localize.Fit(all, cfg)
	if err != nil {
		return fmt.Errorf("eval localize: %w", err)
	}
	res.Trials++
	res.ClosestM = append(res.ClosestM, closest)
	res.Errors = append(res.Errors, math.Hypot(est.X, est.Y))
	// An unbounded region holds every position (Estimate.Unbounded).
	best, covAny := math.Hypot(est.X, est.Y), est.InRegion(0, 0)
	for _, m := range est.Alternatives {
		best = min(best, math.Hypot(m.X, m.Y))
	}
	res.Resolved = append(res.Resolved, best)
	if est.Unbounded || est.Contains(0, 0) {
		res.Covered++
	}
	if est.Unbounded {
		res.Unbounded++
	}
	if est.ContainsWald(0, 0) {
		res.CoveredWald++
	}
	if covAny {
		res.CoveredAny++
	}
	ellAny := est.ContainsEllipse(0, 0)
	for _, m := range est.Alternatives {
		ellAny = ellAny || m.ContainsEllipse(0, 0)
	}
	if est.ContainsEllipse(0, 0) {
		res.CoveredEllipse++
	}
	if ellAny {
		res.CoveredEllipseAny++
	}
	if est.Ambiguous {
		res.Ambiguous++
	}
	if est.TS >= localize.SignificantTS {
		res.SignificantRaw++
	}
	if est.Significant() {
		res.Significant++
		if covAny {
			res.CoveredAnySignificant++
		}
	}
	// The bound at the truth, with the backgrounds the fit found (each pass
	// its own), A unknown.
	_, crb, _ := localize.ModelCRB(all, est.Trends, 0, 0, a, cfg)
	res.CRB = append(res.CRB, crb)
	_, crb, _ = localize.CRB(all, est.Background, 0, 0, a, localize.Config{})
	res.CRBKnown = append(res.CRBKnown, crb)
	_, crb, _ = localize.CorrelatedCRB(all, est.Trends, est.Autocov, 0, 0, a, cfg)
	res.CRBCorr = append(res.CRBCorr, crb)
	return nil
}

// segDist is the distance from the origin to a reading's path.
func segDist(r localize.Reading) float64 {
	dx, dy := r.X1-r.X0, r.Y1-r.Y0
	l2 := dx*dx + dy*dy
	t := 0.0
	if l2 > 0 {
		t = min(max(-(r.X0*dx+r.Y0*dy)/l2, 0), 1)
	}
	return math.Hypot(r.X0+t*dx, r.Y0+t*dy)
}

// Write prints the table and the goals.
func Write(w io.Writer, results []Result) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "scenario\ttrials\tTS/φ≥25\tTS≥25\tclosest m\tmedian err m\tmirror-resolved m\terr/closest\tCRB m\terr/CRB\tcoverage\tcov. any mode\tany, TS≥25\tellipse cov.\tellipse any\tWald cov.\tambiguous\tunbounded\tCRB known m\terr/CRB known\tCRB corr. m\terr/CRB corr.\t")
	for _, r := range results {
		n := float64(max(r.Trials, 1))
		closest := Median(r.ClosestM)
		errs := r.Errors
		if len(r.Distances) == 1 {
			errs = r.Resolved
		}
		fmt.Fprintf(tw, "%s\t%d\t%.0f%%\t%.0f%%\t%.1f\t%.1f\t%.1f\t%.2f\t%.1f\t%.2f\t%.1f%%\t%.1f%%\t%.1f%%\t%.1f%%\t%.1f%%\t%.1f%%\t%.0f%%\t%.0f%%\t%.1f\t%.2f\t%.1f\t%.2f\t\n",
			r.Name, r.Trials, 100*float64(r.Significant)/n, 100*float64(r.SignificantRaw)/n, closest, Median(r.Errors), Median(r.Resolved),
			Median(errs)/closest, Median(r.CRB), Median(errs)/Median(r.CRB),
			100*float64(r.Covered)/n, 100*float64(r.CoveredAny)/n, 100*float64(r.CoveredAnySignificant)/float64(max(r.Significant, 1)), 100*float64(r.CoveredEllipse)/n, 100*float64(r.CoveredEllipseAny)/n,
			100*float64(r.CoveredWald)/n, 100*float64(r.Ambiguous)/n, 100*float64(r.Unbounded)/n, Median(r.CRBKnown), Median(errs)/Median(r.CRBKnown), Median(r.CRBCorr), Median(errs)/Median(r.CRBCorr))
	}
	tw.Flush()
	fmt.Fprintln(w, `
err/closest and err/CRB use the mirror-resolved error for one pass (one straight pass cannot tell
the side of the road: the fit reports both modes, "ambiguous"), the best mode's error for several.
coverage: the truth inside the best mode's 95 % region (the profile-likelihood contour, every
pass's background (with -trend, its trend too) profiled, its level scaled by the dispersion or, if
larger, the factor of the background's correlation along the pass, localize.Estimate.Scale); any mode: inside the region of the
best or of a reported mirror mode (the reported region: their union); any, TS≥25: the same among
the fits the map draws (significant); ellipse: inside the summary ellipse (axes of the observed
information, lengths from the profile likelihood) of the best mode, of any mode; Wald cov.: inside
the observed-information ellipse alone. unbounded: "no source" is within the 95 % level (TS ≤
5.991 × that scale), so every position is (A = 0 fits anywhere): the region is the whole plane and
covers the truth in coverage and any mode (before, the contour round the noise's best mode was
counted: 83 % in the 1 pass, 50 m, 10 GBq row); the ellipse and Wald columns are unchanged.
NaI 1 s rows: a 2"×4"×16" NaI log counting every second on the same roads (readings every second
along the real path, positions interpolated between the logs' fixes), background consecutive seconds
of the race-track NaI's real counts outside its source pass (see above), so a pass is only as long
as the shortest such stretch; the bGeigie rows are unchanged. no source: TS≥25 is how often the
background alone comes out significant; the other columns mean nothing there.
TS/φ≥25: significant as the fit reports it (TS divided by the region's scale or, if larger, the
correlation's factor on the strength: Estimate.Significant); TS≥25: without dividing.
Whitened fits (the NaI rows, ≥ 20 counts a reading, an excess found; not with -independent):
the modes, region and TS are those of the least-squares fit whitened by each pass's estimated
correlated excess (localize.Estimate.Whitened), its level scaled by that criterion's dispersion.
CRB: √trace of the (x, y) block of the inverse expected Fisher information at the truth of the fit's
own model: A, every pass's background and (with -trend) its trend unknown, at the
fit's backgrounds; CRB known: the backgrounds known (the bound reported before, smaller). An
efficient estimator's median radial error is ≈ 0.83 of the bound (isotropic 2-D Gaussian).
CRB corr.: not the physical bound but that of the correlated-background model the region is
scaled by (Poisson plus each pass's AR(1) excess as the fit estimated it, localize.CorrelatedCRB):
what the road's humps leave of the bound; ModelCRB's where the fit found no excess.
Goals (issue #20): 1 pass median ≤ 0.30 × closest approach; ≥ 3 passes ≤ 50 m: ≤ 10 m;
coverage 90–98 %; median error ≤ 1.5 × CRB.`)
}
