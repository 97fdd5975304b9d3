package sqlitestore_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/radtrack/radtrack/internal/cputime"
	"github.com/radtrack/radtrack/sample"
	"github.com/radtrack/radtrack/store"
	"github.com/radtrack/radtrack/store/sqlitestore"
	"github.com/radtrack/radtrack/store/storetest"
)

// BenchmarkWriteSamples commits 10k-sample batches (the group-commit
// writer's largest) from 100 devices, interleaved as they arrive, with each
// durability setting. Run: go test -run ^$ -bench WriteSamples ./store/sqlitestore/
func BenchmarkWriteSamples(b *testing.B) {
	for _, c := range []struct {
		name string
		sync sqlitestore.Sync
	}{{"sync=FULL", sqlitestore.SyncFull}, {"sync=NORMAL", sqlitestore.SyncNormal}} {
		for _, batch := range []int{10_000, 1_000, 10} {
			b.Run(fmt.Sprintf("%s/batch=%d", c.name, batch), func(b *testing.B) {
				benchWrite(b, c.sync, batch)
			})
		}
	}
}

func benchWrite(b *testing.B, sync sqlitestore.Sync, batch int) {
	ctx := context.Background()
	s, err := sqlitestore.Open(ctx, sqlitestore.Config{Dir: b.TempDir(), Sync: sync})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	const devices = 100
	ids := make([]int64, devices)
	for i := range ids {
		d, _ := storetest.NewDevice(b, s, fmt.Sprintf("veh-%d", i))
		ids[i] = d.ID
	}
	template := storetest.Samples(0, storetest.Base, 1)[0]
	samples := make([]sample.Sample, batch)
	rows := 0 // sample k is device k%devices at Base + k/devices seconds
	cpu0 := cputime.Process()
	for b.Loop() {
		for j := range samples {
			sm := template
			k := rows + j
			sm.DeviceID = ids[k%devices]
			sm.Time = storetest.Base.Add(time.Duration(k/devices) * time.Second)
			sm.ReceivedAt = sm.Time
			samples[j] = sm
		}
		if err := s.WriteSamples(ctx, samples); err != nil {
			b.Fatal(err)
		}
		rows += batch
	}
	b.ReportMetric(float64(rows)/b.Elapsed().Seconds(), "rows/s")
	if cpu := cputime.Process() - cpu0; cpu > 0 {
		b.ReportMetric(float64(cpu.Microseconds())/float64(rows), "cpu-µs/row")
	}
	// Every row must have landed: the benchmark measures real inserts.
	want := min((rows+devices-1)/devices, 100_000)
	got, err := s.Track(ctx, store.TrackQuery{DeviceID: ids[0], From: storetest.Base, To: storetest.Base.Add(time.Duration(rows) * time.Second), Limit: want})
	if err != nil || len(got) != want {
		b.Fatalf("device 0 has %d samples, %v; want %d", len(got), err, want)
	}
}
