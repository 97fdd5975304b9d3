package bgeigie

import (
	"bytes"
	"encoding/json"
	"errors"
	"math"
	"testing"
	"time"

	"github.com/radtrack/radtrack/sample"
)

// FuzzDecodeLog feeds arbitrary log text through DecodeLog (and so through
// Sentences and ParseSentence): no panic, line numbers never decrease, a
// decoded sample is well formed.
// Seeds: testdata/fuzz/FuzzDecodeLog (lines of the three real logs, glued
// and damaged variants).
func FuzzDecodeLog(f *testing.F) {
	f.Add([]byte("# NEW LOG\r\n$BNRDD,5002,2025-07-25T19:04:40Z,48,2,27761,A,3428.9589,N,13609.7811,E,578.7,A,18,141*76\r\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		last := 0
		err := DecodeLog(bytes.NewReader(data), func(n int, s sample.Sample, err error) error {
			if n < last || n < 1 {
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
			if s.DeviceUID == "" || s.Source != sample.SourceBGeigie {
				t.Fatalf("bad sample %+v", s)
			}
			if TimeLost(s) != s.Time.IsZero() {
				t.Fatalf("time %v, lost %v", s.Time, TimeLost(s))
			}
			if sample.Has(s.Counts) && s.CountInterval != CountInterval {
				t.Fatalf("counts without interval")
			}
			checkSample(t, s)
			return nil
		})
		if err != nil {
			t.Fatalf("DecodeLog over a bytes.Reader: %v", err)
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
