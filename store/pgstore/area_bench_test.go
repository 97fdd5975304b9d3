package pgstore_test

import (
	"context"
	"fmt"
	"math"
	"testing"
	"time"

	"github.com/radtrack/radtrack/internal/pgtest"
	"github.com/radtrack/radtrack/sample"
	"github.com/radtrack/radtrack/store"
	"github.com/radtrack/radtrack/store/pgstore"
)

// BenchmarkIncidentReads compares the reads of an incident's source fit:
// one track query per device (before) against one area query (after), on
// 200 vehicles with 10 minutes of 1-Hz samples, 10 of which drive past
// the incident; both read the same 6-minute window and keep the samples
// within 400 m.
//
//	go test -run '^$' -bench IncidentReads -benchtime 20x ./store/pgstore/
func BenchmarkIncidentReads(b *testing.B) {
	for _, e := range pgtest.Engines() {
		b.Run(e.Name, func(b *testing.B) {
			ctx := context.Background()
			st, err := pgstore.Open(ctx, pgstore.Config{URL: e.NewDatabase(b)})
			if err != nil {
				b.Skip(err)
			}
			defer st.Close()
			const lat0, lon0, devices, minutes = 51.95, 4.05, 200, 10
			base := time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)
			var ids []int64
			for k := range devices {
				d, err := st.CreateDevice(ctx, store.Device{UID: fmt.Sprintf("v%d", k), Name: fmt.Sprintf("v%d", k)}, []byte(fmt.Sprintf("h%d", k)))
				if err != nil {
					b.Fatal(err)
				}
				ids = append(ids, d.ID)
				var ss []sample.Sample
				for i := range minutes * 60 {
					s := sample.New()
					s.DeviceID, s.Time, s.GPSValid, s.RadValid = d.ID, base.Add(time.Duration(i)*time.Second), true, true
					// East at ~7 m/s; the first ten along the incident's
					// latitude, the others 1.1 km apart to the north.
					s.Lon, s.Lat = lon0-0.03+0.0001*float64(i), lat0
					if k >= 10 {
						s.Lat += 0.01 * float64(k-9)
					}
					s.Counts, s.CountInterval = 3, 1
					ss = append(ss, s)
				}
				if err := st.WriteSamples(ctx, ss); err != nil {
					b.Fatal(err)
				}
			}
			from, to := base.Add(2*time.Minute), base.Add(8*time.Minute)
			box := store.BoxAround(lon0, lat0, 400)
			inBox := func(s *sample.Sample) bool {
				return s.GPSValid && s.Lon >= box[0] && s.Lon <= box[2] && s.Lat >= box[1] && s.Lat <= box[3]
			}
			var perDevice, area int
			b.Run("per-device", func(b *testing.B) {
				for range b.N {
					perDevice = 0
					for _, id := range ids {
						track, err := st.Track(ctx, store.TrackQuery{DeviceID: id, From: from, To: to, Limit: 20000})
						if err != nil {
							b.Fatal(err)
						}
						for i := range track {
							if inBox(&track[i]) {
								perDevice++
							}
						}
					}
				}
			})
			b.Run("area", func(b *testing.B) {
				for range b.N {
					area = 0
					err := st.EachSampleInArea(ctx, store.AreaQuery{Box: box, From: from, To: to, Devices: ids}, func(*sample.Sample) error {
						area++
						return nil
					})
					if err != nil {
						b.Fatal(err)
					}
				}
			})
			if perDevice != area || area == 0 || math.Abs(float64(area)-10*116) > 10*10 {
				b.Fatalf("per-device reads kept %d samples, the area query %d", perDevice, area)
			}
		})
	}
}
