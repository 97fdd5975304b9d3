package sim

import (
	"math"
	"math/rand/v2"

	"github.com/radtrack/radtrack/sample"
)

// Physics constants of the radiation model.
const (
	// AirMu662 is the linear attenuation coefficient of air for the 662 keV
	// line of Cs-137: μ/ρ ≈ 0.0775 cm²/g × ρ ≈ 1.205 kg/m³ ≈ 0.0093 per metre.
	AirMu662 = 0.0093
	// MinDistance keeps 1/r² finite: closer than this the detector sees the
	// source as an extended object, not a point.
	MinDistance = 1.0
	// BackgroundMin and BackgroundMax bound natural background, µSv/h
	// (design.md §6: natural background is 0.05–0.2 µSv/h).
	BackgroundMin = 0.05
	BackgroundMax = 0.12
)

// Source is a hidden gamma point source.
type Source struct {
	Name     string
	Pos      LonLat
	Strength float64 // ambient dose rate at 1 m, µSv/h
}

// wave is one plane-wave term of the background pattern.
type wave struct{ kx, ky, phase float64 }

// Field is the ambient dose rate over a layout: a smooth natural background
// plus point sources. It is immutable and safe for concurrent use.
type Field struct {
	frame   Frame
	mu      float64 // air attenuation per metre; 0 disables it
	sources []placedSource
	waves   [3]wave
}

type placedSource struct {
	at       XY
	strength float64
}

// NewField builds the field of a layout. The background pattern is drawn
// from seed; mu is the air attenuation per metre (AirMu662, or 0 for pure
// inverse square).
func NewField(frame Frame, seed uint64, mu float64, sources []Source) *Field {
	f := &Field{frame: frame, mu: mu}
	rng := rand.New(rand.NewPCG(seed, 0x6267))
	for i := range f.waves {
		// Wavelengths of 1.5–5 km: background changes over a port's length,
		// as soil, asphalt and stacked cargo change, not from metre to metre.
		k := 2 * math.Pi / (1500 + 3500*rng.Float64())
		dir := 2 * math.Pi * rng.Float64()
		f.waves[i] = wave{kx: k * math.Sin(dir), ky: k * math.Cos(dir), phase: 2 * math.Pi * rng.Float64()}
	}
	for _, s := range sources {
		f.sources = append(f.sources, placedSource{at: frame.XY(s.Pos), strength: s.Strength})
	}
	return f
}

// Background is the natural dose rate at a local point, µSv/h, always
// within [BackgroundMin, BackgroundMax].
func (f *Field) Background(p XY) float64 {
	var s float64
	for _, w := range f.waves {
		s += math.Sin(w.kx*p.X + w.ky*p.Y + w.phase)
	}
	mid, half := (BackgroundMin+BackgroundMax)/2, (BackgroundMax-BackgroundMin)/2
	return mid + half*s/float64(len(f.waves))
}

// DoseRateXY is the ambient dose rate at a local point, µSv/h.
func (f *Field) DoseRateXY(p XY) float64 {
	d := f.Background(p)
	for _, s := range f.sources {
		d += PointDose(s.strength, math.Hypot(p.X-s.at.X, p.Y-s.at.Y), f.mu)
	}
	return d
}

// DoseRate is the ambient dose rate at a WGS84 position, µSv/h.
func (f *Field) DoseRate(p LonLat) float64 { return f.DoseRateXY(f.frame.XY(p)) }

// PointDose is the dose rate r metres from a point source of strength S
// (µSv/h at 1 m): S/r² × exp(-μ(r-1)). Attenuation counts from 1 m because
// S is defined there; r is clamped to MinDistance.
func PointDose(strength, r, mu float64) float64 {
	r = max(r, MinDistance)
	return strength / (r * r) * math.Exp(-mu*(r-1))
}

// CountRate is the expected counts per second of a detector with the given
// calibration (CPM per µSv/h, sample.DefaultCPMPerUSvH for the bGeigie's
// LND 7317) in a field of dose µSv/h: λ = dose × cal / 60.
func CountRate(dose, cpmPerUSvH float64) float64 { return dose * cpmPerUSvH / 60 }

// DefaultCPMPerUSvH is the detector calibration the simulated vehicles use.
const DefaultCPMPerUSvH = sample.DefaultCPMPerUSvH
