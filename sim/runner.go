package sim

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/radtrack/radtrack/sample"
)

// Runner drives vehicles on the wall clock and hands their samples to a
// Sink. Each vehicle has its own queue and sender goroutine: a slow or
// failing vehicle never holds up the others, and when the sink falls
// behind, queued samples go out together in the next batch.
//
// Speed fast-forwards: the simulation runs Speed times faster than the
// wall clock and samples are stamped on the wall clock, so none is ever in
// the future (the server refuses samples > 10 min ahead).
type Runner struct {
	Vehicles []Vehicle
	Sink     Sink
	Speed    float64       // simulated seconds per wall-clock second; default 1
	Tick     time.Duration // how often due samples are collected; default 100 ms
	MaxBatch int           // most samples per Send; default 500
	MaxQueue int           // samples queued per vehicle before the oldest are dropped; default 10000
	Drain    time.Duration // once ctx ends, time left to send what is queued; default 5 s
	Log      *slog.Logger

	generated, sent, acked, failed, dropped atomic.Int64
}

// Stats counts samples. Sent samples are handed to the sink; each ends up
// Acked or Failed. Dropped samples overflowed a queue and were never sent.
type Stats struct {
	Generated, Sent, Acked, Failed, Dropped int64
}

// Stats returns the counters so far; safe to call while Run runs.
func (r *Runner) Stats() Stats {
	return Stats{r.generated.Load(), r.sent.Load(), r.acked.Load(), r.failed.Load(), r.dropped.Load()}
}

// Run drives the vehicles until ctx ends, then gives the senders Drain to
// deliver what is queued. Ending ctx is the normal way to stop: Run returns
// nil then, and an error only for a bad configuration.
func (r *Runner) Run(ctx context.Context) error {
	if r.Sink == nil {
		return errors.New("sim: runner has no sink")
	}
	if len(r.Vehicles) == 0 {
		return errors.New("sim: runner has no vehicles")
	}
	speed := r.Speed
	if speed == 0 {
		speed = 1
	}
	if !(speed > 0) {
		return fmt.Errorf("sim: speed %v must be positive", r.Speed)
	}
	tick := withDefault(r.Tick, 100*time.Millisecond)
	drain := withDefault(r.Drain, 5*time.Second)
	maxBatch, maxQueue := withDefault(r.MaxBatch, 500), withDefault(r.MaxQueue, 10_000)
	log := r.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}

	// Senders outlive ctx by the drain time, so they get a context of their own.
	sendCtx, stopSending := context.WithCancel(context.WithoutCancel(ctx))
	defer stopSending()
	queues := make([]*queue, len(r.Vehicles))
	var wg sync.WaitGroup
	for i, v := range r.Vehicles {
		q := &queue{uid: v.UID(), wake: make(chan struct{}, 1)}
		queues[i] = q
		wg.Go(func() { r.work(sendCtx, q, maxBatch, log) })
	}

	start := time.Now()
	ticker := time.NewTicker(tick)
	defer ticker.Stop()
	for {
		sim := time.Duration(float64(time.Since(start)) * speed)
		for i, v := range r.Vehicles {
			for v.Next() <= sim {
				stamp := start.Add(time.Duration(float64(v.Next()) / speed)).Truncate(time.Millisecond)
				r.generated.Add(1)
				r.dropped.Add(int64(queues[i].push(v.Report(stamp), maxQueue)))
			}
		}
		select {
		case <-ctx.Done():
			for _, q := range queues {
				q.close()
			}
			timer := time.AfterFunc(drain, stopSending)
			wg.Wait()
			timer.Stop()
			return nil
		case <-ticker.C:
		}
	}
}

// work sends one vehicle's queue in order until the queue is closed and empty.
func (r *Runner) work(ctx context.Context, q *queue, maxBatch int, log *slog.Logger) {
	lastErr := ""
	for {
		batch, ok := q.take(maxBatch)
		if !ok {
			return
		}
		r.sent.Add(int64(len(batch)))
		err := r.Sink.Send(ctx, q.uid, batch)
		var partial *SendError
		switch {
		case err == nil:
			r.acked.Add(int64(len(batch)))
		case errors.As(err, &partial):
			r.acked.Add(int64(partial.Acked))
			r.failed.Add(int64(len(batch) - partial.Acked))
		default:
			r.failed.Add(int64(len(batch)))
		}
		// Log changes only: a server that is down would otherwise log every
		// vehicle every interval.
		switch msg := errText(err); {
		case msg != "" && msg != lastErr:
			log.Warn("sim: samples not delivered", "vehicle", q.uid, "samples", len(batch), "err", err)
		case msg == "" && lastErr != "":
			log.Info("sim: vehicle delivering again", "vehicle", q.uid)
		}
		lastErr = errText(err)
	}
}

func errText(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

// queue holds one vehicle's samples between the clock and its sender.
type queue struct {
	uid    string
	mu     sync.Mutex
	items  []sample.Sample
	closed bool
	wake   chan struct{} // capacity 1: "there is something to look at"
}

// push appends s, dropping the oldest samples beyond limit; it returns how
// many were dropped.
func (q *queue) push(s sample.Sample, limit int) int {
	q.mu.Lock()
	dropped := 0
	if n := len(q.items) + 1 - limit; n > 0 {
		dropped = n
		q.items = q.items[:copy(q.items, q.items[n:])]
	}
	q.items = append(q.items, s)
	q.mu.Unlock()
	q.signal()
	return dropped
}

func (q *queue) close() {
	q.mu.Lock()
	q.closed = true
	q.mu.Unlock()
	q.signal()
}

func (q *queue) signal() {
	select {
	case q.wake <- struct{}{}:
	default:
	}
}

// take waits for samples and returns up to max of them (a copy); false once
// the queue is closed and empty.
func (q *queue) take(max int) ([]sample.Sample, bool) {
	for {
		q.mu.Lock()
		if n := min(len(q.items), max); n > 0 {
			batch := append([]sample.Sample(nil), q.items[:n]...)
			q.items = q.items[:copy(q.items, q.items[n:])]
			q.mu.Unlock()
			return batch, true
		}
		closed := q.closed
		q.mu.Unlock()
		if closed {
			return nil, false
		}
		<-q.wake
	}
}

func withDefault[T int | time.Duration](v, def T) T {
	if v <= 0 {
		return def
	}
	return v
}
