package ingest

import (
	"context"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/radtrack/radtrack/metrics"
	"github.com/radtrack/radtrack/sample"
)

// nopSink takes every batch at once: what is left is the writer's own cost.
type nopSink struct{}

func (nopSink) WriteSamples(context.Context, []sample.Sample) error { return nil }

// BenchmarkWriterGroupCommit: 64 senders each writing 10-sample requests
// through group commit into a store that costs nothing, so the writer's
// own overhead per sample shows (ns/op is per request of 10 samples).
func BenchmarkWriterGroupCommit(b *testing.B) {
	w := NewWriter(nopSink{}, WriterConfig{BatchSize: 10_000, FlushInterval: 0, Flushers: 2, QueueLimit: 200_000},
		metrics.New(), slog.New(slog.NewTextHandler(io.Discard, nil)))
	defer w.Close(context.Background())
	reqs := make(chan struct{}, 1024)
	var wg sync.WaitGroup
	for s := range 64 {
		batch := make([]sample.Sample, 10)
		for i := range batch {
			batch[i] = sample.New()
			batch[i].DeviceID, batch[i].Time = int64(s), time.Unix(int64(1_700_000_000+i), 0)
		}
		wg.Go(func() {
			for range reqs {
				if err := w.Write(context.Background(), batch); err != nil {
					b.Error(err)
				}
			}
		})
	}
	b.ResetTimer()
	for range b.N {
		reqs <- struct{}{}
	}
	close(reqs)
	wg.Wait()
}
