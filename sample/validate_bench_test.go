package sample

import (
	"testing"
	"time"
)

// BenchmarkValidate: a typical sample with the attributes a bGeigie or a
// Traccar gateway sends.
func BenchmarkValidate(b *testing.B) {
	now := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	s := New()
	s.Time, s.Lat, s.Lon, s.GPSValid, s.DoseRate, s.CPM = now.Add(-time.Second), 51.9, 4.1, true, 0.12, 40
	s.Attributes = map[string]any{"header": "BNRDD", "total_counts": int64(9680), "field13": "15", "field14": "245",
		"traccar_protocol": "teltonika", "ignition": true, "io239": int64(1), "distance": 12.34}
	b.ReportAllocs()
	for range b.N {
		if err := s.Validate(now); err != nil {
			b.Fatal(err)
		}
	}
}
