package alarms_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/radtrack/radtrack/alarms"
	"github.com/radtrack/radtrack/geo"
	"github.com/radtrack/radtrack/ingest"
	"github.com/radtrack/radtrack/internal/cputime"
	"github.com/radtrack/radtrack/sample"
	"github.com/radtrack/radtrack/store"
	"github.com/radtrack/radtrack/store/sqlitestore"
	"github.com/radtrack/radtrack/store/storetest"
)

// BenchmarkProcess is the rules-and-alarms stage per sample, in 50-sample
// requests of one vehicle, as bench ingest sends them: normal readings,
// and above OIL3 throughout (issue #19's emergency: every sample updates
// the open dose and background episodes, coalesced). Compare the two in
// the same run: only ratios travel.
func BenchmarkProcess(b *testing.B) {
	const lon0, lat0 = 140.2, 37.5 // the restricted zone the vehicle is parked in
	mPerLat, mPerLon := 111_320.0, 111_320*math.Cos(lat0*math.Pi/180)
	for _, sc := range []struct {
		name   string
		fences bool
		shape  func(i int, s *sample.Sample)
	}{
		{"normal", false, func(i int, s *sample.Sample) {
			s.DoseRate, s.Counts = float64(8+i%7)/100, float64(3+i%4)
		}},
		{"above-OIL3", false, func(i int, s *sample.Sample) {
			s.DoseRate, s.Counts = float64(150+i%11*5)/100, float64(150+i%11)
		}},
		// bench ingest's restricted-zone scenario: 1 000 zones, the vehicle
		// moving within 40 m of the centre of one (a 600 m square).
		{"restricted", true, func(i int, s *sample.Sample) {
			s.DoseRate, s.Counts = float64(8+i%7)/100, float64(3+i%4)
			s.Lon = lon0 + float64(i%9-4)*10/mPerLon
			s.Lat = lat0 + float64(i%7-3)*10/mPerLat
		}},
	} {
		b.Run(sc.name, func(b *testing.B) {
			ctx := context.Background()
			st, err := sqlitestore.Open(ctx, sqlitestore.Config{Dir: b.TempDir()})
			if err != nil {
				b.Fatal(err)
			}
			defer st.Close()
			if sc.fences {
				rng := rand.New(rand.NewPCG(19, 19))
				square := func(lon, lat, side float64) store.Fence {
					dx, dy := side/2/mPerLon, side/2/mPerLat
					return store.Fence{Name: "zone", Kind: string(geo.KindRestricted), Feature: fmt.Appendf(nil,
						`{"type":"Feature","properties":{"name":"zone","kind":"restricted"},"geometry":{"type":"Polygon","coordinates":[[[%.7f,%.7f],[%.7f,%.7f],[%.7f,%.7f],[%.7f,%.7f],[%.7f,%.7f]]]}}`,
						lon-dx, lat-dy, lon+dx, lat-dy, lon+dx, lat+dy, lon-dx, lat+dy, lon-dx, lat-dy)}
				}
				fs := []store.Fence{square(lon0, lat0, 600)}
				for len(fs) < 1000 {
					// Elsewhere in a 20 km box, clear of the vehicle's zone.
					x, y := (rng.Float64()-0.5)*20_000, (rng.Float64()-0.5)*20_000
					if math.Hypot(x, y) > 1500 {
						fs = append(fs, square(lon0+x/mPerLon, lat0+y/mPerLat, 100+900*rng.Float64()))
					}
				}
				for _, f := range fs {
					if _, err := st.CreateFence(ctx, f); err != nil {
						b.Fatal(err)
					}
				}
			}
			co := ingest.NewCoalescer()
			svc, err := alarms.New(ctx, st, alarms.Options{Geo: geo.DefaultConfig(), Coalescer: co},
				slog.New(slog.NewTextHandler(io.Discard, nil)))
			if err != nil {
				b.Fatal(err)
			}
			dev, _ := storetest.NewDevice(b, st, "veh-bench")
			const per = 50
			start := time.Now().UTC().Add(-24 * time.Hour).Truncate(time.Second)
			mk := func(from int) []sample.Sample {
				ss := storetest.Samples(dev.ID, start.Add(time.Duration(from)*time.Second), per)
				for i := range ss {
					ss[i].Time = start.Add(time.Duration(from+i) * time.Second)
					ss[i].CountInterval = 5
					sc.shape(from+i, &ss[i])
				}
				return ss
			}
			// Warm up: background estimates and, above OIL3, the episodes
			// raised and stored (raises are immediate, not what this measures).
			n := 0
			for ; n < 40*per; n += per {
				if err := svc.Process(ctx, dev, mk(n)); err != nil {
					b.Fatal(err)
				}
			}
			if sc.name != "normal" && !svc.Engine().HasOpen(dev.ID) {
				b.Fatalf("no alarm open after the warm-up: %d fences, inside %v", svc.Index().Len(), svc.Index().Containing(lon0, lat0, nil))
			}
			b.ReportAllocs()
			cpu0 := cputime.Process()
			for b.Loop() {
				if err := svc.Process(ctx, dev, mk(n)); err != nil {
					b.Fatal(err)
				}
				n += per
				if n%(100*per) == 0 {
					ups, tk := co.Take() // what a group commit does
					co.Finish(tk, ups, nil)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*per), "ns/sample")
			// Process CPU time: on a shared machine wall time also counts
			// the time other processes held the core.
			b.ReportMetric(float64(cputime.Process()-cpu0)/float64(b.N*per), "cpu-ns/sample")
		})
	}
}
