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
	"github.com/radtrack/radtrack/spool"
	"github.com/radtrack/radtrack/store"
)

// ErrQueueFull means the writer holds as many uncommitted samples as it may;
// the caller should answer 503 with Retry-After.
var ErrQueueFull = errors.New("ingest queue is full")

// commitTimeout bounds one group commit; a 10k-row COPY takes well under
// a second on a healthy database.
const commitTimeout = 10 * time.Second

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

	// Spool, if set, takes a batch the database cannot take right now
	// (Unavailable reports such errors): the batch is fsynced to local disk,
	// its senders are acknowledged, and it is replayed in order once the
	// database answers again.
	Spool       *spool.Spool
	Unavailable func(error) bool
	// ReplayEvery is how often a non-empty spool is retried (0: 1 s).
	ReplayEvery time.Duration
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

	stopReplay context.CancelFunc
	replayed   sync.WaitGroup
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
	ctx, cancel := context.WithCancel(context.Background())
	w.stopReplay = cancel
	if cfg.Spool != nil {
		m.SpoolBytes.Set(float64(cfg.Spool.Bytes()))
		w.replayed.Go(func() { w.replayLoop(ctx) })
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
	go func() {
		w.flushed.Wait()
		w.stopReplay()
		w.replayed.Wait()
		close(done)
	}()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// replayLoop moves spooled batches into the database whenever it answers.
func (w *Writer) replayLoop(ctx context.Context) {
	every := w.cfg.ReplayEvery
	if every <= 0 {
		every = time.Second
	}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		if w.cfg.Spool.Bytes() > 0 {
			n, err := w.cfg.Spool.Replay(ctx, w.dst.WriteSamples)
			w.metrics.SpoolBytes.Set(float64(w.cfg.Spool.Bytes()))
			w.metrics.SpoolReplayed.Add(float64(n))
			switch {
			case err != nil && ctx.Err() == nil:
				w.log.Warn("spool replay paused: database still unavailable", "replayed", n, "spooled_bytes", w.cfg.Spool.Bytes(), "err", err)
			case n > 0:
				w.log.Info("spool replayed into the database", "samples", n)
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
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

// spill writes a batch the database refused to the spool when the refusal
// means "unavailable"; it returns nil if the batch is now durable there.
func (w *Writer) spill(buf []sample.Sample, commitErr error) error {
	if w.cfg.Spool == nil || w.cfg.Unavailable == nil || !w.cfg.Unavailable(commitErr) {
		w.log.Error("commit samples", "samples", len(buf), "err", commitErr)
		return commitErr
	}
	if err := w.cfg.Spool.Append(buf); err != nil {
		w.log.Error("database unavailable and spool refused the batch", "samples", len(buf), "commit_err", commitErr, "spool_err", err)
		return errors.Join(commitErr, err)
	}
	w.metrics.SpoolBytes.Set(float64(w.cfg.Spool.Bytes()))
	w.metrics.SpooledSamples.Add(float64(len(buf)))
	w.log.Warn("database unavailable: batch spooled to disk", "samples", len(buf), "spooled_bytes", w.cfg.Spool.Bytes(), "err", commitErr)
	return nil
}

// flush commits one group and answers each waiter with the outcome.
func (w *Writer) flush(batch []*writeRequest, buf []sample.Sample) []sample.Sample {
	for _, r := range batch {
		buf = append(buf, r.samples...)
	}
	// The commit must finish even while the server shuts down: waiters are
	// promised an answer and accepted samples must not be abandoned.
	// Bounded so that an unresponsive database turns into a spooled batch
	// (or a 503) instead of requests hanging.
	ctx, cancel := context.WithTimeout(context.Background(), commitTimeout)
	start := time.Now()
	err := w.dst.WriteSamples(ctx, buf)
	cancel()
	w.metrics.CommitSeconds.Observe(time.Since(start).Seconds())
	w.metrics.BatchSize.Observe(float64(len(buf)))
	if err != nil {
		w.metrics.CommitErrors.Inc()
		err = w.spill(buf, err)
	}
	for _, r := range batch {
		w.queued.Add(-int64(len(r.samples)))
		w.metrics.QueueDepth.Sub(float64(len(r.samples)))
		r.done <- err
	}
	clear(buf) // drop references to attribute maps
	return buf
}
