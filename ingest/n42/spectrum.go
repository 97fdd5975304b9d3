package n42

import (
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/radtrack/radtrack/sample"
)

// MaxChannels bounds one spectrum: real instruments have 256–16 384
// channels; a CountedZeroes run may not expand a small document into
// gigabytes.
const MaxChannels = 1 << 16

// Spectrum is one gamma spectrum of one detector in one measurement.
// Spectra never feed Sample.Counts: a NaI system's thousands of counts per
// second read with a Geiger tube's calibration would be a dose alarm.
type Spectrum struct {
	MeasurementID string // RadMeasurement id (2012) or Measurement UUID (2006)
	// Sample is the index in Document.Samples of the sample decoded from
	// the same measurement, -1 when that measurement gave no sample.
	Sample    int
	DeviceUID string
	Detector  string // detector reference or name, may be ""
	Time      time.Time
	RealTime  float64 // seconds, NaN when absent
	LiveTime  float64 // seconds, NaN when absent
	// Calibration holds the polynomial energy calibration in keV,
	// E(ch) = Σ c[i]·chⁱ with ch the 0-based channel; nil when the
	// document gives none (or only per-channel boundaries).
	Calibration []float64
	Channels    []float64 // counts per channel, CountedZeroes expanded
}

// Total is the sum of all channels.
func (s Spectrum) Total() float64 {
	var t float64
	for _, c := range s.Channels {
		t += c
	}
	return t
}

// Energy is the calibrated energy in keV of a (fractional) channel; NaN
// without a calibration.
func (s Spectrum) Energy(ch float64) float64 {
	if len(s.Calibration) == 0 {
		return math.NaN()
	}
	e, p := 0.0, 1.0
	for _, c := range s.Calibration {
		e += c * p
		p *= ch
	}
	return e
}

// Nuclide is one nuclide an instrument's own analysis reported.
type Nuclide struct {
	MeasurementIDs []string // the measurements the analysis covers; may be empty
	DeviceUID      string
	Algorithm      string
	Name           string // as the instrument wrote it, e.g. "Cs-137"
	Identified     bool   // NuclideIdentifiedIndicator (true when absent)
	// Confidence is NuclideIDConfidenceValue as written (the standard
	// does not fix a scale: 0–1 and 0–100 both occur); NaN when absent.
	Confidence float64
	// ConfidenceText is NuclideIDConfidenceIndication or
	// NuclideIDConfidenceDescription (2012) / NuclideIDConfidence (2006)
	// when given as words, e.g. "High".
	ConfidenceText string
}

type xChannelData struct {
	Compression string `xml:"Compression,attr"`
	Text        string `xml:",chardata"`
}

// channelData decodes a ChannelData list; Compression="CountedZeroes"
// writes a run of zeros as "0 n".
func channelData(cd xChannelData) ([]float64, error) {
	comp := strings.TrimSpace(cd.Compression)
	counted := strings.EqualFold(comp, "CountedZeroes")
	if comp != "" && !counted && !strings.EqualFold(comp, "None") {
		return nil, &sample.FieldError{Field: "ChannelData", Reason: fmt.Sprintf("compression %q is not supported", comp)}
	}
	fields := strings.Fields(cd.Text)
	out := make([]float64, 0, min(len(fields), MaxChannels))
	for i := 0; i < len(fields); i++ {
		v, err := number("ChannelData", fields[i])
		if err != nil {
			return nil, err
		}
		if v < 0 {
			return nil, &sample.FieldError{Field: "ChannelData", Reason: "counts must not be negative"}
		}
		n := 1.0
		if counted && v == 0 {
			if i+1 >= len(fields) {
				return nil, &sample.FieldError{Field: "ChannelData", Reason: "CountedZeroes: a 0 without its run length at the end"}
			}
			i++
			if n, err = number("ChannelData", fields[i]); err != nil {
				return nil, err
			}
			if n < 1 || n != math.Trunc(n) {
				return nil, &sample.FieldError{Field: "ChannelData", Reason: fmt.Sprintf("CountedZeroes: run length %q is not a positive integer", fields[i])}
			}
		}
		if float64(len(out))+n > MaxChannels {
			return nil, &sample.FieldError{Field: "ChannelData", Reason: fmt.Sprintf("more than %d channels", MaxChannels)}
		}
		for k := 0; k < int(n); k++ {
			out = append(out, v)
		}
	}
	if len(out) == 0 {
		return nil, &sample.FieldError{Field: "ChannelData", Reason: "no channels"}
	}
	return out, nil
}

// coefficients parses a polynomial calibration; an all-zero or empty list
// is no calibration.
func coefficients(field, v string) ([]float64, error) {
	var out []float64
	nonZero := false
	for _, f := range strings.Fields(v) {
		c, err := number(field, f)
		if err != nil {
			return nil, err
		}
		nonZero = nonZero || c != 0
		out = append(out, c)
	}
	if len(out) > 8 {
		return nil, &sample.FieldError{Field: field, Reason: fmt.Sprintf("%d coefficients, at most 8 supported", len(out))}
	}
	if !nonZero {
		return nil, nil
	}
	return out, nil
}

// optDuration parses an optional duration: "" gives NaN.
func optDuration(field, v string) (float64, error) {
	if strings.TrimSpace(v) == "" {
		return math.NaN(), nil
	}
	return ParseDuration(field, v)
}

// confidence splits a confidence element into a number or words.
func confidence(v string) (float64, string) {
	v = strings.TrimSpace(v)
	if v == "" {
		return math.NaN(), ""
	}
	if f, err := number("NuclideIDConfidenceValue", v); err == nil {
		return f, ""
	}
	return math.NaN(), v
}
