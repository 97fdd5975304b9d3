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
	"github.com/radtrack/radtrack/spool"
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

// flakySink fails with an "unavailable" error while down is set.
type flakySink struct {
	mu    sync.Mutex
	down  bool
	rows  int
	calls int
}

var errUnavailable = errors.New("connection refused")

func (f *flakySink) WriteSamples(_ context.Context, s []sample.Sample) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls++
	if f.down {
		return errUnavailable
	}
	f.rows += len(s)
	return nil
}

func (f *flakySink) set(down bool) { f.mu.Lock(); f.down = down; f.mu.Unlock() }
func (f *flakySink) stored() int   { f.mu.Lock(); defer f.mu.Unlock(); return f.rows }

func TestUnavailableDatabaseSpoolsAndReplays(t *testing.T) {
	sp, err := spool.Open(t.TempDir(), 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	sink := &flakySink{down: true}
	w := NewWriter(sink, WriterConfig{BatchSize: 100, FlushInterval: time.Millisecond, Flushers: 1, QueueLimit: 1000,
		Spool: sp, Unavailable: func(err error) bool { return errors.Is(err, errUnavailable) }, ReplayEvery: 10 * time.Millisecond},
		metrics.New(), slog.New(slog.NewTextHandler(io.Discard, nil)))
	defer w.Close(context.Background())
	for i := range 5 {
		if err := w.Write(context.Background(), samplesAt(i*10, 10)); err != nil {
			t.Fatalf("write %d while the database is down: %v (should be spooled and acknowledged)", i, err)
		}
	}
	if sp.Bytes() == 0 || sink.stored() != 0 {
		t.Fatalf("spool %d bytes, stored %d; want everything spooled", sp.Bytes(), sink.stored())
	}
	sink.set(false)
	deadline := time.Now().Add(5 * time.Second)
	for sink.stored() != 50 || sp.Bytes() != 0 {
		if time.Now().After(deadline) {
			t.Fatalf("after recovery: stored %d of 50, spool %d bytes", sink.stored(), sp.Bytes())
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestDataErrorsAreNotSpooled(t *testing.T) {
	sp, err := spool.Open(t.TempDir(), 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	sink := &gateSink{err: errors.New("invalid input syntax")}
	w := NewWriter(sink, WriterConfig{BatchSize: 10, FlushInterval: time.Millisecond, Flushers: 1, QueueLimit: 100,
		Spool: sp, Unavailable: func(err error) bool { return errors.Is(err, errUnavailable) }},
		metrics.New(), slog.New(slog.NewTextHandler(io.Discard, nil)))
	defer w.Close(context.Background())
	if err := w.Write(context.Background(), samples(2)); err == nil {
		t.Fatal("a refused batch was acknowledged")
	}
	if sp.Bytes() != 0 {
		t.Fatal("a batch the database refused as data was spooled (it would be replayed forever)")
	}
}

func samplesAt(start, n int) []sample.Sample {
	out := make([]sample.Sample, n)
	for i := range out {
		out[i] = sample.New()
		out[i].DeviceID = 1
		out[i].Time = time.Unix(int64(1_700_000_000+start+i), 0)
	}
	return out
}
