package osmand

import (
	"encoding/json"
	"errors"
	"math"
	"testing"
	"time"

	"github.com/radtrack/radtrack/sample"
)

// FuzzDecode: Decode never panics; a decoded position is well formed; a
// field problem is a *sample.FieldError with a field name. Seeds:
// testdata/fuzz/FuzzDecode (the vectors of vectors/osmand.md and variants).
func FuzzDecode(f *testing.F) {
	f.Add("id=123456&timestamp=1377177267&lat=60.0&lon=30.0", "", []byte(nil))
	f.Add("", "application/json", []byte(jsonMoving))
	f.Fuzz(func(t *testing.T, rawQuery, contentType string, body []byte) {
		p, err := Decode(rawQuery, contentType, body)
		if err != nil {
			var fe *sample.FieldError
			if errors.As(err, &fe) && fe.Field == "" {
				t.Fatalf("FieldError without a field: %v", err)
			}
			return
		}
		if p.Sample.DeviceUID == "" {
			t.Fatal("decoded without a device id")
		}
		if p.Sample.GPSValid && !p.HasFix {
			t.Fatal("GPSValid without HasFix")
		}
		if p.Sample.Source != sample.SourceOsmAnd {
			t.Fatalf("source %q", p.Sample.Source)
		}
		checkSample(t, p.Sample)
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
