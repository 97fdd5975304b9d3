// Package n42 decodes ANSI N42.42-2011 XML instrument data
// (RadInstrumentData documents; namespace http://physics.nist.gov/N42/2011/N42,
// matched by local name so prefixed documents work too).
//
// Each RadMeasurement carrying a DoseRate and/or GrossCounts becomes one
// sample:
//   - StartDateTime → Time (UTC; a time without zone is read as UTC, noted);
//   - the first DoseRate/DoseRateValue (µSv/h by the standard) of a
//     non-neutron detector → DoseRate;
//   - the first GrossCounts/CountData of a non-neutron detector → Counts,
//     with RealTimeDuration (ISO-8601 duration such as PT1.0S) →
//     CountInterval in seconds (the GrossCounts LiveTimeDuration if there is
//     no RealTimeDuration); a CountData list is summed;
//   - GrossCounts or DoseRate of a detector whose RadDetectorCategoryCode is
//     Neutron go to the attributes neutron_counts / neutron_count_time_s /
//     neutron_dose_rate instead: the pipeline converts Counts to a gamma dose
//     with the device's calibration, which must never be fed neutron counts;
//   - RadInstrumentState/StateVector/GeographicPoint LatitudeValue,
//     LongitudeValue, ElevationValue → Lat, Lon (GPSValid), Altitude;
//     StateVector/SpeedValue (m/s) → Speed; Orientation/AzimuthValue →
//     attribute "azimuth" (instrument orientation, not necessarily the
//     direction of travel);
//   - RadInstrumentCharacteristics: BatteryCharge in % → Battery, other
//     Characteristic values → attributes named after CharacteristicName in
//     snake case, typed by CharacteristicValueDataClassCode;
//   - DeviceUID is the RadInstrumentIdentifier of the referenced (else the
//     first) RadInstrumentInformation; empty when the document has none.
//
// Elements RadTrack does not use (Spectrum, AnalysisResults, calibrations,
// ExposureRate, …) are ignored and listed in Document.Notes, never errors.
// A RadMeasurement with a bad value is skipped and reported in
// Document.Errors; the other measurements still decode. The decoder never
// computes a dose from counts. Samples have Source "import", Imported true.
package n42

import (
	"encoding/xml"
	"fmt"
	"io"
	"math"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/radtrack/radtrack/sample"
)

// Document is one decoded RadInstrumentData document.
type Document struct {
	UUID        string // n42DocUUID attribute
	Instruments []Instrument
	Samples     []sample.Sample
	// SampleMeasurement[i] is the 0-based position of the RadMeasurement
	// Samples[i] came from (as in MeasurementError.Index).
	SampleMeasurement []int
	Spectra           []Spectrum // in document order
	Nuclides          []Nuclide  // instruments' own identifications
	// Notes lists what was ignored or assumed, e.g.
	// "RadMeasurement/Spectrum ignored (2×)". Sorted, deterministic.
	Notes []string
	// Errors holds one *MeasurementError per skipped RadMeasurement, and
	// one per skipped Spectrum (the measurement's sample is still kept: a
	// broken spectrum must not lose a dose reading).
	Errors []error
}

// Instrument is a RadInstrumentInformation element.
type Instrument struct {
	ID           string // XML id attribute
	Identifier   string // RadInstrumentIdentifier (serial number)
	Manufacturer string
	Model        string
	Class        string // RadInstrumentClassCode
}

// MeasurementError says which RadMeasurement was skipped and why; it
// unwraps to the cause (a *sample.FieldError for a bad value).
type MeasurementError struct {
	ID    string // the RadMeasurement id attribute, may be ""
	Index int    // 0-based position among the RadMeasurement elements
	Err   error
}

func (e *MeasurementError) Error() string {
	return fmt.Sprintf("n42: RadMeasurement %d (id %q): %v", e.Index, e.ID, e.Err)
}

func (e *MeasurementError) Unwrap() error { return e.Err }

type xAny struct {
	XMLName xml.Name
}

type xDoc struct {
	XMLName      xml.Name
	UUID         string         `xml:"n42DocUUID,attr"`
	Instruments  []xInstrument  `xml:"RadInstrumentInformation"`
	Detectors    []xDetector    `xml:"RadDetectorInformation"`
	EnergyCals   []xEnergyCal   `xml:"EnergyCalibration"`
	Measurements []xMeasurement `xml:"RadMeasurement"`
	Analyses     []xAnalysis    `xml:"AnalysisResults"`
	Other        []xAny         `xml:",any"`
}

type xEnergyCal struct {
	ID           string `xml:"id,attr"`
	Coefficients string `xml:"CoefficientValues"`
}

type xSpectrum struct {
	ID          string       `xml:"id,attr"`
	DetectorRef string       `xml:"radDetectorInformationReference,attr"`
	CalRef      string       `xml:"energyCalibrationReference,attr"`
	LiveTime    string       `xml:"LiveTimeDuration"`
	Channels    xChannelData `xml:"ChannelData"`
}

type xAnalysis struct {
	MeasurementRefs string     `xml:"radMeasurementReferences,attr"`
	Algorithm       string     `xml:"AnalysisAlgorithmName"`
	Nuclides        []xNuclide `xml:"NuclideAnalysisResults>Nuclide"`
}

type xNuclide struct {
	Identified  string `xml:"NuclideIdentifiedIndicator"`
	Name        string `xml:"NuclideName"`
	Value       string `xml:"NuclideIDConfidenceValue"`
	Indication  string `xml:"NuclideIDConfidenceIndication"`
	Description string `xml:"NuclideIDConfidenceDescription"`
}

type xInstrument struct {
	ID           string `xml:"id,attr"`
	Manufacturer string `xml:"RadInstrumentManufacturerName"`
	Identifier   string `xml:"RadInstrumentIdentifier"`
	Model        string `xml:"RadInstrumentModelName"`
	Class        string `xml:"RadInstrumentClassCode"`
}

type xDetector struct {
	ID       string `xml:"id,attr"`
	Category string `xml:"RadDetectorCategoryCode"`
}

type xMeasurement struct {
	ID          string       `xml:"id,attr"`
	Class       string       `xml:"MeasurementClassCode"`
	Start       string       `xml:"StartDateTime"`
	RealTime    string       `xml:"RealTimeDuration"`
	DoseRates   []xDoseRate  `xml:"DoseRate"`
	GrossCounts []xGross     `xml:"GrossCounts"`
	States      []xInstState `xml:"RadInstrumentState"`
	Spectra     []xSpectrum  `xml:"Spectrum"`
	Other       []xAny       `xml:",any"`
}

type xDoseRate struct {
	DetectorRef string `xml:"radDetectorInformationReference,attr"`
	Value       string `xml:"DoseRateValue"`
}

type xGross struct {
	DetectorRef string `xml:"radDetectorInformationReference,attr"`
	LiveTime    string `xml:"LiveTimeDuration"`
	CountData   string `xml:"CountData"`
}

type xInstState struct {
	InstrumentRef   string             `xml:"radInstrumentInformationReference,attr"`
	Mode            string             `xml:"RadInstrumentModeCode"`
	StateVector     *xStateVector      `xml:"StateVector"`
	Characteristics []xCharacteristics `xml:"RadInstrumentCharacteristics"`
	Other           []xAny             `xml:",any"`
}

type xStateVector struct {
	Point       *xPoint       `xml:"GeographicPoint"`
	Orientation *xOrientation `xml:"Orientation"`
	Speed       string        `xml:"SpeedValue"`
	Other       []xAny        `xml:",any"`
}

type xPoint struct {
	Lat  string `xml:"LatitudeValue"`
	Lon  string `xml:"LongitudeValue"`
	Elev string `xml:"ElevationValue"`
}

type xOrientation struct {
	Azimuth string `xml:"AzimuthValue"`
}

type xCharacteristics struct {
	Chars  []xChar  `xml:"Characteristic"`
	Groups []xGroup `xml:"CharacteristicGroup"`
}

type xGroup struct {
	Chars []xChar `xml:"Characteristic"`
}

type xChar struct {
	Name  string `xml:"CharacteristicName"`
	Value string `xml:"CharacteristicValue"`
	Units string `xml:"CharacteristicValueUnits"`
	Class string `xml:"CharacteristicValueDataClassCode"`
}

// Top-level elements that describe the document, not data: not noted.
var quietTopLevel = map[string]bool{"Remark": true, "RadInstrumentDataCreatorName": true}

// Decode reads one N42.42 document. Malformed XML or a root element other
// than RadInstrumentData is an error; problems inside a RadMeasurement are
// reported per measurement in Document.Errors.
func Decode(r io.Reader) (*Document, error) {
	dec := xml.NewDecoder(r)
	var root xml.StartElement
	for {
		tok, err := dec.Token()
		if err != nil {
			return nil, fmt.Errorf("n42: malformed XML: %w", err)
		}
		if se, ok := tok.(xml.StartElement); ok {
			root = se
			break
		}
	}
	switch root.Name.Local {
	case "RadInstrumentData":
		var x xDoc
		if err := dec.DecodeElement(&x, &root); err != nil {
			return nil, fmt.Errorf("n42: malformed XML: %w", err)
		}
		return decode2012(x), nil
	case "N42InstrumentData":
		var x xDoc2006
		if err := dec.DecodeElement(&x, &root); err != nil {
			return nil, fmt.Errorf("n42: malformed XML: %w", err)
		}
		return decode2006(x), nil
	}
	return nil, fmt.Errorf("n42: root element is %q, want RadInstrumentData (N42.42-2011) or N42InstrumentData (2006)", root.Name.Local)
}

func decode2012(x xDoc) *Document {
	doc := &Document{UUID: strings.TrimSpace(x.UUID)}
	notes := map[string]int{}
	for _, o := range x.Other {
		if !quietTopLevel[o.XMLName.Local] {
			notes[o.XMLName.Local+" ignored"]++
		}
	}
	instByID := map[string]Instrument{}
	for _, in := range x.Instruments {
		i := Instrument{
			ID: strings.TrimSpace(in.ID), Identifier: strings.TrimSpace(in.Identifier),
			Manufacturer: strings.TrimSpace(in.Manufacturer), Model: strings.TrimSpace(in.Model),
			Class: strings.TrimSpace(in.Class),
		}
		doc.Instruments = append(doc.Instruments, i)
		if i.ID != "" {
			instByID[i.ID] = i
		}
	}
	neutron := map[string]bool{}
	for _, d := range x.Detectors {
		if strings.EqualFold(strings.TrimSpace(d.Category), "Neutron") {
			neutron[strings.TrimSpace(d.ID)] = true
		}
	}
	cals := map[string][]float64{}
	for _, c := range x.EnergyCals {
		coef, err := coefficients("CoefficientValues", c.Coefficients)
		if err != nil || coef == nil {
			notes["EnergyCalibration without usable CoefficientValues ignored"]++
			continue
		}
		cals[strings.TrimSpace(c.ID)] = coef
	}
	uidOf := map[string]string{}
	for i, m := range x.Measurements {
		s, ok, err := measurement(m, doc.Instruments, instByID, neutron, notes)
		if err != nil {
			doc.Errors = append(doc.Errors, &MeasurementError{ID: m.ID, Index: i, Err: err})
			continue
		}
		idx := -1
		if ok {
			idx = len(doc.Samples)
			doc.Samples = append(doc.Samples, s)
			doc.SampleMeasurement = append(doc.SampleMeasurement, i)
		}
		uid := measurementUID(m, doc.Instruments, instByID)
		uidOf[strings.TrimSpace(m.ID)] = uid
		for _, xs := range m.Spectra {
			if neutron[strings.TrimSpace(xs.DetectorRef)] {
				notes["neutron Spectrum ignored"]++
				continue
			}
			sp, err := spectrum2012(xs, m, cals, notes)
			if err != nil {
				doc.Errors = append(doc.Errors, &MeasurementError{ID: m.ID, Index: i, Err: fmt.Errorf("Spectrum %q: %w", xs.ID, err)})
				continue
			}
			sp.Sample, sp.DeviceUID = idx, uid
			doc.Spectra = append(doc.Spectra, sp)
		}
	}
	for _, a := range x.Analyses {
		refs := strings.Fields(a.MeasurementRefs)
		uid := ""
		if len(refs) > 0 {
			uid = uidOf[refs[0]]
		} else if len(doc.Instruments) > 0 {
			uid = doc.Instruments[0].Identifier
		}
		for _, n := range a.Nuclides {
			nu := nuclide(n.Name, n.Identified, n.Value, n.Indication, n.Description)
			if nu.Name == "" {
				continue
			}
			nu.MeasurementIDs, nu.DeviceUID, nu.Algorithm = refs, uid, strings.TrimSpace(a.Algorithm)
			doc.Nuclides = append(doc.Nuclides, nu)
		}
	}
	doc.Notes = sortedNotes(notes)
	return doc
}

func sortedNotes(notes map[string]int) []string {
	var out []string
	for n, c := range notes {
		if c > 1 {
			n = fmt.Sprintf("%s (%d×)", n, c)
		}
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// measurementUID is the identifier of the instrument a RadMeasurement
// refers to (its first RadInstrumentState), else the first instrument's.
func measurementUID(m xMeasurement, insts []Instrument, byID map[string]Instrument) string {
	var inst Instrument
	if len(insts) > 0 {
		inst = insts[0]
	}
	if len(m.States) > 0 {
		if ref, ok := byID[strings.TrimSpace(m.States[0].InstrumentRef)]; ok {
			inst = ref
		}
	}
	return inst.Identifier
}

func spectrum2012(xs xSpectrum, m xMeasurement, cals map[string][]float64, notes map[string]int) (Spectrum, error) {
	sp := Spectrum{MeasurementID: strings.TrimSpace(m.ID), Detector: strings.TrimSpace(xs.DetectorRef)}
	t, _, err := parseDateTime(strings.TrimSpace(m.Start))
	if err != nil {
		return Spectrum{}, err
	}
	sp.Time = t
	if sp.RealTime, err = optDuration("RealTimeDuration", m.RealTime); err != nil {
		return Spectrum{}, err
	}
	if sp.LiveTime, err = optDuration("LiveTimeDuration", xs.LiveTime); err != nil {
		return Spectrum{}, err
	}
	if sp.Channels, err = channelData(xs.Channels); err != nil {
		return Spectrum{}, err
	}
	if ref := strings.TrimSpace(xs.CalRef); ref != "" {
		if sp.Calibration = cals[ref]; sp.Calibration == nil {
			notes["Spectrum energyCalibrationReference without usable calibration"]++
		}
	} else {
		notes["Spectrum without energy calibration"]++
	}
	return sp, nil
}

// nuclide builds a Nuclide from the text of its elements.
func nuclide(name, identified, value string, words ...string) Nuclide {
	n := Nuclide{Name: strings.TrimSpace(name), Identified: true}
	if b, err := strconv.ParseBool(strings.TrimSpace(identified)); err == nil {
		n.Identified = b
	}
	n.Confidence, n.ConfidenceText = confidence(value)
	for _, w := range words {
		if n.ConfidenceText == "" {
			n.ConfidenceText = strings.TrimSpace(w)
		}
	}
	return n
}

// measurement converts one RadMeasurement; ok is false when it carries
// neither a dose rate nor gross counts.
func measurement(m xMeasurement, insts []Instrument, byID map[string]Instrument, neutron map[string]bool, notes map[string]int) (sample.Sample, bool, error) {
	for _, o := range m.Other {
		notes["RadMeasurement/"+o.XMLName.Local+" ignored"]++
	}
	if len(m.DoseRates) == 0 && len(m.GrossCounts) == 0 && len(m.Spectra) > 0 {
		notes["RadMeasurement with only Spectrum: no sample"]++
		return sample.Sample{}, false, nil
	}
	if len(m.DoseRates) == 0 && len(m.GrossCounts) == 0 {
		notes["RadMeasurement without DoseRate or GrossCounts skipped"]++
		return sample.Sample{}, false, nil
	}
	s := sample.New()
	s.Source = sample.SourceImport
	s.Imported = true
	attrs := map[string]any{}
	if id := strings.TrimSpace(m.ID); id != "" {
		attrs["n42_measurement_id"] = id
	}
	if c := strings.TrimSpace(m.Class); c != "" {
		attrs["measurement_class"] = c
	}

	start := strings.TrimSpace(m.Start)
	if start == "" {
		return sample.Sample{}, false, &sample.FieldError{Field: "StartDateTime", Reason: "missing"}
	}
	t, zoned, err := parseDateTime(start)
	if err != nil {
		return sample.Sample{}, false, err
	}
	if !zoned {
		notes["StartDateTime without time zone read as UTC"]++
	}
	s.Time = t

	realTime := math.NaN()
	if v := strings.TrimSpace(m.RealTime); v != "" {
		if realTime, err = ParseDuration("RealTimeDuration", v); err != nil {
			return sample.Sample{}, false, err
		}
	}

	usedDose := false
	for _, d := range m.DoseRates {
		v, err := number("DoseRateValue", d.Value)
		if err != nil {
			return sample.Sample{}, false, err
		}
		if !sample.Has(v) {
			continue
		}
		if v < 0 {
			return sample.Sample{}, false, &sample.FieldError{Field: "DoseRateValue", Reason: "must not be negative"}
		}
		switch {
		case neutron[strings.TrimSpace(d.DetectorRef)]:
			attrs["neutron_dose_rate"] = v
		case !usedDose:
			s.DoseRate, usedDose = v, true
		default:
			notes["additional DoseRate ignored"]++
		}
	}

	usedCounts := false
	for _, g := range m.GrossCounts {
		total, n, err := countData(g.CountData)
		if err != nil {
			return sample.Sample{}, false, err
		}
		if n == 0 {
			continue
		}
		if n > 1 {
			notes["GrossCounts/CountData list summed"]++
		}
		interval := realTime
		if !sample.Has(interval) && strings.TrimSpace(g.LiveTime) != "" {
			if interval, err = ParseDuration("LiveTimeDuration", g.LiveTime); err != nil {
				return sample.Sample{}, false, err
			}
			notes["LiveTimeDuration used as count interval (no RealTimeDuration)"]++
		}
		switch {
		case neutron[strings.TrimSpace(g.DetectorRef)]:
			attrs["neutron_counts"] = total
			if sample.Has(interval) {
				attrs["neutron_count_time_s"] = interval
			}
		case !usedCounts:
			s.Counts, usedCounts = total, true
			if sample.Has(interval) && interval > 0 {
				s.CountInterval = interval
			}
			if lt := strings.TrimSpace(g.LiveTime); lt != "" && sample.Has(realTime) {
				if live, err := ParseDuration("LiveTimeDuration", lt); err == nil {
					attrs["live_time_s"] = live
				}
			}
		default:
			notes["additional GrossCounts ignored"]++
		}
	}

	var inst Instrument
	if len(insts) > 0 {
		inst = insts[0]
	}
	for i, st := range m.States {
		if i > 0 {
			notes["additional RadInstrumentState ignored"]++
			break
		}
		if ref, ok := byID[strings.TrimSpace(st.InstrumentRef)]; ok {
			inst = ref
		}
		if err := state(&s, st, attrs, notes); err != nil {
			return sample.Sample{}, false, err
		}
	}
	s.DeviceUID = inst.Identifier
	if s.DeviceUID == "" {
		notes["no RadInstrumentIdentifier: DeviceUID left empty"]++
	}
	if len(attrs) > 0 {
		s.Attributes = attrs
	}
	return s, true, nil
}

// state applies a RadInstrumentState.
func state(s *sample.Sample, st xInstState, attrs map[string]any, notes map[string]int) error {
	for _, o := range st.Other {
		notes["RadInstrumentState/"+o.XMLName.Local+" ignored"]++
	}
	if m := strings.TrimSpace(st.Mode); m != "" {
		attrs["instrument_mode"] = m
	}
	if sv := st.StateVector; sv != nil {
		for _, o := range sv.Other {
			notes["StateVector/"+o.XMLName.Local+" ignored"]++
		}
		if p := sv.Point; p != nil {
			lat, err := number("LatitudeValue", p.Lat)
			if err != nil {
				return err
			}
			lon, err := number("LongitudeValue", p.Lon)
			if err != nil {
				return err
			}
			if sample.Has(lat) && (lat < -90 || lat > 90) {
				return &sample.FieldError{Field: "LatitudeValue", Reason: fmt.Sprintf("%v is outside [-90, 90]", lat)}
			}
			if sample.Has(lon) && (lon < -180 || lon > 180) {
				return &sample.FieldError{Field: "LongitudeValue", Reason: fmt.Sprintf("%v is outside [-180, 180]", lon)}
			}
			if sample.Has(lat) && sample.Has(lon) {
				s.Lat, s.Lon = lat, lon
				s.GPSValid = !(lat == 0 && lon == 0)
			}
			if s.Altitude, err = number("ElevationValue", p.Elev); err != nil {
				return err
			}
		}
		if o := sv.Orientation; o != nil {
			az, err := number("AzimuthValue", o.Azimuth)
			if err != nil {
				return err
			}
			if sample.Has(az) {
				attrs["azimuth"] = az
			}
		}
		sp, err := number("SpeedValue", sv.Speed)
		if err != nil {
			return err
		}
		if sample.Has(sp) && sp < 0 {
			return &sample.FieldError{Field: "SpeedValue", Reason: "must not be negative"}
		}
		s.Speed = sp
	}
	for _, cs := range st.Characteristics {
		all := append([]xChar(nil), cs.Chars...)
		for _, g := range cs.Groups {
			all = append(all, g.Chars...)
		}
		for _, c := range all {
			characteristic(s, c, attrs)
		}
	}
	return nil
}

// characteristic stores one Characteristic; BatteryCharge in percent
// becomes Sample.Battery.
func characteristic(s *sample.Sample, c xChar, attrs map[string]any) {
	name := snake(c.Name)
	val := strings.TrimSpace(c.Value)
	if name == "" || val == "" {
		return
	}
	if name == "battery_charge" && strings.Contains(c.Units, "%") {
		if b, err := number("BatteryCharge", val); err == nil && b >= 0 && b <= 100 {
			s.Battery = b
			return
		}
	}
	class := strings.ToLower(strings.TrimSpace(c.Class))
	switch {
	case strings.Contains(class, "double"):
		if f, err := number(name, val); err == nil && sample.Has(f) {
			attrs[name] = f
			return
		}
	case strings.Contains(class, "integer"):
		if i, err := strconv.ParseInt(val, 10, 64); err == nil {
			attrs[name] = i
			return
		}
	case class == "boolean":
		if b, err := strconv.ParseBool(val); err == nil {
			attrs[name] = b
			return
		}
	}
	attrs[name] = val
}

// snake turns "RadioSignalStrength" or "RF BAND" into radio_signal_strength
// or rf_band.
func snake(name string) string {
	var b strings.Builder
	prevLower, sep := false, false
	for _, r := range strings.TrimSpace(name) {
		if !unicode.IsLetter(r) && !unicode.IsDigit(r) {
			sep = true
			continue
		}
		if b.Len() > 0 && (sep || (unicode.IsUpper(r) && prevLower)) {
			b.WriteByte('_')
		}
		sep = false
		prevLower = unicode.IsLower(r) || unicode.IsDigit(r)
		b.WriteRune(unicode.ToLower(r))
	}
	return b.String()
}

// number parses an optional xsd:double; empty gives NaN. NaN, INF and
// anything but plain decimal notation are refused.
func number(field, v string) (float64, error) {
	v = strings.TrimSpace(v)
	if v == "" {
		return math.NaN(), nil
	}
	if strings.Trim(v, "0123456789+-.eE") != "" || strings.ContainsAny(v, "xX_") {
		return 0, &sample.FieldError{Field: field, Reason: fmt.Sprintf("%q is not a number", v)}
	}
	f, err := strconv.ParseFloat(v, 64)
	if err != nil || math.IsInf(f, 0) || math.IsNaN(f) {
		return 0, &sample.FieldError{Field: field, Reason: fmt.Sprintf("%q is not a finite number", v)}
	}
	return f, nil
}

// countData sums a CountData list (usually one value).
func countData(v string) (total float64, n int, err error) {
	for _, f := range strings.Fields(v) {
		c, err := number("CountData", f)
		if err != nil {
			return 0, 0, err
		}
		if c < 0 {
			return 0, 0, &sample.FieldError{Field: "CountData", Reason: "must not be negative"}
		}
		total += c
		n++
	}
	if math.IsInf(total, 0) {
		return 0, 0, &sample.FieldError{Field: "CountData", Reason: "sum overflows"}
	}
	return total, n, nil
}

// parseDateTime parses an xsd:dateTime; zoned is false when it carries no
// time zone (then it is read as UTC).
func parseDateTime(v string) (t time.Time, zoned bool, err error) {
	if t, err := time.Parse(time.RFC3339Nano, v); err == nil && !t.IsZero() {
		return t.UTC(), true, nil
	}
	if t, err := time.Parse("2006-01-02T15:04:05.999999999", v); err == nil && !t.IsZero() {
		return t.UTC(), false, nil
	}
	return time.Time{}, false, &sample.FieldError{Field: "StartDateTime", Reason: fmt.Sprintf("%q is not an xsd:dateTime", v)}
}

var durationRE = regexp.MustCompile(`^P(?:(\d+(?:\.\d+)?)D)?(?:T(?:(\d+(?:\.\d+)?)H)?(?:(\d+(?:\.\d+)?)M)?(?:(\d+(?:\.\d*)?|\.\d+)S)?)?$`)

// ParseDuration parses an ISO-8601 / xsd:duration of days, hours, minutes
// and seconds ("PT1.0S", "PT2M30S", "P1DT2H") into seconds. Errors are
// *sample.FieldError naming field.
func ParseDuration(field, v string) (float64, error) {
	v = strings.TrimSpace(v)
	m := durationRE.FindStringSubmatch(v)
	if m == nil || v == "P" || strings.HasSuffix(v, "T") {
		reason := fmt.Sprintf("%q is not an ISO-8601 duration like PT1.0S", v)
		if strings.ContainsAny(strings.SplitN(v, "T", 2)[0], "YM") {
			reason = fmt.Sprintf("%q uses years or months, whose length in seconds is not defined", v)
		}
		return 0, &sample.FieldError{Field: field, Reason: reason}
	}
	var secs float64
	for i, mult := range []float64{86400, 3600, 60, 1} {
		if m[i+1] == "" {
			continue
		}
		f, err := strconv.ParseFloat(m[i+1], 64)
		if err != nil {
			return 0, &sample.FieldError{Field: field, Reason: fmt.Sprintf("%q is out of range", v)}
		}
		secs += f * mult
	}
	if math.IsInf(secs, 0) {
		return 0, &sample.FieldError{Field: field, Reason: fmt.Sprintf("%q is out of range", v)}
	}
	return secs, nil
}
