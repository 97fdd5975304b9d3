package n42

import (
	"errors"
	"math"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/radtrack/radtrack/sample"
)

// Channel sums below were checked independently of this decoder (a
// ten-line Python expansion of CountedZeroes over the same files).

func TestPortal2006(t *testing.T) {
	for _, c := range []struct {
		file         string
		uuid         string
		start        time.Time
		real, live   float64
		first, total float64
	}{
		{"interspec_ba133_source_640s.n42", "e4592733-68e0-4f07-b1c3-0355739c283c", time.Date(2010, 4, 17, 17, 33, 19, 409e6, time.UTC), 639.92, 629.17, 305570, 2621142},
		{"interspec_background_640s.n42", "852bcae0-a7a2-41be-93e7-38bc283af6be", time.Date(2010, 4, 17, 20, 36, 28, 409e6, time.UTC), 599.94, 597.43, 65494, 467199},
	} {
		t.Run(c.file, func(t *testing.T) {
			doc := decodeFile(t, c.file)
			if len(doc.Samples) != 0 || len(doc.Nuclides) != 0 {
				t.Errorf("samples %d nuclides %d, want none", len(doc.Samples), len(doc.Nuclides))
			}
			if want := []string{"N42.42-2006 document: spectra only, no samples"}; !reflect.DeepEqual(doc.Notes, want) {
				t.Errorf("notes %q", doc.Notes)
			}
			if want := []Instrument{{Identifier: "Serial #1XXX", Manufacturer: "ORTEC", Model: "OSASP", Class: "SpecPortal"}}; !reflect.DeepEqual(doc.Instruments, want) {
				t.Errorf("instruments %+v", doc.Instruments)
			}
			if len(doc.Spectra) != 8 {
				t.Fatalf("%d spectra, want 8", len(doc.Spectra))
			}
			var total float64
			for i, sp := range doc.Spectra {
				total += sp.Total()
				det := []string{"A1", "A2", "A3", "A4", "B1", "B2", "B3", "B4"}[i]
				if sp.Detector != det || sp.MeasurementID != c.uuid || sp.DeviceUID != "Serial #1XXX" || sp.Sample != -1 || !sp.Time.Equal(c.start) || len(sp.Channels) != 16384 {
					t.Errorf("%d: %s %s %s %d %v %d", i, sp.Detector, sp.MeasurementID, sp.DeviceUID, sp.Sample, sp.Time, len(sp.Channels))
				}
				// Each HPGe panel has its own calibration.
				if len(sp.Calibration) != 3 || math.Abs(sp.Energy(1900)-356) > 2.5 {
					t.Errorf("%d: calibration %v: E(1900) = %v", i, sp.Calibration, sp.Energy(1900))
				}
			}
			if c0, c7 := doc.Spectra[0].Calibration, doc.Spectra[7].Calibration; !reflect.DeepEqual(c0, []float64{0.1401463, 0.187422, -2.07732e-09}) || !reflect.DeepEqual(c7, []float64{0.09645479, 0.1874775, -2.00861e-09}) {
				t.Errorf("calibrations A1 %v B4 %v", c0, c7)
			}
			sp := doc.Spectra[0]
			if sp.RealTime != c.real || sp.LiveTime != c.live || sp.Total() != c.first || total != c.total {
				t.Errorf("real %v live %v first %v total %v", sp.RealTime, sp.LiveTime, sp.Total(), total)
			}
		})
	}
}

func TestRacetrackSpectra(t *testing.T) {
	doc := decodeFile(t, "interspec_racetrack_drive_2024-10-20.n42")
	if len(doc.Samples) != 153 || len(doc.Spectra) != 153 || len(doc.Nuclides) != 0 {
		t.Fatalf("samples %d spectra %d nuclides %d", len(doc.Samples), len(doc.Spectra), len(doc.Nuclides))
	}
	var total float64
	peak, peakAt := 0.0, -1
	for i, sp := range doc.Spectra {
		total += sp.Total()
		if sp.Total() > peak {
			peak, peakAt = sp.Total(), i
		}
		if sp.Sample != i || !sp.Time.Equal(doc.Samples[i].Time) || sp.MeasurementID != doc.Samples[i].Attributes["n42_measurement_id"] ||
			len(sp.Channels) != 1024 || sp.Detector != "MDDP-2KTTC35373.Vgd00" || !reflect.DeepEqual(sp.Calibration, []float64{1.8081, 2.9994, 0}) {
			t.Errorf("%d: sample %d time %v id %s channels %d det %s cal %v", i, sp.Sample, sp.Time, sp.MeasurementID, len(sp.Channels), sp.Detector, sp.Calibration)
		}
		// The gamma counts stay out of the samples (see Spectrum).
		if sample.Has(doc.Samples[i].Counts) {
			t.Errorf("%d: sample Counts %v from a spectrum", i, doc.Samples[i].Counts)
		}
	}
	first := doc.Spectra[0]
	if total != 843302 || first.Total() != 5034 || peak != 8050 || peakAt != 70 {
		t.Errorf("total %v first %v peak %v at %d", total, first.Total(), peak, peakAt)
	}
	if first.RealTime != 0.99999 || first.LiveTime != 0.999492 || !first.Time.Equal(time.Date(2024, 10, 20, 15, 35, 55, 0, time.UTC)) {
		t.Errorf("first %v %v %v", first.RealTime, first.LiveTime, first.Time)
	}
	if e := first.Energy(220); math.Abs(e-661.6761) > 1e-9 {
		t.Errorf("Energy(220) = %v", e)
	}
}

func TestMobileSpectraAndNuclides(t *testing.T) {
	doc := decodeFile(t, "n42_example_mobile_system.xml")
	if len(doc.Spectra) != 2 {
		t.Fatalf("%d spectra", len(doc.Spectra))
	}
	for i, sp := range doc.Spectra {
		if sp.Sample != i || len(sp.Channels) != 256 || sp.RealTime != 3 || sp.LiveTime != 2.9 || !reflect.DeepEqual(sp.Calibration, []float64{0.5, 3.15, 0.0013}) {
			t.Errorf("%d: %d %d %v %v %v", i, sp.Sample, len(sp.Channels), sp.RealTime, sp.LiveTime, sp.Calibration)
		}
	}
	if tot := doc.Spectra[0].Total() + doc.Spectra[1].Total(); tot != 84958 {
		t.Errorf("total %v", tot)
	}
	want := []Nuclide{
		{MeasurementIDs: []string{"M-1222"}, Algorithm: "SuperNID", Name: "Cs-137", Identified: true, Confidence: 0.99},
		{MeasurementIDs: []string{"M-1223"}, Algorithm: "SuperNID", Name: "Cs-137", Identified: true, Confidence: 0.99},
	}
	if !reflect.DeepEqual(doc.Nuclides, want) {
		t.Errorf("nuclides %+v", doc.Nuclides)
	}
}

func TestChannelData(t *testing.T) {
	for _, c := range []struct {
		comp, in string
		want     []float64
	}{
		{"CountedZeroes", "0 3 5 0 1 7", []float64{0, 0, 0, 5, 0, 7}},
		{"countedzeroes", " 1.5\n2 ", []float64{1.5, 2}},
		{"", "0 3 5", []float64{0, 3, 5}},
		{"None", "4", []float64{4}},
	} {
		got, err := channelData(xChannelData{Compression: c.comp, Text: c.in})
		if err != nil || !reflect.DeepEqual(got, c.want) {
			t.Errorf("%s %q: %v %v, want %v", c.comp, c.in, got, err, c.want)
		}
	}
	for _, c := range []struct{ comp, in string }{
		{"CountedZeroes", "5 0"}, {"CountedZeroes", "0 0"}, {"CountedZeroes", "0 1.5"}, {"CountedZeroes", "0 70000"},
		{"CountedZeroes", "0 -1"}, {"", "-1"}, {"", "NaN"}, {"", ""}, {"Zip", "1"},
		{"", strings.Repeat("1 ", MaxChannels+1)},
	} {
		var fe *sample.FieldError
		if _, err := channelData(xChannelData{Compression: c.comp, Text: c.in}); !errors.As(err, &fe) || fe.Field != "ChannelData" {
			t.Errorf("%s %.20q: %v, want ChannelData FieldError", c.comp, c.in, err)
		}
	}
}

// A broken spectrum is reported but does not cost the measurement's dose.
func TestBadSpectrumKeepsSample(t *testing.T) {
	doc, err := Decode(strings.NewReader(`<RadInstrumentData>
  <EnergyCalibration id="C"><CoefficientValues>0 0 0</CoefficientValues></EnergyCalibration>
  <RadMeasurement id="m"><StartDateTime>2025-01-01T00:00:00Z</StartDateTime>
    <DoseRate><DoseRateValue>0.2</DoseRateValue></DoseRate>
    <Spectrum id="s1" energyCalibrationReference="C"><ChannelData Compression="CountedZeroes">0</ChannelData></Spectrum>
    <Spectrum id="s2" energyCalibrationReference="C"><ChannelData>1 2</ChannelData></Spectrum>
  </RadMeasurement></RadInstrumentData>`))
	if err != nil {
		t.Fatal(err)
	}
	var fe *sample.FieldError
	if len(doc.Samples) != 1 || doc.Samples[0].DoseRate != 0.2 || len(doc.Errors) != 1 || !errors.As(doc.Errors[0], &fe) || fe.Field != "ChannelData" {
		t.Fatalf("samples %+v errors %v", doc.Samples, doc.Errors)
	}
	if len(doc.Spectra) != 1 || doc.Spectra[0].Calibration != nil || doc.Spectra[0].Sample != 0 {
		t.Errorf("spectra %+v", doc.Spectra)
	}
	want := []string{"EnergyCalibration without usable CoefficientValues ignored", "Spectrum energyCalibrationReference without usable calibration", "no RadInstrumentIdentifier: DeviceUID left empty"}
	if !reflect.DeepEqual(doc.Notes, want) {
		t.Errorf("notes %q", doc.Notes)
	}
}

func TestNuclide2006(t *testing.T) {
	doc, err := Decode(strings.NewReader(`<N42InstrumentData><Measurement UUID="u">
  <InstrumentInformation><InstrumentID>P1</InstrumentID></InstrumentInformation>
  <AnalysisResults><NuclideAnalysis>
    <Nuclide><NuclideName>Ba-133</NuclideName><NuclideIDConfidenceIndication>High</NuclideIDConfidenceIndication></Nuclide>
    <Nuclide><NuclideName>K-40</NuclideName><NuclideIDConfidence>75</NuclideIDConfidence></Nuclide>
  </NuclideAnalysis></AnalysisResults>
  <Spectrum Detector="D"><StartTime>2010-01-01T00:00:00</StartTime><Calibration Type="Energy" EnergyUnits="MeV"><Equation Model="Polynomial"><Coefficients>0 0.003</Coefficients></Equation></Calibration><ChannelData>1</ChannelData></Spectrum>
</Measurement></N42InstrumentData>`))
	if err != nil {
		t.Fatal(err)
	}
	if len(doc.Nuclides) != 2 || doc.Nuclides[0].Name != "Ba-133" || doc.Nuclides[0].ConfidenceText != "High" || !math.IsNaN(doc.Nuclides[0].Confidence) ||
		doc.Nuclides[1].Confidence != 75 || doc.Nuclides[1].DeviceUID != "P1" || !reflect.DeepEqual(doc.Nuclides[1].MeasurementIDs, []string{"u"}) {
		t.Errorf("nuclides %+v", doc.Nuclides)
	}
	if len(doc.Spectra) != 1 || !reflect.DeepEqual(doc.Spectra[0].Calibration, []float64{0, 3}) || !math.IsNaN(doc.Spectra[0].RealTime) {
		t.Errorf("spectra %+v", doc.Spectra)
	}
	want := []string{"N42.42-2006 document: spectra only, no samples", "StartTime without time zone read as UTC", "energy Calibration in MeV converted to keV"}
	if !reflect.DeepEqual(doc.Notes, want) {
		t.Errorf("notes %q", doc.Notes)
	}
}
