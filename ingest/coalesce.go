package ingest

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/radtrack/radtrack/store"
)

// Coalescer holds the episode updates that change no state (last seen,
// sample count, a higher peak) until the group commit that carries the
// samples which caused them: the rules stage adds them, per episode,
// latest snapshot and summed sample counts, before its samples reach the
// writer; each flusher takes everything pending and commits it in the
// samples' transaction. So an episode in an emergency costs one row
// update per commit instead of one round trip per sample, and the ack of
// a sample still means its episode's progress is stored.
//
// Two flushers commit at once, so a sample's update may ride with the
// other flusher's commit: every take starts a generation, and a flusher
// answers its waiters only once every generation up to its own is durable
// (Wait). A generation that could not be stored goes back to pending
// (nothing is lost) after OnUnstored had its chance to keep it durable
// elsewhere (the alarm journal during an outage).
type Coalescer struct {
	// OnUnstored is given updates the database did not take (err) and
	// returns nil if it kept them durable some other way. Nil: never.
	OnUnstored func(ctx context.Context, ups []store.AlarmUpdate, err error) error

	mu          sync.Mutex
	changed     *sync.Cond
	pending     map[int64]*store.AlarmUpdate
	taken       uint64           // the newest generation handed out
	doneThrough uint64           // every generation up to it is finished
	finished    map[uint64]error // finished above doneThrough
	failed      map[uint64]error // finished with an error, kept for waiters
}

// Ticket identifies what one flusher took: generation Gen, and the
// generations (Floor, Gen] whose outcome its waiters depend on.
type Ticket struct{ Floor, Gen uint64 }

// NewCoalescer returns an empty coalescer.
func NewCoalescer() *Coalescer {
	c := &Coalescer{pending: map[int64]*store.AlarmUpdate{}, finished: map[uint64]error{}, failed: map[uint64]error{}}
	c.changed = sync.NewCond(&c.mu)
	return c
}

// Add merges an episode's progress into what is pending for it: the
// snapshot is the latest (an episode's peak and last seen only grow), the
// sample counts add up.
func (c *Coalescer) Add(u store.AlarmUpdate) {
	c.mu.Lock()
	c.mergeLocked(u)
	c.mu.Unlock()
}

// AddAll is Add for several episodes under one lock.
func (c *Coalescer) AddAll(ups []store.AlarmUpdate) {
	c.mu.Lock()
	for _, u := range ups {
		c.mergeLocked(u)
	}
	c.mu.Unlock()
}

func (c *Coalescer) mergeLocked(u store.AlarmUpdate) {
	p, ok := c.pending[u.ID]
	if !ok {
		nu := u // only a new entry is allocated (u itself stays on the stack)
		c.pending[u.ID] = &nu
		return
	}
	p.AddSamples += u.AddSamples
	p.Samples = max(p.Samples, u.Samples)
	p.LastSeen = later(p.LastSeen, u.LastSeen)
	p.Significance = max(p.Significance, u.Significance)
	// The engine's peak only grows, but an update merged back from a
	// failed commit may be older than what came since.
	if u.HigherPeak(*p) {
		p.PeakDose, p.PeakTime, p.PeakLon, p.PeakLat, p.PeakGPSValid = u.PeakDose, u.PeakTime, u.PeakLon, u.PeakLat, u.PeakGPSValid
	}
}

// Pending is the number of episodes with updates not taken yet.
func (c *Coalescer) Pending() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.pending)
}

// Take removes everything pending. The ticket covers every update added
// before the call, whether in ups or in a generation another flusher
// holds; Finish must follow for the generation (even when ups is empty).
func (c *Coalescer) Take() ([]store.AlarmUpdate, Ticket) {
	c.mu.Lock()
	defer c.mu.Unlock()
	t := Ticket{Floor: c.doneThrough, Gen: c.taken}
	if len(c.pending) == 0 {
		return nil, t
	}
	c.taken++
	t.Gen = c.taken
	ups := make([]store.AlarmUpdate, 0, len(c.pending))
	for id, p := range c.pending {
		ups = append(ups, *p)
		delete(c.pending, id)
	}
	return ups, t
}

// Finish records the outcome of the generation t took with ups: nil if
// they are durable; otherwise they go back to pending.
func (c *Coalescer) Finish(t Ticket, ups []store.AlarmUpdate, err error) {
	if len(ups) == 0 {
		return // no generation was started
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if err != nil {
		for _, u := range ups {
			c.mergeLocked(u)
		}
		c.failed[t.Gen] = err
	}
	c.finished[t.Gen] = err
	for {
		if _, ok := c.finished[c.doneThrough+1]; !ok {
			break
		}
		delete(c.finished, c.doneThrough+1)
		c.doneThrough++
	}
	// Failures older than any ticket still in use can go: a ticket's
	// floor is at most the doneThrough of its take; keep a window.
	for g := range c.failed {
		if g+1024 < c.doneThrough {
			delete(c.failed, g)
		}
	}
	c.changed.Broadcast()
}

// Wait blocks until every generation t depends on is finished and returns
// an error if one of them failed: the updates of t's samples may not be
// durable, so the samples must not be acknowledged.
func (c *Coalescer) Wait(ctx context.Context, t Ticket) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.doneThrough < t.Gen && ctx.Done() != nil {
		stop := context.AfterFunc(ctx, func() {
			c.mu.Lock()
			c.changed.Broadcast()
			c.mu.Unlock()
		})
		defer stop()
	}
	for c.doneThrough < t.Gen {
		if ctx.Err() != nil {
			return fmt.Errorf("wait for the alarm updates of the commit: %w", ctx.Err())
		}
		c.changed.Wait()
	}
	for g := t.Floor + 1; g <= t.Gen; g++ {
		if err, ok := c.failed[g]; ok {
			return fmt.Errorf("alarm updates not stored: %w", err)
		}
	}
	return nil
}

func later(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}
