package ingest

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/radtrack/radtrack/metrics"
	"github.com/radtrack/radtrack/sample"
)

// gateSink is a unit-test stand-in for the store: it records commits and
// can hold them until released, to observe what waits for what.
type gateSink struct {
	mu      sync.Mutex
	batches []int
	gate    chan struct{}
	err     error
}

func (g *gateSink) WriteSamples(_ context.Context, s []sample.Sample) error {
	if g.gate != nil {
		<-g.gate
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	g.batches = append(g.batches, len(s))
	return g.err
}

func (g *gateSink) committed() (total, batches int) {
	g.mu.Lock()
	defer g.mu.Unlock()
	for _, n := range g.batches {
		total += n
	}
	return total, len(g.batches)
}

func newTestWriter(sink *gateSink, cfg WriterConfig) *Writer {
	return NewWriter(sink, cfg, metrics.New(), slog.New(slog.NewTextHandler(io.Discard, nil)))
}

func samples(n int) []sample.Sample { return make([]sample.Sample, n) }

func TestWriteReturnsOnlyAfterCommit(t *testing.T) {
	sink := &gateSink{gate: make(chan struct{})}
	w := newTestWriter(sink, WriterConfig{BatchSize: 100, FlushInterval: time.Millisecond, Flushers: 1, QueueLimit: 1000})
	done := make(chan error, 1)
	go func() { done <- w.Write(context.Background(), samples(3)) }()
	select {
	case err := <-done:
		t.Fatalf("Write returned %v before the commit finished", err)
	case <-time.After(50 * time.Millisecond):
	}
	if w.Queued() != 3 {
		t.Fatalf("queued = %d, want 3", w.Queued())
	}
	close(sink.gate)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if total, _ := sink.committed(); total != 3 || w.Queued() != 0 {
		t.Fatalf("committed %d, queued %d", total, w.Queued())
	}
	_ = w.Close(context.Background())
}

func TestConcurrentWritesShareCommits(t *testing.T) {
	sink := &gateSink{gate: make(chan struct{})}
	w := newTestWriter(sink, WriterConfig{BatchSize: 1000, FlushInterval: 20 * time.Millisecond, Flushers: 1, QueueLimit: 10000})
	var wg sync.WaitGroup
	for range 50 {
		wg.Go(func() {
			if err := w.Write(context.Background(), samples(10)); err != nil {
				t.Error(err)
			}
		})
	}
	time.Sleep(30 * time.Millisecond)
	close(sink.gate)
	wg.Wait()
	total, batches := sink.committed()
	if total != 500 || batches >= 50 {
		t.Fatalf("committed %d samples in %d batches; want 500 in far fewer than 50", total, batches)
	}
	_ = w.Close(context.Background())
}

func TestCommitErrorReachesEveryWaiter(t *testing.T) {
	sink := &gateSink{err: errors.New("disk on fire")}
	w := newTestWriter(sink, WriterConfig{BatchSize: 100, FlushInterval: 5 * time.Millisecond, Flushers: 2, QueueLimit: 1000})
	var wg sync.WaitGroup
	for range 10 {
		wg.Go(func() {
			if err := w.Write(context.Background(), samples(2)); err == nil || err.Error() != "disk on fire" {
				t.Errorf("Write = %v, want the commit error", err)
			}
		})
	}
	wg.Wait()
	_ = w.Close(context.Background())
}

func TestQueueLimitRefusesInsteadOfGrowing(t *testing.T) {
	sink := &gateSink{gate: make(chan struct{})}
	w := newTestWriter(sink, WriterConfig{BatchSize: 100, FlushInterval: time.Millisecond, Flushers: 1, QueueLimit: 10})
	go func() { _ = w.Write(context.Background(), samples(8)) }()
	for w.Queued() != 8 {
		time.Sleep(time.Millisecond)
	}
	if err := w.Write(context.Background(), samples(3)); !errors.Is(err, ErrQueueFull) {
		t.Fatalf("Write over the limit = %v, want ErrQueueFull", err)
	}
	if err := w.Write(context.Background(), samples(11)); !errors.Is(err, ErrQueueFull) {
		t.Fatalf("Write larger than the limit = %v, want ErrQueueFull", err)
	}
	close(sink.gate)
	_ = w.Close(context.Background())
}

func TestCloseDrainsQueuedSamples(t *testing.T) {
	sink := &gateSink{gate: make(chan struct{})}
	w := newTestWriter(sink, WriterConfig{BatchSize: 5, FlushInterval: time.Millisecond, Flushers: 1, QueueLimit: 1000})
	var wg sync.WaitGroup
	for range 20 {
		wg.Go(func() { _ = w.Write(context.Background(), samples(5)) })
	}
	for w.Queued() != 100 {
		time.Sleep(time.Millisecond)
	}
	closed := make(chan error, 1)
	go func() { closed <- w.Close(context.Background()) }()
	close(sink.gate)
	if err := <-closed; err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	if total, _ := sink.committed(); total != 100 {
		t.Fatalf("after Close %d samples committed, want all 100", total)
	}
	if err := w.Write(context.Background(), samples(1)); !errors.Is(err, ErrClosed) {
		t.Fatalf("Write after Close = %v, want ErrClosed", err)
	}
}
