// Package ingest turns decoded samples into durable, checked data: the
// pipeline (rules, live push, storage, ack) and the group-commit writer.
// Protocol decoders live in sub-packages and never touch storage.
package ingest

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/radtrack/radtrack/metrics"
	"github.com/radtrack/radtrack/sample"
	"github.com/radtrack/radtrack/store"
)

// ErrQueueFull means the writer holds as many uncommitted samples as it may;
// the caller should answer 503 with Retry-After.
var ErrQueueFull = errors.New("ingest queue is full")

// ErrClosed means the writer is shutting down and takes no new samples.
var ErrClosed = errors.New("ingest writer is closed")

// WriterConfig tunes group commit.
type WriterConfig struct {
	// BatchSize is the most samples one commit carries.
	BatchSize int
	// FlushInterval is how long a flusher waits for more samples once it
	// has some, trading a little latency for fewer, larger commits.
	FlushInterval time.Duration
	// Flushers is the number of concurrent commits (database connections).
	Flushers int
	// QueueLimit bounds the uncommitted samples held in memory.
	QueueLimit int
}

// DefaultWriterConfig suits the measured sweet spot on a small machine:
// two connections, batches up to 10k rows (design.md §5).
func DefaultWriterConfig() WriterConfig {
	return WriterConfig{BatchSize: 10_000, FlushInterval: 5 * time.Millisecond, Flushers: 2, QueueLimit: 200_000}
}

// Writer commits samples in groups: each Write waits until the batch that
// carries its samples is committed, so a caller acks only durable data.
type Writer struct {
	cfg     WriterConfig
	dst     store.SampleWriter
	metrics *metrics.Metrics
	log     *slog.Logger

	mu      sync.RWMutex // guards closed against concurrent Write/Close
	closed  bool
	reqs    chan *writeRequest
	queued  atomic.Int64
	flushed sync.WaitGroup
}

type writeRequest struct {
	samples []sample.Sample
	done    chan error
}

// NewWriter starts the flushers. Close stops them after draining.
func NewWriter(dst store.SampleWriter, cfg WriterConfig, m *metrics.Metrics, log *slog.Logger) *Writer {
	def := DefaultWriterConfig()
	if cfg.BatchSize <= 0 {
		cfg.BatchSize = def.BatchSize
	}
	if cfg.Flushers <= 0 {
		cfg.Flushers = def.Flushers
	}
	if cfg.QueueLimit <= 0 {
		cfg.QueueLimit = def.QueueLimit
	}
	w := &Writer{
		cfg: cfg, dst: dst, metrics: m, log: log,
		// Every request holds at least one queued sample, so QueueLimit
		// requests always fit: sending never blocks.
		reqs: make(chan *writeRequest, cfg.QueueLimit),
	}
	for range cfg.Flushers {
		w.flushed.Go(w.flushLoop)
	}
	return w
}

// Write queues samples and blocks until they are committed, the commit
// fails, or ctx ends. If ctx ends first the samples may still be committed
// later; a client retry is harmless because rewrites are idempotent.
func (w *Writer) Write(ctx context.Context, samples []sample.Sample) error {
	if len(samples) == 0 {
		return nil
	}
	n := int64(len(samples))
	if n > int64(w.cfg.QueueLimit) {
		return ErrQueueFull
	}
	req := &writeRequest{samples: samples, done: make(chan error, 1)}
	w.mu.RLock()
	if w.closed {
		w.mu.RUnlock()
		return ErrClosed
	}
	if w.queued.Add(n) > int64(w.cfg.QueueLimit) {
		w.queued.Add(-n)
		w.mu.RUnlock()
		return ErrQueueFull
	}
	w.metrics.QueueDepth.Add(float64(n))
	w.reqs <- req
	w.mu.RUnlock()

	select {
	case err := <-req.done:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Queued returns the number of samples waiting for their commit.
func (w *Writer) Queued() int { return int(w.queued.Load()) }

// Close refuses new writes, commits everything already queued and returns
// when done or when ctx ends.
func (w *Writer) Close(ctx context.Context) error {
	w.mu.Lock()
	if !w.closed {
		w.closed = true
		close(w.reqs)
	}
	w.mu.Unlock()
	done := make(chan struct{})
	go func() { w.flushed.Wait(); close(done) }()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (w *Writer) flushLoop() {
	batch := make([]*writeRequest, 0, 64)
	buf := make([]sample.Sample, 0, w.cfg.BatchSize)
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	for {
		first, ok := <-w.reqs
		if !ok {
			return
		}
		batch = append(batch[:0], first)
		n := len(first.samples)
		if w.cfg.FlushInterval > 0 {
			timer.Reset(w.cfg.FlushInterval)
		}
	gather:
		for n < w.cfg.BatchSize {
			var (
				r    *writeRequest
				more bool
			)
			if w.cfg.FlushInterval > 0 {
				select {
				case r, more = <-w.reqs:
				case <-timer.C:
					break gather
				}
			} else {
				select {
				case r, more = <-w.reqs:
				default:
					break gather
				}
			}
			if !more {
				break
			}
			batch = append(batch, r)
			n += len(r.samples)
		}
		timer.Stop()
		buf = w.flush(batch, buf[:0])
	}
}

// flush commits one group and answers each waiter with the outcome.
func (w *Writer) flush(batch []*writeRequest, buf []sample.Sample) []sample.Sample {
	for _, r := range batch {
		buf = append(buf, r.samples...)
	}
	// The commit must finish even while the server shuts down: waiters are
	// promised an answer and accepted samples must not be abandoned.
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	start := time.Now()
	err := w.dst.WriteSamples(ctx, buf)
	cancel()
	w.metrics.CommitSeconds.Observe(time.Since(start).Seconds())
	w.metrics.BatchSize.Observe(float64(len(buf)))
	if err != nil {
		w.metrics.CommitErrors.Inc()
		w.log.Error("commit samples", "samples", len(buf), "requests", len(batch), "err", err)
	}
	for _, r := range batch {
		w.queued.Add(-int64(len(r.samples)))
		w.metrics.QueueDepth.Sub(float64(len(r.samples)))
		r.done <- err
	}
	clear(buf) // drop references to attribute maps
	return buf
}
