package sample

import (
	"math"
	"testing"
)

func bgeigieLike(cpm, counts float64) Sample {
	s := New()
	s.CPM, s.Counts, s.CountInterval = cpm, counts, 5
	return s
}

func TestFillDoseChoosesCountsOrCPMByTheirStatistics(t *testing.T) {
	for _, c := range []struct {
		name        string
		s           Sample
		dose        float64
		calRecorded bool
	}{
		// 4 of 40 in the latest 5 s: Binomial(40, 1/12) has mean 3.33,
		// p = 0.86, steady: the minute's CPM is the better estimate.
		{"steady background", bgeigieLike(40, 4), 40.0 / 334, true},
		// The Fukushima drive's busiest 5 s (01:52:01, 601 CPM, 71 counts,
		// 2.55 µSv/h on its own): Binomial(601, 1/12) mean 50.1, two-sided
		// p = 0.0041 > 1e-3: steady, CPM, 1.80 µSv/h. Its CPM peak (01:52:26,
		// 637 CPM, 49 counts, p = 0.62) reads 1.91, the drive's peak.
		// (Two-sided p-values here from exact sums, Python math.comb.)
		{"fukushima busiest 5 s", bgeigieLike(601, 71), 601.0 / 334, true},
		{"fukushima peak", bgeigieLike(637, 49), 637.0 / 334, true},
		// A source passed at speed: 20 of 57 counts in the latest 5 s
		// (mean 4.75): p = 3.0e-8, the 5-s counts are the truth.
		{"source pass", bgeigieLike(57, 20), 20 * 12.0 / 334, true},
		// Right after the pass: 3 counts while CPM still holds the source
		// (mean 20): p = 3.4e-6.
		{"after the pass", bgeigieLike(240, 3), 3 * 12.0 / 334, true},
		// Counts above a CPM that should include them: CPM is not the
		// minute's sum on this device; the counts are.
		{"counts above cpm", bgeigieLike(5, 9), 9 * 12.0 / 334, true},
		{"counts only", func() Sample { s := New(); s.Counts, s.CountInterval = 7, 2; return s }(), 7 * 30.0 / 334, true},
		{"cpm only", func() Sample { s := New(); s.CPM = 50; return s }(), 50.0 / 334, false},
		// A device that sends the dose its counts give (the simulator's
		// HTTP vehicles): kept, and the counts may be tested against levels.
		{"own dose equal to the counts'", func() Sample { s := bgeigieLike(40, 4); s.DoseRate = 40.0 / 334; return s }(), 40.0 / 334, true},
		{"own dose rounded to 4 decimals", func() Sample { s := bgeigieLike(40, 4); s.DoseRate = 0.1198; return s }(), 0.1198, true},
		// A device with its own calibration: its dose stands, and its counts
		// are not ours to convert.
		{"own dose of another calibration", func() Sample { s := bgeigieLike(40, 4); s.DoseRate = 0.05; return s }(), 0.05, false},
		{"nothing", New(), math.NaN(), false},
	} {
		t.Run(c.name, func(t *testing.T) {
			s := c.s
			s.FillDose(334)
			if !(s.DoseRate == c.dose || (math.IsNaN(c.dose) && math.IsNaN(s.DoseRate))) {
				t.Errorf("dose %v, want %v", s.DoseRate, c.dose)
			}
			if got := s.CPMPerUSvH == 334; got != c.calRecorded {
				t.Errorf("calibration recorded %v (%v), want %v", got, s.CPMPerUSvH, c.calRecorded)
			}
		})
	}
}

func TestFillDoseWithoutCalibrationChangesNothing(t *testing.T) {
	s := bgeigieLike(40, 4)
	s.FillDose(0)
	if Has(s.DoseRate) || s.CPMPerUSvH != 0 {
		t.Fatalf("%+v", s)
	}
}

// binomialTail against exact sums: Binomial(10, 1/2) at 3 gives 176/1024
// below and, at 7, 176/1024 above; Binomial(40, 1/12) at 0 gives
// (11/12)^40 below.
func TestBinomialTail(t *testing.T) {
	if got := binomialTail(3, 10, 0.5, false); math.Abs(got-176.0/1024) > 1e-13 {
		t.Errorf("P(X ≤ 3 | 10, .5) = %v", got)
	}
	if got := binomialTail(7, 10, 0.5, true); math.Abs(got-176.0/1024) > 1e-13 {
		t.Errorf("P(X ≥ 7 | 10, .5) = %v", got)
	}
	if got, want := binomialTail(0, 40, 1.0/12, false), math.Pow(11.0/12, 40); math.Abs(got-want) > 1e-15 {
		t.Errorf("P(X ≤ 0 | 40, 1/12) = %v, want %v", got, want)
	}
}

// SteadyWithCPM's boundary where it matters, from exact binomial sums
// (Python math.comb, q = 5/60): at 40 CPM, 10 counts in 5 s are steady
// (two-sided p = 0.00265) and 11 are not (0.00063); at 1200 CPM (100
// expected) the lower boundary lies between 70 (p = 0.00126) and 69
// (0.00084).
func TestSteadyWithCPMBoundaries(t *testing.T) {
	for _, c := range []struct {
		counts, cpm float64
		steady      bool
	}{{10, 40, true}, {11, 40, false}, {70, 1200, true}, {69, 1200, false}} {
		if got := SteadyWithCPM(c.counts, c.cpm, 5); got != c.steady {
			t.Errorf("%v counts, %v CPM: steady %v, want %v", c.counts, c.cpm, got, c.steady)
		}
	}
}
