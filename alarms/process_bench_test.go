package alarms_test

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/radtrack/radtrack/alarms"
	"github.com/radtrack/radtrack/geo"
	"github.com/radtrack/radtrack/ingest"
	"github.com/radtrack/radtrack/sample"
	"github.com/radtrack/radtrack/store/sqlitestore"
	"github.com/radtrack/radtrack/store/storetest"
)

// BenchmarkProcess is the rules-and-alarms stage per sample, in 50-sample
// requests of one vehicle, as bench ingest sends them: normal readings,
// and above OIL3 throughout (issue #19's emergency: every sample updates
// the open dose and background episodes, coalesced). Compare the two in
// the same run: only ratios travel.
func BenchmarkProcess(b *testing.B) {
	for _, sc := range []struct {
		name  string
		shape func(i int, s *sample.Sample)
	}{
		{"normal", func(i int, s *sample.Sample) {
			s.DoseRate, s.Counts = float64(8+i%7)/100, float64(3+i%4)
		}},
		{"above-OIL3", func(i int, s *sample.Sample) {
			s.DoseRate, s.Counts = float64(150+i%11*5)/100, float64(150+i%11)
		}},
	} {
		b.Run(sc.name, func(b *testing.B) {
			ctx := context.Background()
			st, err := sqlitestore.Open(ctx, sqlitestore.Config{Dir: b.TempDir()})
			if err != nil {
				b.Fatal(err)
			}
			defer st.Close()
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
			b.ReportAllocs()
			cpu0 := processCPU()
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
			b.ReportMetric(float64(processCPU()-cpu0)/float64(b.N*per), "cpu-ns/sample")
		})
	}
}
