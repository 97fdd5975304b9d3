// Package spectra suggests nuclides from gamma spectra: the net counts in
// a region of interest (ROI) around each line of a short list of nuclides
// a patrol meets, foreground against a background scaled by live time,
// with the continuum under the line taken from side bands on both sides.
// The results are hints for the person adjudicating an alarm, never a
// verdict: medical isotopes suggest "innocent – medical", NORM lines
// "innocent – NORM".
//
// Why side bands and not only the background: a source raises the whole
// continuum below its lines (Compton scattering), so foreground minus
// background is positive in every low-energy ROI. A line is a peak above
// the continuum on both sides; a Compton continuum is not.
package spectra

import (
	"math"
	"sort"

	"github.com/radtrack/radtrack/store"
)

// Category is what a nuclide suggests to the adjudicator.
type Category string

const (
	Medical    Category = "medical"    // innocent – medical (a patient)
	NORM       Category = "norm"       // innocent – naturally occurring
	Industrial Category = "industrial" // a sealed or lost source: look closer
)

// Nuclide is one nuclide of the list, with its lines in keV; the first is
// the one that must be present.
type Nuclide struct {
	Name     string
	Category Category
	Lines    []float64
}

// Library is the list of nuclides hinted at (line energies: NNDC/ENSDF
// decay data; only lines with a large yield).
var Library = []Nuclide{
	{"Am-241", Industrial, []float64{59.54}},
	{"Ba-133", Industrial, []float64{356.01, 81.00, 302.85, 383.85}},
	{"Tc-99m", Medical, []float64{140.51}},
	{"I-131", Medical, []float64{364.49, 636.99}},
	{"F-18", Medical, []float64{511.00}},
	{"Cs-137", Industrial, []float64{661.66}},
	{"Co-60", Industrial, []float64{1332.49, 1173.23}},
	{"K-40", NORM, []float64{1460.82}},
	{"Bi-214", NORM, []float64{609.31, 1764.49}},
	{"Tl-208", NORM, []float64{2614.51}},
}

// Resolution is a detector's full width at half maximum in keV at an
// energy in keV.
type Resolution func(keV float64) float64

// NaI is a typical sodium iodide detector: 7 % FWHM at 662 keV, growing
// as the square root of the energy.
func NaI(e float64) float64 { return 0.07 * 661.66 * math.Sqrt(e/661.66) }

// HPGe is a typical high-purity germanium detector: about 0.9 keV at
// 122 keV and 1.9 keV at 1332 keV.
func HPGe(e float64) float64 { return math.Sqrt(0.7*0.7 + 0.0022*e) }

// ResolutionFor guesses the detector from its binning: a spectrometer's
// channels are a few per FWHM, so below 0.5 keV per channel at 662 keV it
// is germanium, else a scintillator.
func ResolutionFor(s store.Spectrum) Resolution {
	if len(s.Calibration) > 1 {
		if ch := float64(channelAt(s.Calibration, 661.66, len(s.Counts))); ch >= 0 {
			if w := energy(s.Calibration, ch+1) - energy(s.Calibration, ch); w > 0 && w < 0.5 {
				return HPGe
			}
		}
	}
	return NaI
}

// Window widths in FWHM: the ROI holds ±1.25 FWHM (98 % of a Gaussian
// peak); each side band is 1.5 FWHM wide, right beside it.
const (
	roiHalfWidth = 1.25
	sideWidth    = 1.5
)

// Thresholds: the first line of a nuclide must stand PrimarySigma above
// its continuum, every other line within the spectra SecondarySigma.
const (
	PrimarySigma   = 5.0
	SecondarySigma = 3.0
)

// Line is the net peak of one line.
type Line struct {
	Nuclide      string  `json:"nuclide"`
	Energy       float64 `json:"energy_kev"`
	Net          float64 `json:"net_counts"`   // foreground counts above continuum and background
	Sigma        float64 `json:"sigma"`        // its standard deviation
	Significance float64 `json:"significance"` // Net / Sigma
	Covered      bool    `json:"covered"`      // the ROI and side bands lie inside every spectrum
}

// Hint is a nuclide whose lines are present.
type Hint struct {
	Nuclide      string   `json:"nuclide"`
	Category     Category `json:"category"`
	Significance float64  `json:"significance"` // of its first line
}

// Result is the analysis of a foreground against a background.
type Result struct {
	Lines []Line `json:"lines"`
	Hints []Hint `json:"hints"` // strongest first
}

// Analyze compares foreground spectra (summed) with background spectra
// (summed, scaled by the ratio of live times). Spectra without an energy
// calibration are ignored; each spectrum keeps its own calibration, so
// panels of one portal need not be rebinned. res nil: ResolutionFor the
// first calibrated foreground spectrum.
func Analyze(fg, bg []store.Spectrum, res Resolution) Result {
	fg, bg = calibrated(fg), calibrated(bg)
	if len(fg) == 0 {
		return Result{}
	}
	if res == nil {
		res = ResolutionFor(fg[0])
	}
	ratio := 0.0 // background scale; 0 without a background
	if lf, lb := liveTime(fg), liveTime(bg); lf > 0 && lb > 0 {
		ratio = lf / lb
	}
	var out Result
	for _, n := range Library {
		present := true
		var first Line
		for i, e := range n.Lines {
			l := line(n.Name, e, res(e), fg, bg, ratio)
			out.Lines = append(out.Lines, l)
			switch {
			case i == 0:
				first = l
				present = l.Covered && l.Significance >= PrimarySigma
			case l.Covered && l.Significance < SecondarySigma:
				present = false
			}
		}
		if present {
			out.Hints = append(out.Hints, Hint{Nuclide: n.Name, Category: n.Category, Significance: first.Significance})
		}
	}
	sort.SliceStable(out.Hints, func(i, j int) bool { return out.Hints[i].Significance > out.Hints[j].Significance })
	return out
}

// line measures one line: net = (ROI − continuum) of the foreground minus
// the same of the scaled background, Poisson variances propagated.
func line(name string, e, fwhm float64, fg, bg []store.Spectrum, ratio float64) Line {
	lo, hi := e-roiHalfWidth*fwhm, e+roiHalfWidth*fwhm
	llo, rhi := lo-sideWidth*fwhm, hi+sideWidth*fwhm
	l := Line{Nuclide: name, Energy: e, Covered: covers(fg, llo, rhi) && (ratio == 0 || covers(bg, llo, rhi))}
	// f scales the side bands' counts to the ROI's width.
	f := (hi - lo) / ((lo - llo) + (rhi - hi))
	sum := func(sp []store.Spectrum) (roi, side float64) {
		for _, s := range sp {
			roi += counts(s, lo, hi)
			side += counts(s, llo, lo) + counts(s, hi, rhi)
		}
		return roi, side
	}
	fr, fs := sum(fg)
	br, bs := sum(bg)
	l.Net = (fr - f*fs) - ratio*(br-f*bs)
	variance := fr + f*f*fs + ratio*ratio*(br+f*f*bs)
	if variance > 0 {
		l.Sigma = math.Sqrt(variance)
		l.Significance = l.Net / l.Sigma
	}
	return l
}

// counts sums the counts of s between energies lo and hi, a channel that
// straddles a boundary counting in proportion to its overlap. Channel i
// spans [E(i), E(i+1)).
func counts(s store.Spectrum, lo, hi float64) float64 {
	first := max(channelAt(s.Calibration, lo, len(s.Counts)), 0)
	var total float64
	for i := first; i < len(s.Counts); i++ {
		a, b := energy(s.Calibration, float64(i)), energy(s.Calibration, float64(i+1))
		if a >= hi {
			break
		}
		if b <= a {
			continue
		}
		if ov := math.Min(b, hi) - math.Max(a, lo); ov > 0 {
			total += float64(s.Counts[i]) * ov / (b - a)
		}
	}
	return total
}

// channelAt is the channel whose span holds energy e (bisection: the
// calibration rises across the spectrum), -1 below the first channel.
func channelAt(cal []float64, e float64, n int) int {
	lo, hi := 0, n
	if energy(cal, 0) > e {
		return -1
	}
	for hi-lo > 1 {
		mid := (lo + hi) / 2
		if energy(cal, float64(mid)) <= e {
			lo = mid
		} else {
			hi = mid
		}
	}
	return lo
}

func energy(cal []float64, ch float64) float64 {
	e, p := 0.0, 1.0
	for _, c := range cal {
		e += c * p
		p *= ch
	}
	return e
}

// covers reports whether every spectrum spans [lo, hi].
func covers(sp []store.Spectrum, lo, hi float64) bool {
	for _, s := range sp {
		if energy(s.Calibration, 0) > lo || energy(s.Calibration, float64(len(s.Counts))) < hi {
			return false
		}
	}
	return len(sp) > 0
}

func calibrated(sp []store.Spectrum) []store.Spectrum {
	var out []store.Spectrum
	for _, s := range sp {
		if len(s.Calibration) > 1 && len(s.Counts) > 1 && energy(s.Calibration, float64(len(s.Counts))) > energy(s.Calibration, 0) {
			out = append(out, s)
		}
	}
	return out
}

// liveTime sums live times (the real time when a live time is missing).
func liveTime(sp []store.Spectrum) float64 {
	var t float64
	for _, s := range sp {
		switch {
		case s.LiveTime > 0:
			t += s.LiveTime
		case s.RealTime > 0:
			t += s.RealTime
		}
	}
	return t
}
