// Package dose accounts for the dose a vehicle (and the crew in it) took:
// the integral of the dose rate over time, time above levels, distance and
// reporting time, from a time-ordered stream of samples (pure; the caller
// streams them from the store).
//
// Method (README "Dose accounting"): consecutive samples that both carry
// a dose rate and are at most MaxGap apart are joined by a straight line
// (trapezoidal rule): the dose of the interval is (r1+r2)/2 × Δt, rates in
// µSv/h and Δt in hours, so the result is in µSv. An interval longer than
// MaxGap is a gap: nothing is assumed about it, it adds no dose and no
// reporting time, and it is counted in Gaps. Samples without a dose rate
// are skipped for the dose (the interval is between the dosed samples
// around them). Time above a level is the part of each joined interval
// where the straight line is strictly above the level. Distance is the
// great-circle length between consecutive fixes at most MaxGap apart.
// Nothing is extrapolated past the first and last sample of the range.
package dose

import (
	"math"
	"time"

	"github.com/radtrack/radtrack/sample"
)

// DefaultMaxGap is the longest interval bridged by default: devices report
// every 1-5 s, so a minute without a sample is an outage, not a lull.
const DefaultMaxGap = 60 * time.Second

// Config sets how samples are joined.
type Config struct {
	MaxGap time.Duration // longest interval bridged; 0 → DefaultMaxGap
	Levels []float64     // µSv/h levels for Summary.Above, ascending
}

// LevelTime is the time spent above one level.
type LevelTime struct {
	Level   float64 `json:"level_usvh"`
	Seconds float64 `json:"seconds"`
}

// Summary is the accounting of one stream of samples.
type Summary struct {
	Samples     int        `json:"samples"`
	DoseSamples int        `json:"dose_samples"`
	First       *time.Time `json:"first,omitempty"`
	Last        *time.Time `json:"last,omitempty"`
	// DoseUSv is the integral of the dose rate over the joined intervals.
	DoseUSv float64 `json:"dose_usv"`
	// DoseSeconds is the time the dose integral covers.
	DoseSeconds float64 `json:"dose_seconds"`
	// ReportingSeconds is the time covered by consecutive samples (any
	// content) at most MaxGap apart.
	ReportingSeconds float64 `json:"reporting_seconds"`
	// Gaps counts intervals longer than MaxGap (not bridged).
	Gaps        int         `json:"gaps"`
	MaxDoseRate *float64    `json:"max_dose_rate_usvh"`
	MaxAt       *time.Time  `json:"max_at,omitempty"`
	DistanceM   float64     `json:"distance_m"`
	Above       []LevelTime `json:"above"`
	MaxGapS     float64     `json:"max_gap_s"`
}

// Accumulator folds samples, oldest first, into a Summary.
type Accumulator struct {
	cfg    Config
	sum    Summary
	prevT  time.Time // last sample
	hasAny bool
	// last sample with a dose
	doseT    time.Time
	doseR    float64
	hasDose  bool
	fixT     time.Time
	fixLon   float64
	fixLat   float64
	hasFix   bool
	maxRate  float64
	maxAt    time.Time
	hasMax   bool
	doseGaps int
}

// New returns an empty accumulator.
func New(cfg Config) *Accumulator {
	if cfg.MaxGap <= 0 {
		cfg.MaxGap = DefaultMaxGap
	}
	a := &Accumulator{cfg: cfg}
	a.sum.Above = make([]LevelTime, len(cfg.Levels))
	for i, l := range cfg.Levels {
		a.sum.Above[i].Level = l
	}
	a.sum.MaxGapS = cfg.MaxGap.Seconds()
	return a
}

// Add takes the next sample; samples must come in time order (a sample not
// after the previous one is ignored).
func (a *Accumulator) Add(s *sample.Sample) {
	if a.hasAny && !s.Time.After(a.prevT) {
		return
	}
	if a.hasAny {
		if dt := s.Time.Sub(a.prevT); dt <= a.cfg.MaxGap {
			a.sum.ReportingSeconds += dt.Seconds()
		} else {
			a.sum.Gaps++
		}
	}
	a.hasAny, a.prevT = true, s.Time
	a.sum.Samples++
	if a.sum.First == nil {
		t := s.Time
		a.sum.First = &t
	}
	if s.GPSValid {
		if a.hasFix && s.Time.Sub(a.fixT) <= a.cfg.MaxGap {
			a.sum.DistanceM += Haversine(a.fixLon, a.fixLat, s.Lon, s.Lat)
		}
		a.fixT, a.fixLon, a.fixLat, a.hasFix = s.Time, s.Lon, s.Lat, true
	}
	r := s.DoseRate
	if math.IsNaN(r) || math.IsInf(r, 0) {
		return
	}
	a.sum.DoseSamples++
	if !a.hasMax || r > a.maxRate {
		a.maxRate, a.maxAt, a.hasMax = r, s.Time, true
	}
	if a.hasDose {
		if dt := s.Time.Sub(a.doseT); dt <= a.cfg.MaxGap {
			h := dt.Hours()
			a.sum.DoseUSv += (a.doseR + r) / 2 * h
			a.sum.DoseSeconds += dt.Seconds()
			for i := range a.sum.Above {
				a.sum.Above[i].Seconds += above(a.doseR, r, a.sum.Above[i].Level) * dt.Seconds()
			}
		}
	}
	a.doseT, a.doseR, a.hasDose = s.Time, r, true
}

// above is the fraction of a straight line from r1 to r2 strictly above l.
func above(r1, r2, l float64) float64 {
	switch {
	case r1 > l && r2 > l:
		return 1
	case r1 <= l && r2 <= l:
		return 0
	}
	return (math.Max(r1, r2) - l) / math.Abs(r2-r1)
}

// Summary returns the accounting so far.
func (a *Accumulator) Summary() Summary {
	out := a.sum
	out.Above = append([]LevelTime(nil), a.sum.Above...)
	if a.hasAny {
		t := a.prevT
		out.Last = &t
	}
	if a.hasMax {
		r, t := a.maxRate, a.maxAt
		out.MaxDoseRate, out.MaxAt = &r, &t
	}
	return out
}

// earthRadiusM is the mean Earth radius (IUGG).
const earthRadiusM = 6_371_008.8

// Haversine is the great-circle distance in metres between two WGS84
// positions on a spherical Earth (error < 0.5 %, fine for an odometer).
func Haversine(lon1, lat1, lon2, lat2 float64) float64 {
	const rad = math.Pi / 180
	dLat, dLon := (lat2-lat1)*rad, (lon2-lon1)*rad
	h := math.Sin(dLat/2)*math.Sin(dLat/2) + math.Cos(lat1*rad)*math.Cos(lat2*rad)*math.Sin(dLon/2)*math.Sin(dLon/2)
	return 2 * earthRadiusM * math.Asin(math.Min(1, math.Sqrt(h)))
}
