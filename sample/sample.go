// Package sample defines the one measurement type that flows from every
// protocol decoder through rules, live push and storage.
//
// Units are fixed at the edge (design.md §3): UTC time, WGS84 lon/lat,
// dose rate in µSv/h, speed in m/s. Optional numeric fields use NaN for
// "not reported" so that a sample stays a flat value type; use Has to test.
package sample

import (
	"math"
	"time"
)

// Source names the path a sample came in on.
const (
	SourceHTTP    = "http"
	SourceOsmAnd  = "osmand"
	SourceBGeigie = "bgeigie"
	SourceTraccar = "traccar"
	SourceImport  = "import"
)

// Sample is one position + radiation reading of one device.
type Sample struct {
	// DeviceID is the internal device id, set by the pipeline once the
	// reporting device has been authenticated. Decoders leave it 0.
	DeviceID int64
	// DeviceUID is the identifier the device itself reports (OsmAnd id,
	// bGeigie serial). Decoders fill it when the protocol carries one.
	DeviceUID string

	Time       time.Time // device time, UTC
	ReceivedAt time.Time // server receive time, UTC

	Lon, Lat float64 // WGS84 degrees; meaningful only when GPSValid
	GPSValid bool    // a fix the map and fences may use

	Altitude   float64 // metres, NaN if absent
	Speed      float64 // m/s, NaN if absent
	Heading    float64 // degrees from north, NaN if absent
	HDOP       float64 // NaN if absent
	Accuracy   float64 // horizontal accuracy in metres, NaN if absent
	Satellites int     // -1 if absent

	DoseRate      float64 // µSv/h, NaN if absent
	CPM           float64 // counts per minute, NaN if absent
	Counts        float64 // counts in the last interval, NaN if absent
	CountInterval float64 // seconds the Counts were taken over, NaN if absent
	RadValid      bool    // the detector flagged the reading as valid
	// CPMPerUSvH is the detector calibration that turns Counts into
	// DoseRate, set by FillDose when DoseRate is (or equals) the dose it
	// derives from the counts; 0 otherwise. Rules use it to test the raw
	// counts against a dose level (rules/detect.go).
	CPMPerUSvH float64

	Battery float64 // percent 0–100, NaN if absent

	Source     string         // one of the Source constants
	Imported   bool           // from a log import: rules run, nobody is paged
	Attributes map[string]any // everything else the device sent
}

// New returns a sample with every optional field marked absent.
func New() Sample {
	nan := math.NaN()
	return Sample{
		Altitude: nan, Speed: nan, Heading: nan, HDOP: nan, Accuracy: nan,
		Satellites: -1,
		DoseRate:   nan, CPM: nan, Counts: nan, CountInterval: nan,
		Battery: nan,
	}
}

// Has reports whether an optional numeric field was reported.
func Has(v float64) bool { return !math.IsNaN(v) }

// KnotsToMS converts a speed in knots to metres per second (1 kn = 1852 m/h).
func KnotsToMS(knots float64) float64 { return knots * 1852.0 / 3600.0 }

// DefaultCPMPerUSvH is the calibration of the LND 7317 tube used in Safecast
// bGeigie units (design.md §3).
const DefaultCPMPerUSvH = 334.0

// FillDose derives DoseRate from the detector's counts when the device did
// not send a dose itself; cpmPerUSvH is the device's calibration. It also
// records that calibration in CPMPerUSvH whenever the dose is the one the
// counts give (derived here, or sent by a device that computes it the same
// way), so that rules may test the raw counts against a dose level.
//
// Which counts (design: README "Detection statistics"): a bGeigie sends the
// counts of the last 5 s and CPM, the moving sum of the last twelve 5-s
// intervals (this one included). While the rate is steady the 60-s sum is
// the better estimate (twelve times the counts, 1/√12 of the relative
// error); when the vehicle drives into or past a source the 5-s counts are
// the truth and CPM lags by up to a minute. Given the minute's CPM, the
// share of this interval is Binomial(CPM, interval/60) if the rate was
// steady; FillDose uses the 5-s counts when that test rejects steadiness
// (two-sided p < SteadyRateAlpha), CPM otherwise. Counts without CPM give
// the dose from the counts, CPM without counts from CPM.
func (s *Sample) FillDose(cpmPerUSvH float64) {
	if !(cpmPerUSvH > 0) || math.IsInf(cpmPerUSvH, 0) {
		return
	}
	derived, fromCounts := s.doseFromCounts(cpmPerUSvH)
	if !Has(s.DoseRate) {
		s.DoseRate = derived
	} else if !Has(derived) || math.Abs(s.DoseRate-derived) > doseAgreement+1e-9*derived {
		return // the device's own dose, from counts we cannot reproduce
	}
	if fromCounts {
		s.CPMPerUSvH = cpmPerUSvH
	}
}

// doseAgreement is how far (µSv/h) a device's own dose may differ from the
// one derived from its counts and still be taken as derived from them:
// OsmAnd-style senders round the dose to 4 decimals.
const doseAgreement = 0.5e-4

// SteadyRateAlpha is the two-sided significance at which FillDose takes a
// bGeigie's 5-s counts as a real change of rate against its 60-s CPM. At
// 1e-3 the Fukushima drive (1 046 readings) switches on 4 of them and its
// peak reads 1.91 µSv/h, the instrument's own CPM value (its busiest 5 s,
// 71 counts in a CPM of 601, p = 0.004, are steady enough); a source
// passed at speed (tens of counts in 5 s over a CPM of ~40) switches at
// once.
const SteadyRateAlpha = 1e-3

// doseFromCounts derives the dose with calibration cal (see FillDose);
// fromCounts reports whether the sample's Counts were part of it.
func (s *Sample) doseFromCounts(cal float64) (dose float64, fromCounts bool) {
	counts := Has(s.Counts) && s.Counts >= 0 && Has(s.CountInterval) && s.CountInterval > 0
	cpm := Has(s.CPM) && s.CPM >= 0
	switch {
	case counts && cpm && s.CountInterval < 60 && SteadyWithCPM(s.Counts, s.CPM, s.CountInterval):
		return s.CPM / cal, true
	case counts:
		return s.Counts * (60 / s.CountInterval) / cal, true
	case cpm:
		return s.CPM / cal, false
	}
	return math.NaN(), false
}

// SteadyWithCPM reports whether counts taken over interval seconds are
// consistent with cpm, a one-minute moving sum that includes them, at a
// steady rate: the two-sided binomial test of counts ~ Binomial(cpm,
// interval/60) does not reject at SteadyRateAlpha.
func SteadyWithCPM(counts, cpm, interval float64) bool {
	n, k := math.Round(cpm), math.Round(counts)
	if k > n {
		return false
	}
	q := interval / 60
	mean := n * q
	if math.Abs(k-mean) < 2*math.Sqrt(mean*(1-q)) { // p > 0.04: the usual case
		return true
	}
	return 2*binomialTail(k, n, q, k > mean) >= SteadyRateAlpha
}

// binomialTail returns P(X ≥ k) (upper) or P(X ≤ k) for X ~ Binomial(n, q),
// summing the probability mass outwards from k by the ratio of successive
// terms. Only the short tail is ever asked for (k beyond the mean on its
// side), so the terms shrink at once and the sum stops after a few times
// the standard deviation however large n is.
func binomialTail(k, n, q float64, upper bool) float64 {
	lgN, _ := math.Lgamma(n + 1)
	lgK, _ := math.Lgamma(k + 1)
	lgNK, _ := math.Lgamma(n - k + 1)
	term := math.Exp(lgN - lgK - lgNK + k*math.Log(q) + (n-k)*math.Log1p(-q))
	sum := term
	odds := q / (1 - q)
	for i := k; term > sum*1e-15; {
		if upper {
			if i >= n {
				break
			}
			term *= (n - i) / (i + 1) * odds
			i++
		} else {
			if i <= 0 {
				break
			}
			term *= i / (n - i + 1) / odds
			i--
		}
		sum += term
	}
	return min(sum, 1)
}
