package spectra

import (
	"fmt"
	"math"
	"os"
	"testing"

	"github.com/radtrack/radtrack/importer"
	"github.com/radtrack/radtrack/ingest/n42"
	"github.com/radtrack/radtrack/internal/testutil"
	"github.com/radtrack/radtrack/store"
)

func load(t *testing.T, name string) []store.Spectrum {
	t.Helper()
	f, err := os.Open(testutil.RequiredRadiationFile(t, name))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	doc, err := n42.Decode(f)
	if err != nil {
		t.Fatal(err)
	}
	skipped := map[string]int{}
	sp := importer.Spectra(doc, 1, skipped)
	if len(skipped) != 0 {
		t.Fatalf("skipped %v", skipped)
	}
	return sp
}

// The portal's Ba-133 source against the same portal's background: Ba-133
// and nothing else; the other way round nothing at all.
func TestPortalBa133(t *testing.T) {
	fg, bg := load(t, "interspec_ba133_source_640s.n42"), load(t, "interspec_background_640s.n42")
	if ResolutionFor(fg[0])(661.66) != HPGe(661.66) {
		t.Fatal("the portal's 0.19 keV channels are not recognised as germanium")
	}
	r := Analyze(fg, bg, nil)
	if len(r.Hints) != 1 || r.Hints[0].Nuclide != "Ba-133" || r.Hints[0].Category != Industrial || r.Hints[0].Significance < 100 {
		t.Fatalf("hints %+v", r.Hints)
	}
	if len(r.Lines) != 16 {
		t.Fatalf("%d lines", len(r.Lines))
	}
	for _, l := range r.Lines {
		if !l.Covered {
			t.Errorf("%s %.0f keV not covered", l.Nuclide, l.Energy)
		}
		// Every line of every other nuclide stays below the secondary
		// threshold: the Compton continuum of the 356 keV line must not
		// look like Tc-99m at 140 keV or Am-241 at 60 keV.
		if l.Nuclide != "Ba-133" && l.Significance >= SecondarySigma {
			t.Errorf("%s %.0f keV at %.1fσ", l.Nuclide, l.Energy, l.Significance)
		}
		if l.Nuclide == "Ba-133" && l.Significance < 100 {
			t.Errorf("Ba-133 %.0f keV only %.1fσ", l.Energy, l.Significance)
		}
	}
	if r := Analyze(bg, fg, nil); len(r.Hints) != 0 {
		t.Errorf("background against the source: hints %+v", r.Hints)
	}
}

// Without a background the portal's background spectrum shows what a
// background is made of: the NORM lines and the 511 keV annihilation line
// (pair production by cosmic rays), which alone would read as F-18 —
// hence hints always compare with the vehicle's own background.
func TestBackgroundAloneShowsNORM(t *testing.T) {
	r := Analyze(load(t, "interspec_background_640s.n42"), nil, nil)
	var got []string
	for _, h := range r.Hints {
		got = append(got, h.Nuclide+":"+string(h.Category))
	}
	want := []string{"K-40:norm", "Tl-208:norm", "Bi-214:norm", "F-18:medical"}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("hints %v, want %v", got, want)
	}
}

// A synthetic NaI spectrum: a Gaussian Cs-137 peak on a sloping
// continuum, 3 keV channels.
func TestSyntheticCs137(t *testing.T) {
	mk := func(peak float64) store.Spectrum {
		s := store.Spectrum{Calibration: []float64{0, 3}, Counts: make([]uint32, 1024), LiveTime: 100}
		sigma := NaI(661.66) / 2.3548
		for i := range s.Counts {
			e := 3*float64(i) + 1.5
			c := 2000*math.Exp(-e/400) + 50
			c += peak * 3 / (sigma * math.Sqrt(2*math.Pi)) * math.Exp(-0.5*math.Pow((e-661.66)/sigma, 2))
			s.Counts[i] = uint32(math.Round(c))
		}
		return s
	}
	if ResolutionFor(mk(0))(661.66) != NaI(661.66) {
		t.Fatal("3 keV channels not recognised as a scintillator")
	}
	r := Analyze([]store.Spectrum{mk(5000)}, []store.Spectrum{mk(0)}, nil)
	if len(r.Hints) != 1 || r.Hints[0].Nuclide != "Cs-137" || r.Hints[0].Category != Industrial {
		t.Fatalf("hints %+v", r.Hints)
	}
	for _, l := range r.Lines {
		if l.Nuclide == "Cs-137" && math.Abs(l.Net-5000*0.95) > 5000*0.1 {
			t.Errorf("Cs-137 net %.0f, want about %.0f (most of the peak; the side bands take the tails)", l.Net, 5000*0.95)
		}
	}
	// The same foreground and background: nothing.
	if r := Analyze([]store.Spectrum{mk(5000)}, []store.Spectrum{mk(5000)}, nil); len(r.Hints) != 0 {
		t.Errorf("hints %+v", r.Hints)
	}
	// No calibration: nothing to say.
	if r := Analyze([]store.Spectrum{{Counts: []uint32{1, 2}}}, nil, nil); len(r.Lines) != 0 || len(r.Hints) != 0 {
		t.Errorf("%+v", r)
	}
}

func TestCountsSplitsChannels(t *testing.T) {
	s := store.Spectrum{Calibration: []float64{0, 2}, Counts: []uint32{10, 20, 30, 40}} // channels of 2 keV
	for _, c := range []struct{ lo, hi, want float64 }{{0, 8, 100}, {1, 3, 15}, {2, 6, 50}, {-5, 1, 5}, {7, 20, 20}, {8, 9, 0}} {
		if got := counts(s, c.lo, c.hi); math.Abs(got-c.want) > 1e-9 {
			t.Errorf("counts(%v, %v) = %v, want %v", c.lo, c.hi, got, c.want)
		}
	}
}
