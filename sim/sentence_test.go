package sim

import (
	"math"
	"strings"
	"testing"
	"time"

	"github.com/radtrack/radtrack/ingest/bgeigie"
	"github.com/radtrack/radtrack/sample"
)

func TestSentenceParsesBack(t *testing.T) {
	fleet, err := NewFleet(DefaultLayout(), FleetConfig{Vehicles: 3, Seed: 5, Interval: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	total := 0.0
	for _, s := range drive(fleet.Patrols[2], 10*time.Minute) {
		total += s.Counts
		line, err := Sentence("sim-003", s, total)
		if err != nil {
			t.Fatal(err)
		}
		got, err := bgeigie.ParseSentence([]byte(line + "\r\n"))
		if err != nil {
			t.Fatalf("%s: %v", line, err)
		}
		if got.DeviceUID != "sim-003" || !got.Time.Equal(s.Time.Truncate(time.Second)) ||
			got.Counts != s.Counts || got.CPM != s.CPM || got.CountInterval != 5 || !got.GPSValid || !got.RadValid {
			t.Fatalf("%s parsed as %+v, from %+v", line, got, s)
		}
		// ddmm.mmmm keeps 1/10000 minute: 0.19 m of latitude.
		if math.Abs(got.Lat-s.Lat) > 1e-6 || math.Abs(got.Lon-s.Lon) > 1e-6 {
			t.Fatalf("%s: position %v,%v, want %v,%v", line, got.Lat, got.Lon, s.Lat, s.Lon)
		}
		if got.Attributes["total_counts"] != int64(total) || got.Satellites != s.Satellites || math.Abs(got.HDOP-s.HDOP) > 0.005 {
			t.Fatalf("%s: firmware fields %+v", line, got)
		}
		if sample.Has(got.DoseRate) {
			t.Fatalf("a bGeigie sentence carries no dose, got %v", got.DoseRate)
		}
	}
}

func TestSentenceHemispheresAndRounding(t *testing.T) {
	s := sample.New()
	s.Time = epoch
	s.Counts, s.CountInterval, s.CPM = 3, 5, 40
	s.RadValid = true
	s.Lat, s.Lon, s.GPSValid = -33.99999999, -118.5, true // rounds up into 34°00.0000'
	line, err := Sentence("028", s, 3)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(line, ",3400.0000,S,11830.0000,W,") {
		t.Errorf("coordinates: %s", line)
	}
	if _, err := bgeigie.ParseSentence([]byte(line)); err != nil {
		t.Errorf("%s: %v", line, err)
	}
	s.CountInterval = 2
	if _, err := Sentence("028", s, 3); err == nil {
		t.Error("a 2 s count went into a 5 s field")
	}
	s.CountInterval = 5
	if _, err := Sentence("a,b", s, 3); err == nil {
		t.Error("a serial with a comma was accepted")
	}
}
