package n42

import (
	"errors"
	"os"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/radtrack/radtrack/internal/testutil"
	"github.com/radtrack/radtrack/sample"
)

func decodeFile(t *testing.T, name string) *Document {
	t.Helper()
	f, err := os.Open(testutil.RequiredRadiationFile(t, name))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	doc, err := Decode(f)
	if err != nil {
		t.Fatal(err)
	}
	if len(doc.Errors) > 0 {
		t.Errorf("errors: %v", doc.Errors)
	}
	for i, s := range doc.Samples {
		if err := s.Validate(time.Now()); err != nil {
			t.Errorf("sample %d: Validate: %v", i, err)
		}
		if s.Source != sample.SourceImport || !s.Imported || s.DeviceID != 0 {
			t.Errorf("sample %d: source %q imported %v", i, s.Source, s.Imported)
		}
	}
	return doc
}

func TestPRDDoseRate(t *testing.T) {
	doc := decodeFile(t, "n42_example_prd_doserate.xml")
	if doc.UUID != "7d5feab1-f9d3-4864-aa4b-e05c6411abbd" {
		t.Errorf("UUID %q", doc.UUID)
	}
	wantInst := []Instrument{{ID: "RadInstrumentInformation-1", Identifier: "FA 20110344", Manufacturer: "PRDs R Us", Model: "ePRD 100", Class: "Radionuclide Identifier"}}
	if !reflect.DeepEqual(doc.Instruments, wantInst) {
		t.Errorf("instruments %+v", doc.Instruments)
	}
	if len(doc.Notes) != 0 {
		t.Errorf("notes %q, want none", doc.Notes)
	}
	want := []struct {
		sec        int
		dose, batt float64
		rssi       float64
	}{{30, 10.2, 85, -50}, {31, 10.0, 84, -50}, {32, 10.4, 83, -49}}
	if len(doc.Samples) != len(want) {
		t.Fatalf("%d samples, want %d", len(doc.Samples), len(want))
	}
	for i, w := range want {
		s := doc.Samples[i]
		// 2003-11-22T23:46:3x-07:00 is 2003-11-23T06:46:3xZ.
		if wt := time.Date(2003, 11, 23, 6, 46, w.sec, 0, time.UTC); !s.Time.Equal(wt) || s.Time.Location() != time.UTC {
			t.Errorf("%d: time %v, want %v", i, s.Time, wt)
		}
		if s.DeviceUID != "FA 20110344" || s.DoseRate != w.dose || s.Battery != w.batt {
			t.Errorf("%d: uid %q dose %v batt %v", i, s.DeviceUID, s.DoseRate, s.Battery)
		}
		if !s.GPSValid || s.Lat != 42.123 || s.Lon != -22.456 || s.Altitude != 5.2 {
			t.Errorf("%d: position %v %v %v %v", i, s.GPSValid, s.Lat, s.Lon, s.Altitude)
		}
		if sample.Has(s.Counts) || sample.Has(s.CountInterval) || sample.Has(s.CPM) || sample.Has(s.Speed) {
			t.Errorf("%d: counts/interval/cpm/speed must be absent: %+v", i, s)
		}
		wantAttrs := map[string]any{
			"n42_measurement_id": "RadMeasurement-" + string(rune('1'+i)), "measurement_class": "Foreground",
			"radio_signal_strength": w.rssi,
		}
		if !reflect.DeepEqual(s.Attributes, wantAttrs) {
			t.Errorf("%d: attributes %#v, want %#v", i, s.Attributes, wantAttrs)
		}
	}
}

func TestMobileSystem(t *testing.T) {
	doc := decodeFile(t, "n42_example_mobile_system.xml")
	wantNotes := []string{
		"FWHMCalibration ignored",
		"no RadInstrumentIdentifier: DeviceUID left empty (2×)",
	}
	if !reflect.DeepEqual(doc.Notes, wantNotes) {
		t.Errorf("notes\n%q\nwant\n%q", doc.Notes, wantNotes)
	}
	if len(doc.Instruments) != 1 || doc.Instruments[0].Model != "iCarTop" || doc.Instruments[0].Class != "Mobile System" {
		t.Errorf("instruments %+v", doc.Instruments)
	}
	want := []struct {
		id       string
		t        time.Time
		lat, lon float64
		counts   float64
	}{
		{"M-1222", time.Date(2003, 11, 23, 6, 45, 19, 0, time.UTC), 41.608476, -72.88579, 2},
		{"M-1223", time.Date(2003, 11, 23, 6, 48, 22, 0, time.UTC), 41.608494, -72.885999, 3},
	}
	if len(doc.Samples) != len(want) {
		t.Fatalf("%d samples, want %d", len(doc.Samples), len(want))
	}
	for i, w := range want {
		s := doc.Samples[i]
		if !s.Time.Equal(w.t) || !s.GPSValid || s.Lat != w.lat || s.Lon != w.lon || s.Altitude != 84 || s.Speed != 2.2 {
			t.Errorf("%d: %+v", i, s)
		}
		// The GrossCounts come from the He-3 neutron detector: kept as
		// attributes, never as Counts that FillDose would turn into a
		// gamma dose.
		if sample.Has(s.Counts) || sample.Has(s.CountInterval) || sample.Has(s.DoseRate) || s.DeviceUID != "" {
			t.Errorf("%d: counts %v interval %v dose %v uid %q", i, s.Counts, s.CountInterval, s.DoseRate, s.DeviceUID)
		}
		wantAttrs := map[string]any{
			"n42_measurement_id": w.id, "measurement_class": "Foreground", "instrument_mode": "Search",
			"azimuth": -90.0, "neutron_counts": w.counts, "neutron_count_time_s": 3.0,
		}
		if !reflect.DeepEqual(s.Attributes, wantAttrs) {
			t.Errorf("%d: attributes %#v, want %#v", i, s.Attributes, wantAttrs)
		}
	}
}

const synthetic = `<?xml version="1.0"?>
<n42:RadInstrumentData xmlns:n42="http://physics.nist.gov/N42/2011/N42">
  <n42:RadInstrumentInformation id="I1"><n42:RadInstrumentIdentifier>SN-7</n42:RadInstrumentIdentifier></n42:RadInstrumentInformation>
  <n42:RadDetectorInformation id="G"><n42:RadDetectorCategoryCode>Gamma</n42:RadDetectorCategoryCode></n42:RadDetectorInformation>
  <n42:RadMeasurement id="ok">
    <n42:StartDateTime>2025-07-19T15:37:08.5</n42:StartDateTime>
    <n42:RealTimeDuration>PT2M30S</n42:RealTimeDuration>
    <n42:GrossCounts radDetectorInformationReference="G"><n42:LiveTimeDuration>PT149.5S</n42:LiveTimeDuration><n42:CountData>100 20</n42:CountData></n42:GrossCounts>
    <n42:ExposureRate><n42:ExposureRateValue>1</n42:ExposureRateValue></n42:ExposureRate>
  </n42:RadMeasurement>
  <n42:RadMeasurement id="bad-dose">
    <n42:StartDateTime>2025-07-19T15:37:08Z</n42:StartDateTime>
    <n42:DoseRate><n42:DoseRateValue>NaN</n42:DoseRateValue></n42:DoseRate>
  </n42:RadMeasurement>
  <n42:RadMeasurement id="no-time">
    <n42:DoseRate><n42:DoseRateValue>0.1</n42:DoseRateValue></n42:DoseRate>
  </n42:RadMeasurement>
  <n42:RadMeasurement id="bad-lat">
    <n42:StartDateTime>2025-07-19T15:37:08Z</n42:StartDateTime>
    <n42:DoseRate><n42:DoseRateValue>0.1</n42:DoseRateValue></n42:DoseRate>
    <n42:RadInstrumentState><n42:StateVector><n42:GeographicPoint><n42:LatitudeValue>91</n42:LatitudeValue><n42:LongitudeValue>1</n42:LongitudeValue></n42:GeographicPoint></n42:StateVector></n42:RadInstrumentState>
  </n42:RadMeasurement>
  <n42:RadMeasurement id="spectrum-only">
    <n42:StartDateTime>2025-07-19T15:37:08Z</n42:StartDateTime>
    <n42:Spectrum><n42:ChannelData>1 2 3</n42:ChannelData></n42:Spectrum>
  </n42:RadMeasurement>
</n42:RadInstrumentData>`

func TestSynthetic(t *testing.T) {
	doc, err := Decode(strings.NewReader(synthetic))
	if err != nil {
		t.Fatal(err)
	}
	if len(doc.Samples) != 1 {
		t.Fatalf("samples %+v", doc.Samples)
	}
	s := doc.Samples[0]
	if s.DeviceUID != "SN-7" || !s.Time.Equal(time.Date(2025, 7, 19, 15, 37, 8, 5e8, time.UTC)) || s.Counts != 120 || s.CountInterval != 150 {
		t.Errorf("%+v", s)
	}
	if s.GPSValid || sample.Has(s.DoseRate) || s.Attributes["live_time_s"] != 149.5 {
		t.Errorf("%+v", s)
	}
	wantErr := map[string]string{"bad-dose": "DoseRateValue", "no-time": "StartDateTime", "bad-lat": "LatitudeValue"}
	if len(doc.Errors) != len(wantErr) {
		t.Fatalf("errors %v", doc.Errors)
	}
	for _, e := range doc.Errors {
		var me *MeasurementError
		var fe *sample.FieldError
		if !errors.As(e, &me) || !errors.As(e, &fe) || wantErr[me.ID] != fe.Field {
			t.Errorf("error %v", e)
		}
	}
	wantNotes := []string{
		"GrossCounts/CountData list summed",
		"RadMeasurement with only Spectrum: no sample",
		"RadMeasurement/ExposureRate ignored",
		"Spectrum without energy calibration",
		"StartDateTime without time zone read as UTC",
	}
	if !reflect.DeepEqual(doc.Notes, wantNotes) {
		t.Errorf("notes %q", doc.Notes)
	}
	if len(doc.Spectra) != 1 || doc.Spectra[0].Sample != -1 || doc.Spectra[0].DeviceUID != "SN-7" || !reflect.DeepEqual(doc.Spectra[0].Channels, []float64{1, 2, 3}) {
		t.Errorf("spectra %+v", doc.Spectra)
	}
}

func TestDecodeErrors(t *testing.T) {
	for _, in := range []string{"", "<RadInstrumentData>", "<Other/>", "not xml"} {
		if _, err := Decode(strings.NewReader(in)); err == nil {
			t.Errorf("Decode(%q): want error", in)
		}
	}
}

func TestParseDuration(t *testing.T) {
	for in, want := range map[string]float64{
		"PT1.0S": 1, "PT3S": 3, "PT2M30S": 150, "P1DT2H": 93600, "PT0.25S": 0.25, "P2D": 172800, "PT1H1M1.5S": 3661.5,
	} {
		got, err := ParseDuration("d", in)
		if err != nil || got != want {
			t.Errorf("ParseDuration(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, in := range []string{"", "P", "PT", "1S", "-PT1S", "P1Y", "P1M", "PT1.5.5S", "PTS", "PT1S2M"} {
		var fe *sample.FieldError
		if _, err := ParseDuration("RealTimeDuration", in); !errors.As(err, &fe) || fe.Field != "RealTimeDuration" {
			t.Errorf("ParseDuration(%q) = %v, want FieldError", in, err)
		}
	}
}

func TestSnake(t *testing.T) {
	for in, out := range map[string]string{"RadioSignalStrength": "radio_signal_strength", "RF BAND": "rf_band", "IP": "ip", "BatteryCharge": "battery_charge", "HV2Level": "hv2_level"} {
		if got := snake(in); got != out {
			t.Errorf("snake(%q) = %q, want %q", in, got, out)
		}
	}
}
