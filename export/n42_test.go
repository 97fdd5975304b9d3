package export_test

import (
	"bufio"
	"bytes"
	"math"
	"testing"
	"time"

	"github.com/radtrack/radtrack/export"
	"github.com/radtrack/radtrack/importer"
	"github.com/radtrack/radtrack/ingest/n42"
	"github.com/radtrack/radtrack/sample"
)

// TestN42ReadBackByOurImporter: the export is detected as N42 by the
// importer and decodes to the same times, dose rates, counts, positions,
// elevations, speeds and device identifier, with nothing skipped.
func TestN42ReadBackByOurImporter(t *testing.T) {
	t0 := time.Date(2026, 11, 1, 12, 0, 0, 250_000_000, time.UTC)
	var in []sample.Sample
	for i := range 5 {
		s := sample.New()
		s.Time = t0.Add(time.Duration(i) * 2 * time.Second)
		s.DoseRate = 0.1 * float64(i+1)
		s.Lon, s.Lat, s.GPSValid, s.Altitude, s.Speed = 140.47+float64(i)*1e-5, 37.42, true, 51.5, 12.25
		in = append(in, s)
	}
	in[1].Counts, in[1].CountInterval = 17, 5     // counts over 5 s
	in[2].GPSValid = false                        // no fix: no GeographicPoint
	in[3].DoseRate, in[3].Counts = math.NaN(), 40 // counts only
	in[4].Altitude, in[4].Speed = math.NaN(), math.NaN()
	noRad := sample.New() // neither dose nor counts: left out
	noRad.Time, noRad.GPSValid = t0.Add(9*time.Second), true

	var buf bytes.Buffer
	w := export.NewN42Writer(&buf, export.N42Doc{UUID: "5b9d4f0e-1c2a-4a8e-9f00-000000000001",
		Device: export.Device{ID: 3, UID: "veh-<3>", Name: "Patrol & 3"}, Remarks: []string{"RadTrack alarm 12: Level 1 µSv/h"}})
	for i := range in {
		if err := w.Sample(&in[i]); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Sample(&noRad); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if f, err := importer.Detect(bufio.NewReader(bytes.NewReader(buf.Bytes())), "alarm-12.n42"); err != nil || f != importer.FormatN42 {
		t.Fatalf("importer detects %q, %v", f, err)
	}
	doc, err := n42.Decode(bytes.NewReader(buf.Bytes()))
	if err != nil {
		t.Fatalf("%v\n%s", err, buf.Bytes())
	}
	if len(doc.Errors) != 0 || len(doc.Samples) != len(in) || doc.UUID != "5b9d4f0e-1c2a-4a8e-9f00-000000000001" {
		t.Fatalf("decoded %d samples, errors %v, uuid %q\n%s", len(doc.Samples), doc.Errors, doc.UUID, buf.Bytes())
	}
	same := func(a, b float64) bool { return a == b || (math.IsNaN(a) && math.IsNaN(b)) }
	wantInterval := []float64{2, 5, 2, 2, 2} // next sample's distance, the count interval, the last repeats
	for i, got := range doc.Samples {
		want := in[i]
		if !got.Time.Equal(want.Time) || !same(got.DoseRate, want.DoseRate) || got.GPSValid != want.GPSValid ||
			(want.GPSValid && (got.Lon != want.Lon || got.Lat != want.Lat || !same(got.Altitude, want.Altitude))) ||
			!same(got.Speed, want.Speed) || !same(got.Counts, want.Counts) || got.DeviceUID != "veh-<3>" {
			t.Errorf("sample %d: got %+v\nwant %+v", i, got, want)
		}
		if sample.Has(want.Counts) && got.CountInterval != wantInterval[i] {
			t.Errorf("sample %d count interval %v, want %v", i, got.CountInterval, wantInterval[i])
		}
	}
}
