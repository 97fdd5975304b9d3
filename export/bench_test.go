package export_test

import (
	"io"
	"testing"
	"time"

	"github.com/radtrack/radtrack/export"
	"github.com/radtrack/radtrack/sample"
)

// BenchmarkTrackWriters: encoding cost per sample of each format into
// io.Discard (the database and network are the rest of an export). The
// JSON row of the map's format is the baseline of the same run.
func BenchmarkTrackWriters(b *testing.B) {
	s := sample.New()
	s.Time, s.ReceivedAt = time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC), time.Date(2026, 11, 1, 12, 0, 0, 300_000_000, time.UTC)
	s.Lon, s.Lat, s.GPSValid, s.Altitude, s.Speed, s.Heading, s.Satellites = 140.123456, 37.412345, true, 120.5, 12.25, 90, 9
	s.DoseRate, s.CPM, s.Source = 0.137, 33, sample.SourceHTTP
	for _, f := range append(export.TrackFormats, export.N42) {
		b.Run(string(f), func(b *testing.B) {
			var w interface {
				Sample(*sample.Sample) error
				Close() error
			}
			if f == export.N42 {
				w = export.NewN42Writer(io.Discard, export.N42Doc{UUID: "u", Device: export.Device{ID: 1, UID: "veh"}})
			} else {
				tw, _ := export.NewTrackWriter(f, io.Discard, true)
				_ = tw.Begin(export.Device{ID: 1, UID: "veh", Name: "Vehicle"})
				w = tw
			}
			b.ReportAllocs()
			for i := 0; b.Loop(); i++ {
				s.Time = s.Time.Add(time.Second)
				if err := w.Sample(&s); err != nil {
					b.Fatal(err)
				}
			}
			_ = w.Close()
		})
	}
}
