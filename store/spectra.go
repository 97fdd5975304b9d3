package store

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"time"
)

// Spectrum is one gamma spectrum of one detector of a device at one
// measurement time, stored beside the samples. (DeviceID, Time, Detector)
// is its key: rewriting a stored key is not an error and stores nothing.
type Spectrum struct {
	DeviceID int64
	Time     time.Time
	Detector string  // "" for an instrument with one detector
	RealTime float64 // seconds, NaN when unknown
	LiveTime float64 // seconds, NaN when unknown
	// Calibration is the polynomial energy calibration in keV,
	// E(ch) = Σ c[i]·chⁱ; nil when unknown.
	Calibration []float64
	Counts      []uint32 // counts per channel
	// Nuclides are the instrument's own identifications for this
	// measurement (N42 AnalysisResults), kept as it reported them.
	Nuclides []NuclideID
}

// NuclideID is an instrument's identification of a nuclide.
type NuclideID struct {
	Name       string   `json:"name"`
	Identified bool     `json:"identified"`
	Confidence *float64 `json:"confidence,omitempty"` // as written; no fixed scale
	Text       string   `json:"confidence_text,omitempty"`
	Algorithm  string   `json:"algorithm,omitempty"`
}

// Total is the sum of all channels.
func (s Spectrum) Total() int64 {
	var t int64
	for _, c := range s.Counts {
		t += int64(c)
	}
	return t
}

// SpectrumQuery selects one device's spectra in [From, To), oldest first.
type SpectrumQuery struct {
	DeviceID int64
	From, To time.Time
	Limit    int // most spectra returned; <= 0 means DefaultSpectrumLimit
}

// DefaultSpectrumLimit bounds a spectrum query without a limit: an hour
// of one-second spectra.
const DefaultSpectrumLimit = 3600

// Spectra stores gamma spectra.
type Spectra interface {
	// WriteSpectra stores spectra durably (returns after commit).
	WriteSpectra(ctx context.Context, spectra []Spectrum) error
	// SpectraRange returns the spectra q selects.
	SpectraRange(ctx context.Context, q SpectrumQuery) ([]Spectrum, error)
	// DeleteSpectraBefore deletes at most limit spectra older than before
	// (retention; callers repeat until fewer than limit go) and returns
	// how many it deleted.
	DeleteSpectraBefore(ctx context.Context, before time.Time, limit int) (int64, error)
}

// MaxSpectrumChannels bounds a stored spectrum (N42 instruments have up
// to 16 384 channels).
const MaxSpectrumChannels = 1 << 16

const countsFormat = 1

// EncodeCounts packs channel counts compactly: a format byte, the channel
// count as a uvarint, then each channel's difference from the previous
// one, zigzag-varint encoded. Neighbouring channels of a gamma spectrum
// differ little and long runs are zero, so most channels take one byte
// (the race-track drive's 1 024-channel one-second spectra take about
// 1 KB instead of 4 KB as uint32, 8 KB as float64).
func EncodeCounts(counts []uint32) []byte {
	out := make([]byte, 0, 1+binary.MaxVarintLen32+len(counts))
	out = append(out, countsFormat)
	out = binary.AppendUvarint(out, uint64(len(counts)))
	prev := int64(0)
	for _, c := range counts {
		out = binary.AppendVarint(out, int64(c)-prev)
		prev = int64(c)
	}
	return out
}

// ErrBadCounts is a packed counts value that EncodeCounts cannot have
// written.
var ErrBadCounts = errors.New("store: bad packed spectrum counts")

// DecodeCounts reverses EncodeCounts.
func DecodeCounts(b []byte) ([]uint32, error) {
	if len(b) == 0 || b[0] != countsFormat {
		return nil, fmt.Errorf("%w: unknown format", ErrBadCounts)
	}
	b = b[1:]
	n, k := binary.Uvarint(b)
	if k <= 0 || n > MaxSpectrumChannels {
		return nil, fmt.Errorf("%w: channel count", ErrBadCounts)
	}
	b = b[k:]
	out := make([]uint32, n)
	prev := int64(0)
	for i := range out {
		d, k := binary.Varint(b)
		if k <= 0 {
			return nil, fmt.Errorf("%w: channel %d", ErrBadCounts, i)
		}
		b = b[k:]
		v := prev + d
		if v < 0 || v > math.MaxUint32 {
			return nil, fmt.Errorf("%w: channel %d out of range", ErrBadCounts, i)
		}
		out[i], prev = uint32(v), v
	}
	if len(b) != 0 {
		return nil, fmt.Errorf("%w: %d trailing bytes", ErrBadCounts, len(b))
	}
	return out, nil
}

// Validate refuses a spectrum no store can hold.
func (s Spectrum) Validate() error {
	switch {
	case s.DeviceID <= 0:
		return fmt.Errorf("spectrum: device id %d", s.DeviceID)
	case s.Time.IsZero():
		return errors.New("spectrum: no time")
	case len(s.Counts) == 0 || len(s.Counts) > MaxSpectrumChannels:
		return fmt.Errorf("spectrum: %d channels, want 1..%d", len(s.Counts), MaxSpectrumChannels)
	case len(s.Calibration) > 8:
		return fmt.Errorf("spectrum: %d calibration coefficients, at most 8", len(s.Calibration))
	}
	for _, v := range append([]float64{s.RealTime, s.LiveTime}, s.Calibration...) {
		if math.IsInf(v, 0) {
			return errors.New("spectrum: infinite time or calibration")
		}
	}
	for _, c := range s.Calibration {
		if math.IsNaN(c) {
			return errors.New("spectrum: NaN calibration coefficient")
		}
	}
	return nil
}
