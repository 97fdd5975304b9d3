package spectra

import (
	"encoding/binary"
	"math"
	"testing"

	"github.com/radtrack/radtrack/store"
)

// FuzzAnalyze: any stored spectrum (any calibration an instrument may
// send, any counts) analyses without a panic or a non-finite number in
// the answer (the REST route encodes it as JSON).
func FuzzAnalyze(f *testing.F) {
	f.Add(1.8, 3.0, 0.0, -0.5, 2.9, 1e-4, []byte{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}, 1.0, 2.0)
	f.Add(0.0, 0.187, -2e-9, 0.0, 0.187, 0.0, []byte{0, 0, 255, 255}, 600.0, 640.0)
	f.Fuzz(func(t *testing.T, a0, a1, a2, b0, b1, b2 float64, raw []byte, lf, lb float64) {
		mk := func(cal []float64, live float64, shift int) store.Spectrum {
			s := store.Spectrum{Calibration: cal, LiveTime: live, RealTime: math.NaN()}
			for i := 0; i+2 <= len(raw) && len(s.Counts) < 4096; i += 2 {
				s.Counts = append(s.Counts, uint32(binary.LittleEndian.Uint16(raw[i:]))<<shift)
			}
			return s
		}
		fg, bg := mk([]float64{a0, a1, a2}, lf, 0), mk([]float64{b0, b1, b2}, lb, 8)
		for _, s := range []store.Spectrum{fg, bg} {
			if s.Validate() != nil && len(s.Counts) > 0 {
				return // the stores refuse it; Analyze never sees it
			}
		}
		r := Analyze([]store.Spectrum{fg}, []store.Spectrum{bg}, nil)
		for _, l := range r.Lines {
			for _, v := range []float64{l.Net, l.Sigma, l.Significance} {
				if math.IsNaN(v) || math.IsInf(v, 0) {
					t.Fatalf("%+v", l)
				}
			}
		}
	})
}
