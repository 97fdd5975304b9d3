package atomfast

import (
	"bytes"
	"encoding/json"
	"errors"
	"math"
	"testing"
	"time"

	"github.com/radtrack/radtrack/sample"
)

// FuzzDecode: no panic, increasing line numbers, well-formed samples.
// Seeds: testdata/fuzz/FuzzDecode (slices of the real export).
func FuzzDecode(f *testing.F) {
	f.Add([]byte("unix timestamp;doserate (uSv/h);lat;lng;wgs84_alt (m.);speed (m/s);cps;cp_2s;horizontal accuracy (radius of 68% confidence [m]);marker type (2-circle, 1-marker);SE (1 σ)[%]\r\n1752939428;0.04356;45.329978943;37.267513275;16.200000763;0.326333880;4.16472;5.50000;1.7000;2;11.5\r\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		last := 0
		_ = Decode(bytes.NewReader(data), func(n int, s sample.Sample, err error) error {
			if n <= last {
				t.Fatalf("line number %d after %d", n, last)
			}
			last = n
			if err != nil {
				var fe *sample.FieldError
				if errors.As(err, &fe) && fe.Field == "" {
					t.Fatalf("FieldError without a field: %v", err)
				}
				return nil
			}
			if s.Time.IsZero() || !s.Imported || s.Source != sample.SourceImport {
				t.Fatalf("bad sample %+v", s)
			}
			if sample.Has(s.CPM) != (s.Attributes["cps"] != nil) {
				t.Fatalf("CPM %v without cps attribute", s.CPM)
			}
			checkSample(t, s)
			return nil
		})
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
