package n42

import (
	"fmt"
	"strings"

	"github.com/radtrack/radtrack/sample"
)

// The 2006 schema (ANSI N42.42-2006, N42InstrumentData, as DNDO portals
// write it): Measurement/InstrumentInformation names the instrument,
// Measurement/DetectorData carries StartTime and SampleRealTime, and
// DetectorData/DetectorMeasurement/SpectrumMeasurement/Spectrum the
// spectra with an inline Calibration Type="Energy" polynomial.
// AnalysisResults/NuclideAnalysis/Nuclide carries identifications. These
// documents hold no position, dose rate or gross count, so they give
// spectra and nuclides only, never samples.

type xDoc2006 struct {
	Measurements []xMeas2006 `xml:"Measurement"`
}

type xMeas2006 struct {
	UUID     string          `xml:"UUID,attr"`
	Inst     xInst2006       `xml:"InstrumentInformation"`
	Data     []xDetData2006  `xml:"DetectorData"`
	Spectra  []xSpec2006     `xml:"Spectrum"` // simple documents
	Analysis []xAnalysis2006 `xml:"AnalysisResults"`
}

type xInst2006 struct {
	ID           string `xml:"InstrumentID"`
	Manufacturer string `xml:"Manufacturer"`
	Model        string `xml:"InstrumentModel"`
	Type         string `xml:"InstrumentType"`
}

type xDetData2006 struct {
	Start    string      `xml:"StartTime"`
	RealTime string      `xml:"SampleRealTime"`
	Spectra  []xSpec2006 `xml:"DetectorMeasurement>SpectrumMeasurement>Spectrum"`
}

type xSpec2006 struct {
	Detector string       `xml:"Detector,attr"`
	Start    string       `xml:"StartTime"`
	RealTime string       `xml:"RealTime"`
	LiveTime string       `xml:"LiveTime"`
	Cals     []xCal2006   `xml:"Calibration"`
	Channels xChannelData `xml:"ChannelData"`
}

type xCal2006 struct {
	Type         string `xml:"Type,attr"`
	Units        string `xml:"EnergyUnits,attr"`
	Coefficients string `xml:"Equation>Coefficients"`
}

type xAnalysis2006 struct {
	Algorithm string         `xml:"AnalysisAlgorithmName"`
	Nuclides  []xNuclide2006 `xml:"NuclideAnalysis>Nuclide"`
}

type xNuclide2006 struct {
	Name       string `xml:"NuclideName"`
	Confidence string `xml:"NuclideIDConfidence"`
	Indication string `xml:"NuclideIDConfidenceIndication"`
}

func decode2006(x xDoc2006) *Document {
	doc := &Document{}
	notes := map[string]int{"N42.42-2006 document: spectra only, no samples": 1}
	seen := map[Instrument]bool{}
	for i, m := range x.Measurements {
		inst := Instrument{
			Identifier: strings.TrimSpace(m.Inst.ID), Manufacturer: strings.TrimSpace(m.Inst.Manufacturer),
			Model: strings.TrimSpace(m.Inst.Model), Class: strings.TrimSpace(m.Inst.Type),
		}
		if inst != (Instrument{}) && !seen[inst] {
			seen[inst] = true
			doc.Instruments = append(doc.Instruments, inst)
		}
		id := strings.TrimSpace(m.UUID)
		fail := func(err error) {
			doc.Errors = append(doc.Errors, &MeasurementError{ID: id, Index: i, Err: err})
		}
		data := m.Data
		if len(m.Spectra) > 0 {
			data = append(data, xDetData2006{Spectra: m.Spectra})
		}
		for _, d := range data {
			for _, xs := range d.Spectra {
				start, real := xs.Start, xs.RealTime
				if strings.TrimSpace(start) == "" {
					start = d.Start
				}
				if strings.TrimSpace(real) == "" {
					real = d.RealTime
				}
				sp, err := spectrum2006(xs, start, real, notes)
				if err != nil {
					fail(fmt.Errorf("Spectrum %q: %w", xs.Detector, err))
					continue
				}
				sp.MeasurementID, sp.DeviceUID, sp.Sample = id, inst.Identifier, -1
				doc.Spectra = append(doc.Spectra, sp)
			}
		}
		for _, a := range m.Analysis {
			for _, n := range a.Nuclides {
				nu := nuclide(n.Name, "", n.Confidence, n.Indication)
				if nu.Name == "" {
					continue
				}
				if id != "" {
					nu.MeasurementIDs = []string{id}
				}
				nu.DeviceUID, nu.Algorithm = inst.Identifier, strings.TrimSpace(a.Algorithm)
				doc.Nuclides = append(doc.Nuclides, nu)
			}
		}
	}
	doc.Notes = sortedNotes(notes)
	return doc
}

func spectrum2006(xs xSpec2006, start, real string, notes map[string]int) (Spectrum, error) {
	sp := Spectrum{Detector: strings.TrimSpace(xs.Detector)}
	start = strings.TrimSpace(start)
	if start == "" {
		return Spectrum{}, &sample.FieldError{Field: "StartTime", Reason: "missing"}
	}
	t, zoned, err := parseDateTime(start)
	if err != nil {
		return Spectrum{}, &sample.FieldError{Field: "StartTime", Reason: err.(*sample.FieldError).Reason}
	}
	if !zoned {
		notes["StartTime without time zone read as UTC"]++
	}
	sp.Time = t
	if sp.RealTime, err = optDuration("RealTime", real); err != nil {
		return Spectrum{}, err
	}
	if sp.LiveTime, err = optDuration("LiveTime", xs.LiveTime); err != nil {
		return Spectrum{}, err
	}
	if sp.Channels, err = channelData(xs.Channels); err != nil {
		return Spectrum{}, err
	}
	for _, c := range xs.Cals {
		if !strings.EqualFold(strings.TrimSpace(c.Type), "Energy") {
			continue
		}
		if u := strings.TrimSpace(c.Units); u != "" && !strings.EqualFold(u, "keV") {
			if strings.EqualFold(u, "MeV") {
				notes["energy Calibration in MeV converted to keV"]++
				coef, err := coefficients("Coefficients", c.Coefficients)
				if err != nil {
					return Spectrum{}, err
				}
				for i := range coef {
					coef[i] *= 1000
				}
				sp.Calibration = coef
				break
			}
			notes[fmt.Sprintf("energy Calibration in %q ignored", u)]++
			continue
		}
		if sp.Calibration, err = coefficients("Coefficients", c.Coefficients); err != nil {
			return Spectrum{}, err
		}
		break
	}
	if sp.Calibration == nil {
		notes["Spectrum without energy calibration"]++
	}
	return sp, nil
}
