package live

import (
	"context"
	"fmt"
	"sort"
	"sync"
	"time"
)

// MemoryBroker is the single-node Broker: the alarm log is a bounded ring in
// memory, positions go nowhere but the latest-position map and change
// notices straight back to this node. One MemoryBroker serves one Hub.
type MemoryBroker struct {
	mu     sync.Mutex
	ring   []AlarmEvent // oldest at ring[start], len(ring) == retain once full
	start  int
	retain int
	last   int64 // newest offset issued; the epoch start before any append
	// floor is the greatest offset whose successors may be gone: the epoch
	// start, then the newest evicted offset.
	floor  int64
	latest map[int64]Position
	sinks  map[*Sink]struct{}
	now    func() time.Time
}

// NewMemoryBroker returns a broker whose alarm log keeps the newest retain
// events (at least 1).
func NewMemoryBroker(retain int) *MemoryBroker {
	if retain < 1 {
		retain = 1
	}
	b := &MemoryBroker{
		retain: retain,
		latest: make(map[int64]Position),
		sinks:  make(map[*Sink]struct{}),
		now:    time.Now,
	}
	// The epoch starts now: offsets issued by an earlier process are older
	// and must not be taken for resumable.
	b.last = timeOffset(b.now())
	b.floor = b.last
	return b
}

// PublishPositions records the latest position of each device.
func (b *MemoryBroker) PublishPositions(_ context.Context, ps []Position) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	for i := range ps {
		if old, ok := b.latest[ps[i].DeviceID]; !ok || ps[i].newerThan(&old) {
			b.latest[ps[i].DeviceID] = ps[i]
		}
	}
	return nil
}

// LatestPositions returns the latest position of every device.
func (b *MemoryBroker) LatestPositions(context.Context) ([]Position, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	ps := make([]Position, 0, len(b.latest))
	for _, p := range b.latest {
		ps = append(ps, p)
	}
	return ps, nil
}

// AppendAlarm appends ev and hands it to the running sinks before
// returning, under the lock, so that sinks see events in offset order.
func (b *MemoryBroker) AppendAlarm(_ context.Context, ev AlarmEvent) (int64, error) {
	if !validEventType(ev.Type) {
		return 0, fmt.Errorf("append alarm event: unknown type %q", ev.Type)
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	off := max(b.last+1, timeOffset(b.now()))
	if isLocalOffset(off) { // never in practice: 2^19 events in one millisecond
		off = (off>>seqBits + 1) << seqBits
	}
	b.last = off
	ev.Offset = off
	ev.Time = ev.Time.UTC()
	if len(b.ring) < b.retain {
		b.ring = append(b.ring, ev)
	} else {
		b.floor = b.ring[b.start].Offset
		b.ring[b.start] = ev
		b.start = (b.start + 1) % b.retain
	}
	one := []AlarmEvent{ev}
	for s := range b.sinks {
		s.alarms(one)
	}
	return off, nil
}

// PublishChange hands the notice to the running sinks (this node).
func (b *MemoryBroker) PublishChange(_ context.Context, c Change) error {
	if !c.valid() {
		return fmt.Errorf("publish change: unknown kind %q", c.Kind)
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	for s := range b.sinks {
		s.changes(c)
	}
	return nil
}

// ReadAlarmsAfter returns up to limit events after the offset.
func (b *MemoryBroker) ReadAlarmsAfter(_ context.Context, after int64, limit int) ([]AlarmEvent, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.readAfterLocked(after, limit)
}

func (b *MemoryBroker) readAfterLocked(after int64, limit int) ([]AlarmEvent, error) {
	if after < b.floor || after > b.last {
		return nil, fmt.Errorf("read alarms after %d (log holds %d..%d): %w", after, b.floor, b.last, ErrOffsetNotRetained)
	}
	n := len(b.ring)
	at := func(i int) AlarmEvent { return b.ring[(b.start+i)%n] }
	i := sort.Search(n, func(i int) bool { return at(i).Offset > after })
	var out []AlarmEvent
	for ; i < n && (limit <= 0 || len(out) < limit); i++ {
		out = append(out, at(i))
	}
	return out, nil
}

// LastAlarmOffset returns the newest offset (the epoch start if empty).
func (b *MemoryBroker) LastAlarmOffset(context.Context) (int64, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.last, nil
}

// Run delivers the retained events after the offset, then every new one,
// until ctx ends. A gap it cannot fill is reported through sink.Reset.
func (b *MemoryBroker) Run(ctx context.Context, after int64, sink Sink) error {
	b.mu.Lock()
	evs, err := b.readAfterLocked(after, 0)
	if err != nil {
		sink.reset(b.floor)
		evs, _ = b.readAfterLocked(b.floor, 0)
	}
	sink.alarms(evs)
	s := &sink
	b.sinks[s] = struct{}{}
	b.mu.Unlock()

	<-ctx.Done()
	b.mu.Lock()
	delete(b.sinks, s)
	b.mu.Unlock()
	return nil
}
