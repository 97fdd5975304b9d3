// Package ingest turns decoded samples into durable, checked data: the
// pipeline (rules, live push, storage, ack) and the group-commit writer.
// Protocol decoders live in sub-packages and never touch storage.
package ingest

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
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

	// Classify tells what a store error means (store.Fault): a batch the
	// database cannot take now (Transient) goes to the spool; one it
	// refuses for good (Permanent) is split until the refused samples are
	// isolated. nil: the store's own classifier (store.FaultClassifier),
	// else every error is Unknown (the waiters get it, nothing more).
	Classify func(error) store.Fault
	// Spool, if set, takes what the database cannot take right now: the
	// samples are fsynced to local disk, their senders are acknowledged,
	// and they are replayed in order once the database answers again.
	Spool *spool.Spool
	// ReplayEvery is how often a non-empty spool is retried (0: 1 s).
	ReplayEvery time.Duration
	// Alarms, if set, holds coalesced episode updates that each group
	// commit takes and stores in its own transaction (the store must be
	// a store.AlarmBatcher); the commit's waiters are answered only once
	// the updates their samples caused are durable.
	Alarms *Coalescer
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
	batcher store.AlarmBatcher // set with cfg.Alarms
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
	if cfg.Classify == nil {
		if c, ok := dst.(store.FaultClassifier); ok {
			cfg.Classify = c.Classify
		} else {
			cfg.Classify = func(err error) store.Fault {
				if err == nil {
					return store.NoFault
				}
				return store.Unknown
			}
		}
	}
	var batcher store.AlarmBatcher
	if cfg.Alarms != nil {
		b, ok := dst.(store.AlarmBatcher)
		if !ok {
			panic("ingest: WriterConfig.Alarms needs a store that is a store.AlarmBatcher")
		}
		batcher = b
	}
	w := &Writer{
		batcher: batcher,
		cfg:     cfg, dst: dst, metrics: m, log: log,
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
		m.SpoolDeadLetterBytes.Set(float64(cfg.Spool.DeadLetterBytes()))
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
			st, err := w.cfg.Spool.Replay(ctx, w.replayBatch)
			w.metrics.SpoolBytes.Set(float64(w.cfg.Spool.Bytes()))
			w.metrics.SpoolReplayed.Add(float64(st.Replayed))
			w.metrics.SpoolDeadLetterBytes.Set(float64(w.cfg.Spool.DeadLetterBytes()))
			w.metrics.SpoolDeadLettered.Add(float64(len(st.DeadLettered)))
			for _, dl := range st.DeadLettered {
				w.log.Error("spooled sample refused by the database for good: set aside in the dead-letter log",
					"device", dl.DeviceID, "time", dl.Time, "field", dl.Field, "reason", dl.Reason, "kind", dl.Kind)
			}
			switch {
			case err != nil && ctx.Err() == nil:
				w.log.Warn("spool replay paused", "replayed", st.Replayed, "spooled_bytes", w.cfg.Spool.Bytes(),
					"fault", w.cfg.Classify(err).String(), "err", err)
			case st.Replayed > 0:
				w.log.Info("spool replayed into the database", "samples", st.Replayed)
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

// spill writes samples the database cannot take now to the spool; it
// returns nil if they are durable there.
func (w *Writer) spill(samples []sample.Sample, commitErr error) error {
	if err := w.cfg.Spool.Append(samples); err != nil {
		w.log.Error("database unavailable and spool refused the batch", "samples", len(samples), "commit_err", commitErr, "spool_err", err)
		return errors.Join(commitErr, err)
	}
	w.metrics.SpoolBytes.Set(float64(w.cfg.Spool.Bytes()))
	w.metrics.SpooledSamples.Add(float64(len(samples)))
	w.log.Warn("database unavailable: batch spooled to disk", "samples", len(samples), "spooled_bytes", w.cfg.Spool.Bytes(), "err", commitErr)
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
	defer cancel()
	var (
		ups []store.AlarmUpdate
		tk  Ticket
	)
	if w.cfg.Alarms != nil {
		// Taken after the batch was gathered: the rules ran before the
		// samples were queued, so their updates are in ups or in a
		// generation another flusher holds (tk covers both).
		ups, tk = w.cfg.Alarms.Take()
		stampBatch(ups)
	}
	start := time.Now()
	var err error
	if len(ups) > 0 {
		err = w.batcher.WriteSamplesAndAlarms(ctx, buf, ups)
	} else {
		err = w.dst.WriteSamples(ctx, buf)
	}
	w.metrics.CommitSeconds.Observe(time.Since(start).Seconds())
	w.metrics.BatchSize.Observe(float64(len(buf)))
	if err != nil {
		w.metrics.CommitErrors.Inc()
	}
	var updErr error
	if w.cfg.Alarms != nil {
		if len(ups) > 0 {
			w.cfg.Alarms.Finish(tk, ups, w.storeUpdatesAlone(ctx, ups, err))
		}
		updErr = w.cfg.Alarms.Wait(ctx, tk)
	}
	if err == nil {
		for _, r := range batch {
			w.answer(r, updErr)
		}
	} else {
		w.settle(batch, buf, err, updErr)
	}
	clear(buf) // drop references to attribute maps
	return buf
}

// stampBatch gives a commit's episode updates one fresh batch id: if the
// commit's outcome is lost with its reply, the updates go to the alarm
// journal, and the store skips their replay if the commit did happen.
func stampBatch(ups []store.AlarmUpdate) {
	if len(ups) == 0 {
		return
	}
	id := rand.Int64()
	for id == 0 {
		id = rand.Int64()
	}
	for i := range ups {
		ups[i].Batch = id
	}
}

// storeUpdatesAlone stores the episode updates of a group commit that
// failed with commitErr (nil: they were stored with it) and returns nil
// once they are durable. A refusal of the samples (Permanent: one bad
// sample) does not concern the updates, which are stored by themselves;
// a database that cannot take anything now (or an update that failed for
// another reason) hands them to OnUnstored (the alarm journal).
func (w *Writer) storeUpdatesAlone(ctx context.Context, ups []store.AlarmUpdate, commitErr error) error {
	if commitErr == nil {
		return nil
	}
	err := commitErr
	if w.cfg.Classify(commitErr) == store.Permanent {
		if err = w.batcher.UpdateAlarms(ctx, ups); err == nil {
			return nil
		}
	}
	if w.cfg.Alarms.OnUnstored != nil {
		jerr := w.cfg.Alarms.OnUnstored(ctx, ups, err)
		if jerr == nil {
			return nil
		}
		err = jerr
	}
	w.log.Error("alarm updates not stored; they stay pending and the commit's senders are refused",
		"episodes", len(ups), "fault", w.cfg.Classify(err).String(), "err", err)
	return err
}

func (w *Writer) answer(r *writeRequest, err error) {
	w.queued.Add(-int64(len(r.samples)))
	w.metrics.QueueDepth.Sub(float64(len(r.samples)))
	r.done <- err
}

// settle answers the waiters of a batch whose commit failed with
// commitErr. A batch the database cannot take now is spooled whole. One it
// refuses for good is split until the refused samples are isolated: the
// others are stored (or spooled, if the database goes away meanwhile) and
// acknowledged, and only the requests that carried a refused sample learn
// which (a *store.RefusedError), so that one bad sample never fails the
// other devices' requests.
// updErr, if set, means the episode updates of the commit's samples are
// not durable: every waiter gets it, as nothing may be acknowledged.
func (w *Writer) settle(batch []*writeRequest, buf []sample.Sample, commitErr, updErr error) {
	var iso isolation
	if w.cfg.Classify(commitErr) == store.Permanent {
		ctx, cancel := context.WithTimeout(context.Background(), isolateTimeout)
		iso = w.isolate(ctx, buf, commitErr)
		cancel()
	} else {
		iso.failed = []failedSpan{{0, len(buf), commitErr}}
	}
	w.logRefusals(buf, iso.refused)
	// Spool what the database could not take now, all in one append.
	var (
		later    []sample.Sample
		laterErr error
	)
	for _, f := range iso.failed {
		if w.cfg.Classify(f.err) == store.Transient {
			later = append(later, buf[f.lo:f.hi]...)
			laterErr = f.err
		}
	}
	var spillErr error
	if len(later) > 0 && w.cfg.Spool != nil {
		spillErr = w.spill(later, laterErr)
	}
	for i := range iso.failed {
		f := &iso.failed[i]
		if w.cfg.Spool != nil && w.cfg.Classify(f.err) == store.Transient {
			f.err = spillErr // nil: durable in the spool
			continue
		}
		w.log.Error("commit samples", "samples", f.hi-f.lo, "fault", w.cfg.Classify(f.err).String(), "err", f.err)
	}
	off := 0
	for _, r := range batch {
		lo, hi := off, off+len(r.samples)
		off = hi
		if updErr != nil {
			w.answer(r, updErr)
			continue
		}
		w.answer(r, iso.outcome(lo, hi))
	}
}

// isolateTimeout bounds how long the commit of a group may take to
// isolate the samples the database refuses, its waiters waiting: what is
// not isolated by then answers with the refusal as an error (503), and
// the devices retry.
const isolateTimeout = commitTimeout

// isolation is where each sample of a batch ended after a refusal.
type isolation struct {
	refused []store.Refusal // sorted by index
	failed  []failedSpan    // neither stored nor refused, sorted
}

// failedSpan is buf[lo:hi], not written because of err (nil once spooled).
type failedSpan struct {
	lo, hi int
	err    error
}

// outcome is what a request covering buf[lo:hi] is answered.
func (iso *isolation) outcome(lo, hi int) error {
	for _, f := range iso.failed {
		if f.err != nil && f.lo < hi && lo < f.hi {
			return f.err
		}
	}
	var mine []store.Refusal
	for _, rf := range iso.refused {
		if rf.Index >= lo && rf.Index < hi {
			rf.Index -= lo
			mine = append(mine, rf)
		}
	}
	if len(mine) > 0 {
		return &store.RefusedError{Refusals: mine}
	}
	return nil
}

// isolate splits buf, whose write failed with the permanent error
// refusal, in halves and writes each, recursively, until every sample the
// database refuses stands alone: k bad samples among n cost about
// 2k·log2(n) small commits, and nothing when nothing fails. Parts that
// fail for another reason (the database went away), or that ctx leaves no
// time for, are reported as failed.
func (w *Writer) isolate(ctx context.Context, buf []sample.Sample, refusal error) isolation {
	var iso isolation
	w.bisect(ctx, buf, 0, len(buf), refusal, &iso)
	return iso
}

func (w *Writer) bisect(ctx context.Context, buf []sample.Sample, lo, hi int, err error, iso *isolation) {
	if w.cfg.Classify(err) != store.Permanent {
		iso.failed = append(iso.failed, failedSpan{lo, hi, err})
		return
	}
	if hi-lo == 1 {
		rf := store.Refusal{Index: lo, Err: err}
		var ce *store.ColumnError
		if errors.As(err, &ce) {
			rf.Field = ce.Column
		}
		iso.refused = append(iso.refused, rf)
		return
	}
	if ctx.Err() != nil {
		iso.failed = append(iso.failed, failedSpan{lo, hi, fmt.Errorf("no time left to isolate the refused samples: %w", err)})
		return
	}
	mid := lo + (hi-lo)/2
	for _, part := range [2][2]int{{lo, mid}, {mid, hi}} {
		wctx, cancel := context.WithTimeout(ctx, commitTimeout)
		perr := w.dst.WriteSamples(wctx, buf[part[0]:part[1]])
		cancel()
		if perr != nil {
			w.bisect(ctx, buf, part[0], part[1], perr, iso)
		}
	}
}

func (w *Writer) logRefusals(buf []sample.Sample, refused []store.Refusal) {
	for _, rf := range refused {
		s := &buf[rf.Index]
		w.log.Warn("sample refused by the database for good", "device", s.DeviceID, "time", s.Time,
			"field", rf.Field, "err", rf.Err)
	}
}

// replayBatch writes one spooled batch for the spool's replay. A batch the
// database refuses for good is split like a live one; the refused samples
// come back as a *store.RefusedError, which the spool sets aside in its
// dead-letter log. Any other failure stops the replay (retried later).
// Isolation here is not hurried: nobody waits for it.
func (w *Writer) replayBatch(ctx context.Context, samples []sample.Sample) error {
	wctx, cancel := context.WithTimeout(ctx, commitTimeout)
	err := w.dst.WriteSamples(wctx, samples)
	cancel()
	if err == nil || w.cfg.Classify(err) != store.Permanent {
		return err
	}
	iso := w.isolate(ctx, samples, err)
	if len(iso.failed) > 0 {
		return iso.failed[0].err
	}
	return &store.RefusedError{Refusals: iso.refused}
}
