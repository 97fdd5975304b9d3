package localization

import (
	"bytes"
	"context"
	"math"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/radtrack/radtrack/eval/detection"
	"github.com/radtrack/radtrack/internal/testutil"
	"github.com/radtrack/radtrack/localize"
)

// sharedOptions are the default options on the shared logs: the test
// skips without them, and fails under CI=true.
func sharedOptions(t *testing.T) Options {
	t.Helper()
	opt := DefaultOptions()
	for _, name := range append(slices.Clone(logs), racetrackFile) {
		opt.DataDir = filepath.Dir(testutil.RequiredRadiationFile(t, name))
	}
	return opt
}

// place puts the window's moment d metres to the chosen side of the
// origin, travelling at the chosen azimuth.
func TestPlace(t *testing.T) {
	// A north-heading window: the moment at the origin, one reading
	// before and after.
	rs := []localize.Reading{{X0: 0, Y0: -10, X1: 0, Y1: 0}, {X0: 0, Y0: 0, X1: 0, Y1: 10}}
	place(rs, math.Pi/2, 30, 1) // heading east, source on the right (south)
	if math.Abs(rs[0].X1) > 1e-9 || math.Abs(rs[0].Y1-30) > 1e-9 || math.Abs(rs[1].X1-10) > 1e-9 || math.Abs(rs[1].Y1-30) > 1e-9 {
		t.Fatalf("%+v", rs)
	}
	if d := segDist(rs[0]); math.Abs(d-30) > 1e-9 {
		t.Fatalf("closest %v", d)
	}
}

// A short run on the shared logs: every scenario runs its trials and the
// multi-pass rows localise to metres (a regression guard, not the goals).
func TestRunShort(t *testing.T) {
	opt := sharedOptions(t)
	opt.Trials = 8
	var buf bytes.Buffer
	if err := Run(context.Background(), opt, &buf); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	t.Log(out)
	for _, sc := range Scenarios() {
		if !strings.Contains(out, sc.Name) {
			t.Errorf("no row %q", sc.Name)
		}
	}
	// Four passes of a 10 GBq source within 50 m, on the real counts of
	// both logs: metres, not the grid's hundreds.
	tracks, err := loadTracks(opt.DataDir)
	if err != nil {
		t.Fatal(err)
	}
	sites := [][]site{passSites(&tracks[0], opt.WindowS), passSites(&tracks[1], opt.WindowS)}
	res := Result{Scenario: Scenario{Name: "4 passes", ActivityMBq: 1e4, Distances: []float64{50, 50, 50, 50}, MinD: 10, Random: true}}
	rng := rand.New(rand.NewPCG(1, 2))
	for range 20 {
		if err := trial(res.Scenario, &env{sites: sites}, opt, rng, &res); err != nil {
			t.Fatal(err)
		}
	}
	if m := Median(res.Errors); m > 15 {
		t.Errorf("4 passes: median error %.1f m", m)
	}
}

// A 1-s window along a log: one reading a second, each starting where the
// last ended, covering about the ±WindowS of the bGeigie window.
func TestWindowNaIIsOneSecondReadingsAlongThePath(t *testing.T) {
	opt := sharedOptions(t)
	tr, err := detection.LoadFile(filepath.Join(opt.DataDir, logs[0]))
	if err != nil {
		t.Fatal(err)
	}
	sites := passSites(&tr, opt.WindowS)
	for _, st := range []site{sites[0], sites[len(sites)/2], sites[len(sites)-1]} {
		rs := windowNaI(st, opt.WindowS, 3)
		if n := float64(len(rs)); n < 2*opt.WindowS-25 || n > 2*opt.WindowS+1 {
			t.Errorf("%d readings for ±%.0f s", len(rs), opt.WindowS)
		}
		var path float64
		for i, r := range rs {
			if r.Live != 1 || r.Vehicle != 3 {
				t.Fatalf("reading %d: %+v", i, r)
			}
			if i > 0 && math.Hypot(r.X0-rs[i-1].X1, r.Y0-rs[i-1].Y1) > 1e-6 {
				t.Fatalf("reading %d does not start where %d ended", i, i-1)
			}
			path += math.Hypot(r.X1-r.X0, r.Y1-r.Y0)
		}
		// The bGeigie window's path (its fixes) is the same road.
		var want float64
		for _, r := range window(st, opt.WindowS, 0)[1:] {
			want += math.Hypot(r.X1-r.X0, r.Y1-r.Y0)
		}
		if math.Abs(path-want) > 0.1*want {
			t.Errorf("1-s path %.0f m, the fixes' %.0f m", path, want)
		}
	}
}

// The NaI rows: the race-track background is what the file says (its
// pass left out), and on the same roads a 1-s NaI locates a source one
// pass at 50 m sees plainly within the single-pass goal (30 % of the
// distance, mirror resolved), where the bGeigie cannot.
func TestNaIRowsArePlausible(t *testing.T) {
	opt := sharedOptions(t)
	bg, err := loadNaIBackground(opt.DataDir)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("background %.0f cps (%.0f–%.0f), %d of %d s in %d stretches, scatter %.2f", bg.mean, bg.lo, bg.hi, bg.kept, bg.total, len(bg.stretches), bg.scatter)
	if bg.kept >= bg.total || bg.kept < bg.total/2 {
		t.Errorf("%d of %d seconds kept: the pass should be left out, little else", bg.kept, bg.total)
	}
	if bg.mean < bg.lo || bg.mean > bg.hi || bg.scatter < 0.5 || bg.scatter > 5 {
		t.Errorf("background %.0f cps in %.0f–%.0f, scatter %.2f", bg.mean, bg.lo, bg.hi, bg.scatter)
	}
	tracks, err := loadTracks(opt.DataDir)
	if err != nil {
		t.Fatal(err)
	}
	e := &env{sites: [][]site{passSites(&tracks[0], opt.WindowS), passSites(&tracks[1], opt.WindowS)}, nai: bg}
	run := func(det Detector) Result {
		res := Result{Scenario: Scenario{Name: "1 pass, 50 m, 10 GBq", ActivityMBq: 1e4, Distances: []float64{50}, Detector: det}}
		rng := rand.New(rand.NewPCG(3, 4))
		for range 16 {
			if err := trial(res.Scenario, e, opt, rng, &res); err != nil {
				t.Fatal(err)
			}
		}
		return res
	}
	nai, gm := run(NaI1s), run(BGeigie)
	t.Logf("50 m, 10 GBq, mirror resolved: NaI %.1f m (CRB %.1f), bGeigie %.1f m (CRB %.1f)", Median(nai.Resolved), Median(nai.CRB), Median(gm.Resolved), Median(gm.CRB))
	// One of these 16 (a hump under the peak, the excess read at ρ 0.95)
	// whitens with a dispersion in the thousands and is not significant
	// though 0.9 m off; the 200 trials of the eval's row are 98 %
	// significant with or without the excess's correction for the fit.
	if nai.Significant < nai.Trials-1 {
		t.Errorf("NaI: %d of %d significant", nai.Significant, nai.Trials)
	}
	if m := Median(nai.Resolved); !(m <= 0.3*50) || !(m < Median(gm.Resolved)) {
		t.Errorf("NaI median error %.1f m (bGeigie %.1f m)", m, Median(gm.Resolved))
	}
	if !(Median(nai.CRB) < Median(gm.CRB)) {
		t.Errorf("NaI bound %.1f m not below the bGeigie's %.1f m", Median(nai.CRB), Median(gm.CRB))
	}
}

// fill plays consecutive seconds of one stretch, forwards or backwards,
// and never joins two.
func TestNaIFillKeepsOneStretchInOrder(t *testing.T) {
	bg := &naiBackground{stretches: []naiStretch{
		{counts: []float64{100, 101, 102, 103, 104, 105}, live: []float64{1, 1, 1, 1, 1, 1}},
		{counts: []float64{200, 201, 202, 203, 204, 205, 206, 207}, live: []float64{1, 1, 1, 1, 1, 1, 1, 1}},
	}}
	if h := bg.halfS(); h != 2 {
		t.Fatalf("halfS %v, want 2 (the shorter stretch holds 2·2+1 readings)", h)
	}
	rng := rand.New(rand.NewPCG(1, 1))
	seen := map[float64]bool{}
	for range 200 {
		rs := make([]localize.Reading, 5)
		if err := bg.fill(rs, rng); err != nil {
			t.Fatal(err)
		}
		step := rs[1].Counts - rs[0].Counts
		if step != 1 && step != -1 {
			t.Fatalf("not consecutive: %v", rs)
		}
		for i := 1; i < len(rs); i++ {
			if rs[i].Counts-rs[i-1].Counts != step || math.Floor(rs[i].Counts/100) != math.Floor(rs[0].Counts/100) {
				t.Fatalf("not one stretch in order: %+v", rs)
			}
		}
		seen[math.Floor(rs[0].Counts/100)] = true
	}
	if !seen[1] || !seen[2] {
		t.Errorf("stretches drawn: %v", seen)
	}
	if err := bg.fill(make([]localize.Reading, 9), rng); err == nil {
		t.Error("9 readings filled from stretches of 6 and 8")
	}
}
