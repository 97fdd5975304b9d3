package n42

import (
	"bytes"
	"encoding/json"
	"errors"
	"math"
	"testing"
	"time"

	"github.com/radtrack/radtrack/sample"
)

// FuzzDecode: no panic; samples well formed; every skipped measurement
// error is a *MeasurementError. Seeds: testdata/fuzz/FuzzDecode (the two
// example documents and cut-down variants).
func FuzzDecode(f *testing.F) {
	f.Add([]byte(synthetic))
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
			checkSample(t, s)
		}
	})
}

// checkSample asserts what every decoded sample must satisfy.
func checkSample(t *testing.T, s sample.Sample) {
	t.Helper()
	for name, v := range map[string]float64{
		"lat": s.Lat, "lon": s.Lon,
	} {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			t.Fatalf("%s = %v", name, v)
		}
	}
	for name, v := range map[string]float64{
		"altitude": s.Altitude, "speed": s.Speed, "heading": s.Heading, "hdop": s.HDOP, "accuracy": s.Accuracy,
		"dose": s.DoseRate, "cpm": s.CPM, "counts": s.Counts, "interval": s.CountInterval, "battery": s.Battery,
	} {
		if math.IsInf(v, 0) {
			t.Fatalf("%s = %v", name, v)
		}
	}
	if s.GPSValid && (s.Lat < -90 || s.Lat > 90 || s.Lon < -180 || s.Lon > 180) {
		t.Fatalf("GPSValid with lat/lon %v/%v", s.Lat, s.Lon)
	}
	if s.DeviceID != 0 {
		t.Fatalf("DeviceID = %d", s.DeviceID)
	}
	if !s.Time.IsZero() && s.Time.Location() != time.UTC {
		t.Fatalf("time %v not UTC", s.Time)
	}
	if s.Satellites < -1 {
		t.Fatalf("satellites %d", s.Satellites)
	}
	for k, v := range s.Attributes {
		switch x := v.(type) {
		case bool, int64, string:
		case float64:
			if math.IsNaN(x) || math.IsInf(x, 0) {
				t.Fatalf("attribute %s = %v", k, x)
			}
		default:
			t.Fatalf("attribute %s has type %T", k, v)
		}
	}
	if _, err := json.Marshal(s.Attributes); err != nil {
		t.Fatalf("attributes do not marshal: %v", err)
	}
}
