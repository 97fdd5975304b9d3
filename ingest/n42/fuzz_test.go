package n42

import (
	"bytes"
	"errors"
	"math"
	"testing"

	"github.com/radtrack/radtrack/internal/testutil"
	"github.com/radtrack/radtrack/sample"
)

// FuzzDecode: no panic; samples well formed; every skipped measurement
// error is a *MeasurementError. Seeds: testdata/fuzz/FuzzDecode (the two
// example documents and cut-down variants).
func FuzzDecode(f *testing.F) {
	f.Add([]byte(synthetic))
	f.Add([]byte(`<N42InstrumentData><Measurement UUID="u"><InstrumentInformation><InstrumentID>P</InstrumentID></InstrumentInformation>
<DetectorData><StartTime>2010-04-17T17:33:19.409Z</StartTime><SampleRealTime>PT639.750S</SampleRealTime>
<DetectorMeasurement><SpectrumMeasurement><Spectrum Detector="A1"><RealTime>PT1S</RealTime><LiveTime>PT0.9S</LiveTime>
<Calibration Type="Energy" EnergyUnits="keV"><Equation Model="Polynomial"><Coefficients>0.14 0.187 -2e-09</Coefficients></Equation></Calibration>
<ChannelData Compression="CountedZeroes">0 3 5 7 0 2 1</ChannelData></Spectrum></SpectrumMeasurement></DetectorMeasurement></DetectorData>
<AnalysisResults><NuclideAnalysis><Nuclide><NuclideName>Ba-133</NuclideName><NuclideIDConfidence>High</NuclideIDConfidence></Nuclide></NuclideAnalysis></AnalysisResults>
</Measurement></N42InstrumentData>`))
	f.Fuzz(func(t *testing.T, data []byte) {
		doc, err := Decode(bytes.NewReader(data))
		if err != nil {
			return
		}
		for _, e := range doc.Errors {
			var me *MeasurementError
			if !errors.As(e, &me) {
				t.Fatalf("error %v is not a MeasurementError", e)
			}
		}
		for _, s := range doc.Samples {
			if s.Time.IsZero() || !s.Imported {
				t.Fatalf("bad sample %+v", s)
			}
			if sample.Has(s.CountInterval) && !sample.Has(s.Counts) {
				t.Fatalf("interval without counts")
			}
			testutil.CheckDecoded(t, s)
		}
		if len(doc.SampleMeasurement) != len(doc.Samples) {
			t.Fatalf("%d sample measurement indexes for %d samples", len(doc.SampleMeasurement), len(doc.Samples))
		}
		for _, sp := range doc.Spectra {
			if sp.Time.IsZero() || sp.Sample < -1 || sp.Sample >= len(doc.Samples) || len(sp.Channels) == 0 || len(sp.Channels) > MaxChannels {
				t.Fatalf("bad spectrum: time %v sample %d channels %d", sp.Time, sp.Sample, len(sp.Channels))
			}
			for _, c := range sp.Channels {
				if c < 0 || math.IsNaN(c) || math.IsInf(c, 0) {
					t.Fatalf("channel %v", c)
				}
			}
			for _, c := range sp.Calibration {
				if math.IsNaN(c) || math.IsInf(c, 0) {
					t.Fatalf("calibration %v", sp.Calibration)
				}
			}
		}
		for _, n := range doc.Nuclides {
			if n.Name == "" || math.IsInf(n.Confidence, 0) {
				t.Fatalf("bad nuclide %+v", n)
			}
		}
	})
}
