package ingest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/radtrack/radtrack/internal/deadletter"
	"github.com/radtrack/radtrack/metrics"
	"github.com/radtrack/radtrack/sample"
	"github.com/radtrack/radtrack/spool"
	"github.com/radtrack/radtrack/store"
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

func newTestWriter(sink store.SampleWriter, cfg WriterConfig) *Writer {
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

// classifyTest is the writer tests' store classifier: errUnavailable is
// transient, every other error a refusal of the data.
func classifyTest(err error) store.Fault {
	switch {
	case err == nil:
		return store.NoFault
	case errors.Is(err, errUnavailable):
		return store.Transient
	}
	return store.Permanent
}

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
		Spool: sp, Classify: classifyTest, ReplayEvery: 10 * time.Millisecond},
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
		Spool: sp, Classify: classifyTest},
		metrics.New(), slog.New(slog.NewTextHandler(io.Discard, nil)))
	defer w.Close(context.Background())
	var refused *store.RefusedError
	if err := w.Write(context.Background(), samples(2)); !errors.As(err, &refused) || len(refused.Refusals) != 2 {
		t.Fatalf("a batch the database refuses: %v, want both samples refused", err)
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

// poisonSink stores samples like a database with a unique (device, time)
// key and refuses, for good, any batch holding a sample with the
// attribute "poison" — as PostgreSQL refuses a whole COPY for one NUL.
// After downAfter successful calls (if set) it answers like a database
// that went away.
type poisonSink struct {
	mu        sync.Mutex
	rows      map[[2]int64]bool
	calls     int
	ok        int
	downAfter int
}

var errPoison = &store.ColumnError{Column: "attributes", Err: errors.New("unsupported Unicode escape sequence (SQLSTATE 22P05)")}

func (p *poisonSink) WriteSamples(_ context.Context, s []sample.Sample) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.calls++
	if p.downAfter > 0 && p.ok >= p.downAfter {
		return errUnavailable
	}
	for i := range s {
		if s[i].Attributes["poison"] != nil {
			return fmt.Errorf("copy %d samples: %w", len(s), errPoison)
		}
	}
	p.ok++
	if p.rows == nil {
		p.rows = map[[2]int64]bool{}
	}
	for i := range s {
		p.rows[[2]int64{s[i].DeviceID, s[i].Time.Unix()}] = true
	}
	return nil
}

func (p *poisonSink) has(device int64, t time.Time) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.rows[[2]int64{device, t.Unix()}]
}

func (p *poisonSink) stored() (rows, calls int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.rows), p.calls
}

func deviceSamples(device int64, start, n int) []sample.Sample {
	out := samplesAt(start, n)
	for i := range out {
		out[i].DeviceID = device
	}
	return out
}

// One device's bad sample in a group commit: every other request of the
// group is stored and acknowledged; only the poisoning request hears, by
// index and field, which sample the database refused.
func TestRefusedSampleIsIsolatedFromTheGroup(t *testing.T) {
	sink := &poisonSink{}
	gate := make(chan struct{})
	w := newTestWriter(&gatedPoison{sink, gate}, WriterConfig{BatchSize: 10_000, FlushInterval: 20 * time.Millisecond, Flushers: 1, QueueLimit: 10_000, Classify: classifyTest})
	defer w.Close(context.Background())

	const devices = 40
	errs := make([]error, devices)
	var wg sync.WaitGroup
	for d := range devices {
		batch := deviceSamples(int64(d+1), 0, 5)
		if d == 17 {
			batch[3].Attributes = map[string]any{"poison": "a\x00b"}
		}
		wg.Go(func() { errs[d] = w.Write(context.Background(), batch) })
	}
	for w.Queued() != devices*5 {
		time.Sleep(time.Millisecond)
	}
	close(gate) // all 40 requests are in one group commit
	wg.Wait()
	for d, err := range errs {
		if d == 17 {
			var refused *store.RefusedError
			if !errors.As(err, &refused) || len(refused.Refusals) != 1 || refused.Refusals[0].Index != 3 ||
				refused.Refusals[0].Field != "attributes" || !errors.Is(refused.Refusals[0].Err, errPoison) {
				t.Fatalf("poisoning request: %v, want exactly sample 3 refused, naming attributes", err)
			}
			continue
		}
		if err != nil {
			t.Errorf("device %d's request failed because of another device's sample: %v", d+1, err)
		}
	}
	rows, calls := sink.stored()
	if rows != devices*5-1 {
		t.Fatalf("%d samples stored, want every one but the poisoned (%d)", rows, devices*5-1)
	}
	if sink.has(18, time.Unix(1_700_000_003, 0)) || !sink.has(18, time.Unix(1_700_000_004, 0)) {
		t.Fatal("the poisoning device's other samples must be stored, its bad one not")
	}
	// 1 failed commit + 2 per level of a bisection of 200 samples (8 levels).
	if calls > 1+2*8 {
		t.Fatalf("%d commits to isolate one sample among 200", calls)
	}
	t.Logf("isolating 1 bad sample among %d took %d commits", devices*5, calls)
}

// gatedPoison holds the first commit until gate closes.
type gatedPoison struct {
	*poisonSink
	gate chan struct{}
}

func (g *gatedPoison) WriteSamples(ctx context.Context, s []sample.Sample) error {
	<-g.gate
	return g.poisonSink.WriteSamples(ctx, s)
}

// Nothing fails, nothing is split: one commit per group.
func TestHealthyGroupIsOneCommit(t *testing.T) {
	sink := &poisonSink{}
	w := newTestWriter(sink, WriterConfig{BatchSize: 1000, FlushInterval: 0, Flushers: 1, QueueLimit: 1000, Classify: classifyTest})
	defer w.Close(context.Background())
	for i := range 10 {
		if err := w.Write(context.Background(), deviceSamples(1, i*10, 10)); err != nil {
			t.Fatal(err)
		}
	}
	if rows, calls := sink.stored(); rows != 100 || calls != 10 {
		t.Fatalf("%d rows in %d commits, want 100 in 10", rows, calls)
	}
}

// The database goes away in the middle of an isolation: what was not
// written yet is spooled and acknowledged — including a bad sample not
// isolated yet, which the replay then sets aside.
func TestOutageDuringIsolationSpoolsTheRest(t *testing.T) {
	sp, err := spool.Open(t.TempDir(), 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	sink := &poisonSink{downAfter: 1}
	w := NewWriter(sink, WriterConfig{BatchSize: 100, FlushInterval: 0, Flushers: 1, QueueLimit: 1000, Spool: sp, Classify: classifyTest, ReplayEvery: time.Hour},
		metrics.New(), slog.New(slog.NewTextHandler(io.Discard, nil)))
	defer w.Close(context.Background())
	batch := deviceSamples(1, 0, 8)
	batch[7].Attributes = map[string]any{"poison": true}
	if err := w.Write(context.Background(), batch); err != nil {
		t.Fatalf("Write = %v, want the batch acknowledged: half stored, half spooled", err)
	}
	rows, _ := sink.stored()
	if rows != 4 || sp.Bytes() == 0 {
		t.Fatalf("stored %d (want the first half, 4), spool %d bytes (want the rest)", rows, sp.Bytes())
	}
	// The writer's own replay loop makes one pass when it starts; stop it
	// so that the replay below is the only one after the database is back.
	w.stopReplay()
	w.replayed.Wait()
	sink.mu.Lock()
	sink.downAfter = 0
	sink.mu.Unlock()
	st, err := sp.Replay(context.Background(), w.replayBatch)
	if err != nil || st.Replayed != 3 || len(st.DeadLettered) != 1 || !st.DeadLettered[0].Time.Equal(batch[7].Time) {
		t.Fatalf("replay: %+v %v, want the 3 good spooled samples stored and sample 7 set aside", st, err)
	}
	if rows, _ := sink.stored(); rows != 7 {
		t.Fatalf("%d stored after replay, want 7", rows)
	}
}

// A spooled batch with one bad sample: replay stores the others, sets the
// bad one aside in the dead-letter log, and goes on with later batches.
func TestReplaySetsRefusedSamplesAside(t *testing.T) {
	dir := t.TempDir()
	sp, err := spool.Open(dir, 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	first := deviceSamples(1, 0, 6)
	first[2].Attributes = map[string]any{"poison": "x"}
	for _, b := range [][]sample.Sample{first, deviceSamples(2, 0, 4), deviceSamples(3, 0, 4)} {
		if err := sp.Append(b); err != nil {
			t.Fatal(err)
		}
	}
	sink := &poisonSink{}
	m := metrics.New()
	w := NewWriter(sink, WriterConfig{Spool: sp, Classify: classifyTest, ReplayEvery: 10 * time.Millisecond}, m, slog.New(slog.NewTextHandler(io.Discard, nil)))
	defer w.Close(context.Background())
	deadline := time.Now().Add(5 * time.Second)
	for sp.Bytes() != 0 {
		if time.Now().After(deadline) {
			t.Fatalf("spool not drained: %d bytes left (a refused sample must not stop the replay)", sp.Bytes())
		}
		time.Sleep(5 * time.Millisecond)
	}
	if rows, _ := sink.stored(); rows != 13 || sink.has(1, time.Unix(1_700_000_002, 0)) {
		t.Fatalf("%d stored, want 13: every spooled sample but the bad one", rows)
	}
	var dead []deadletter.Record
	if err := deadletter.List(filepath.Join(dir, deadletter.DirName), func(r deadletter.Record) error { dead = append(dead, r); return nil }); err != nil {
		t.Fatal(err)
	}
	if len(dead) != 1 || dead[0].Kind != deadletter.KindSample || dead[0].DeviceID != 1 || !dead[0].Time.Equal(time.Unix(1_700_000_002, 0)) ||
		dead[0].Field != "attributes" || dead[0].SetAside.IsZero() {
		t.Fatalf("dead letters: %+v, want the one bad sample of device 1", dead)
	}
	back, err := spool.SamplesOf(dead[0])
	if err != nil || len(back) != 1 || back[0].Attributes["poison"] != "x" || back[0].DeviceID != 1 {
		t.Fatalf("dead-lettered sample does not round-trip: %+v %v", back, err)
	}
	if got := counterValue(m.SpoolDeadLettered); got != 1 {
		t.Fatalf("radtrack_spool_deadlettered_samples_total = %v, want 1", got)
	}
}

func counterValue(c prometheus.Counter) float64 {
	var m dto.Metric
	if err := c.Write(&m); err != nil {
		return -1
	}
	return m.GetCounter().GetValue()
}
