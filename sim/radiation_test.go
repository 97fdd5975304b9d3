package sim

import (
	"math"
	"testing"
)

func TestPointDoseInverseSquare(t *testing.T) {
	for _, r := range []float64{1, 2, 7.5, 30, 200} {
		if got := PointDose(100, 2*r, 0) / PointDose(100, r, 0); math.Abs(got-0.25) > 1e-12 {
			t.Errorf("no air: D(%v)/D(%v) = %v, want 1/4", 2*r, r, got)
		}
		// With air, the extra r metres also attenuate by exp(-μr).
		want := 0.25 * math.Exp(-AirMu662*r)
		if got := PointDose(100, 2*r, AirMu662) / PointDose(100, r, AirMu662); math.Abs(got-want) > 1e-12 {
			t.Errorf("air: D(%v)/D(%v) = %v, want %v", 2*r, r, got, want)
		}
	}
	if got := PointDose(100, 1, AirMu662); got != 100 {
		t.Errorf("strength is the dose at 1 m: got %v", got)
	}
	if got := PointDose(100, 0.01, AirMu662); got != 100 {
		t.Errorf("closer than MinDistance: got %v, want clamped to 100", got)
	}
}

func TestCountRate(t *testing.T) {
	// λ = dose × 334 / 60: 1 µSv/h on the LND 7317 is 334 CPM.
	if got := CountRate(1, DefaultCPMPerUSvH) * 60; math.Abs(got-334) > 1e-9 {
		t.Errorf("1 µSv/h = %v CPM, want 334", got)
	}
}

func TestBackgroundBoundedAndSmooth(t *testing.T) {
	l := DefaultLayout()
	f := NewField(l.Frame, 42, AirMu662, nil)
	lo, hi := math.Inf(1), math.Inf(-1)
	for x := -3200.0; x <= 3200; x += 50 {
		for y := -2200.0; y <= 2200; y += 50 {
			b := f.Background(XY{x, y})
			lo, hi = min(lo, b), max(hi, b)
			if b < BackgroundMin || b > BackgroundMax {
				t.Fatalf("background %v at (%v,%v) outside [%v,%v]", b, x, y, BackgroundMin, BackgroundMax)
			}
			if d := math.Abs(f.Background(XY{x + 10, y}) - b); d > 0.002 {
				t.Fatalf("background jumps by %v over 10 m at (%v,%v)", d, x, y)
			}
		}
	}
	if hi-lo < 0.02 {
		t.Errorf("background barely varies over the port: %v–%v", lo, hi)
	}
}

func TestDefaultSourceAtRoadside(t *testing.T) {
	l := DefaultLayout()
	f := NewField(l.Frame, 1, AirMu662, l.Sources)
	src := l.Frame.XY(l.Sources[0].Pos)
	road := XY{src.X, -700} // the terminal loop's southern road
	peak := f.DoseRateXY(road)
	if peak < 1 || peak > 5 {
		t.Errorf("dose on the road beside the source = %.2f µSv/h, want 1–5 (above OIL3)", peak)
	}
	if far := f.DoseRateXY(XY{src.X, src.Y - 500}); far > BackgroundMax+0.001 {
		t.Errorf("500 m away the source still adds: %.4f µSv/h", far)
	}
}
