// Package testutil holds what many packages' tests share: the path of the
// shared test data beside the repository, and the invariants every decoded
// sample must satisfy.
package testutil

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/radtrack/radtrack/sample"
)

// SharedFile returns the path of rel inside ../shared (beside the
// repository root, the nearest directory above with a go.mod), skipping the
// test with a clear message when it is absent.
func SharedFile(t testing.TB, rel string) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			break
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Skipf("no go.mod above the test directory; cannot locate ../shared/%s", rel)
		}
		dir = parent
	}
	p := filepath.Join(dir, "..", "shared", rel)
	if _, err := os.Stat(p); err != nil {
		t.Skipf("shared test data %s not available (%v): it lives beside the repository", p, err)
	}
	return p
}

// RadiationFile is SharedFile for data/radiation/name.
func RadiationFile(t testing.TB, name string) string {
	t.Helper()
	return SharedFile(t, filepath.Join("data", "radiation", name))
}

// RequiredRadiationFile is RadiationFile for tests whose data CI must
// have: with CI=true a missing file fails the test instead of skipping it,
// so a CI without ../shared cannot pass by testing nothing.
func RequiredRadiationFile(t testing.TB, name string) string {
	t.Helper()
	if os.Getenv("CI") == "true" {
		p, err := sharedPath(filepath.Join("data", "radiation", name))
		if err != nil {
			t.Fatalf("CI=true and shared test data is missing: %v", err)
		}
		return p
	}
	return RadiationFile(t, name)
}

// sharedPath locates rel inside ../shared beside the repository root.
func sharedPath(rel string) (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			break
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("no go.mod above %s", dir)
		}
		dir = parent
	}
	p := filepath.Join(dir, "..", "shared", rel)
	if _, err := os.Stat(p); err != nil {
		return "", err
	}
	return p, nil
}

// CheckDecoded asserts what every sample a decoder returns must satisfy,
// whatever its input: finite coordinates, no infinities, a fix only inside
// WGS84 bounds, no internal device id, UTC time, plain JSON attributes.
func CheckDecoded(t testing.TB, s sample.Sample) {
	t.Helper()
	for name, v := range map[string]float64{"lat": s.Lat, "lon": s.Lon} {
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
