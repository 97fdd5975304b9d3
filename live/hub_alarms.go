package live

import (
	"context"
	"fmt"
	"sort"
	"strconv"
	"time"
)

// Alarm events reach viewers by two roads, and the hub makes one stream of
// them for its connections:
//
//   - the cluster log (Broker): every node's events, in log order, with
//     the log's offsets — the normal road, this node's events included;
//   - straight from PublishAlarm, for an event of this node that the log
//     has not brought back within Config.LocalFallback, or at once while
//     appends fail: this node's viewers must never wait for Redis.
//
// Each connection sees strictly increasing offsets. The hub hands out the
// log offset of an event whenever it can; otherwise (an event delivered
// before it is in the log, or a log event whose offset is not above what
// viewers already hold) a node-local offset (localBit set). When the log
// later brings back an event delivered early — its echo, known by its
// event id — nothing is sent again; once no early event is outstanding,
// an "offset" frame moves viewers back onto the log's offsets. Hence the
// invariant every resume relies on: a viewer holding a log offset X has
// processed exactly the log's events up to X (some as their early copy).
// Node-local offsets are resumed from the hub's ring of recent frames.

// localEvent is an event published on this node that the log has not
// brought back yet.
type localEvent struct {
	ev        AlarmEvent
	at        time.Time // published (reset when Run starts)
	delivered bool      // sent to viewers ahead of the log
}

// PublishAlarm queues an event of this node for the cluster log and
// returns at once. Viewers of this node get it from the log, or straight
// from here when the log is unreachable or slower than LocalFallback;
// viewers of other nodes get it once it is in the log. Events are appended
// in the order they were published, retried until the log takes them.
//
// "updated" events (an episode's progress: last seen, samples, peak)
// coalesce per alarm: the latest of each is published at the next
// position tick if the alarm's peak rose, else within ProgressEvery.
// During an emergency every sample of every vehicle in an alarm condition
// updates its episode; viewers need the latest peak within a tick, not a
// frame per sample for a count going up. Every other event (a
// raise, an end, an acknowledgement, a resolution) is published at once,
// after the alarm's pending update, so each alarm's events keep their
// order.
func (h *Hub) PublishAlarm(ev AlarmEvent) {
	if !validEventType(ev.Type) {
		h.log.Error("drop alarm event of unknown type", "alarm", ev.AlarmID, "type", ev.Type)
		return
	}
	ev.Offset = 0
	ev.Time = ev.Time.UTC()
	h.mu.Lock()
	key := coalesceKey{ev.Kind, ev.AlarmID}
	if ev.Type == EventUpdated && !ev.Now {
		p, ok := h.coalesced[key]
		if !ok {
			p = &pendingUpdate{}
			h.coalesced[key] = p
			h.coalescedOrder = append(h.coalescedOrder, key)
		}
		// The latest snapshot holds every earlier one (peaks only grow);
		// it goes at the next tick if any of them brought a higher peak.
		p.ev, p.peak = ev, p.peak || !ev.Progress
		h.mu.Unlock()
		return
	}
	if p, ok := h.coalesced[key]; ok {
		delete(h.coalesced, key)
		h.publishLocked(p.ev)
	}
	h.publishLocked(ev)
	h.mu.Unlock()
	wake(h.appendWake)
	wake(h.fallbackWake)
}

// coalesceKey names what an update is of: an alarm and an incident may
// share an id, and one must never stand in for the other.
type coalesceKey struct {
	kind string // "" for an alarm, KindIncident
	id   int64
}

// pendingUpdate is an alarm's latest coalesced "updated" event; peak is
// set if it (or one it replaced) brought a higher peak.
type pendingUpdate struct {
	ev   AlarmEvent
	peak bool
}

// flushCoalesced publishes the latest "updated" event of every alarm whose
// peak rose since its last one, or of every alarm if all.
func (h *Hub) flushCoalesced(all bool) {
	h.mu.Lock()
	n := 0
	keep := h.coalescedOrder[:0]
	for _, key := range h.coalescedOrder {
		p, ok := h.coalesced[key]
		switch {
		case !ok: // published before another event of its alarm
		case all || p.peak:
			delete(h.coalesced, key)
			h.publishLocked(p.ev)
			n++
		default:
			keep = append(keep, key)
		}
	}
	h.coalescedOrder = keep
	h.mu.Unlock()
	if n > 0 {
		wake(h.appendWake)
		wake(h.fallbackWake)
	}
}

func (h *Hub) publishLocked(ev AlarmEvent) {
	h.eidSeq++
	ev.EID = h.node + "-" + strconv.FormatUint(h.eidSeq, 36)
	if len(h.unlogged) >= h.cfg.MaxUnlogged {
		h.dropOneUnloggedLocked()
	}
	le := &localEvent{ev: ev, at: time.Now()}
	h.unlogged = append(h.unlogged, le)
	h.toAppend = append(h.toAppend, le)
	if h.provisional > 0 || h.logDown {
		// Earlier events went ahead of the log: this one cannot come back
		// from it before them, and must not reach viewers after them.
		h.deliverEarlyLocked(le)
	}
}

// AppendAlarm appends an event to the cluster log and waits for its
// offset; viewers of every node, this one included, get it from the log.
// Nodes publish through PublishAlarm, which never waits for the log.
func (h *Hub) AppendAlarm(ctx context.Context, ev AlarmEvent) (int64, error) {
	off, err := h.broker.AppendAlarm(ctx, ev)
	if err != nil {
		return 0, fmt.Errorf("live: publish %s event of alarm %d: %w", ev.Type, ev.AlarmID, err)
	}
	return off, nil
}

// UnloggedAlarms is the number of this node's events not appended to the
// log yet.
func (h *Hub) UnloggedAlarms() int {
	h.mu.RLock()
	defer h.mu.RUnlock()
	return len(h.toAppend)
}

// dropOneUnloggedLocked bounds memory while the log is unreachable: the
// oldest "updated" event not appended yet goes (the latest state follows
// in a later event). A raise, an end, an acknowledgement or a resolution
// never goes: without an update to drop, the queue grows.
func (h *Hub) dropOneUnloggedLocked() {
	victim := -1
	for i, le := range h.toAppend {
		if le.ev.Type == EventUpdated {
			victim = i
			break
		}
	}
	if victim < 0 {
		return
	}
	le := h.toAppend[victim]
	h.toAppend = removeAt(h.toAppend, victim)
	h.removeUnloggedLocked(le)
	h.log.Warn("alarm log unreachable too long: dropped a queued alarm event", "alarm", le.ev.AlarmID, "type", le.ev.Type)
}

func (h *Hub) removeUnloggedLocked(le *localEvent) {
	for i, x := range h.unlogged {
		if x == le {
			h.unlogged = removeAt(h.unlogged, i)
			if le.delivered {
				h.provisional--
			}
			return
		}
	}
}

// deliverEarlyLocked sends a local event to this node's viewers before the
// log has it, under a node-local offset.
func (h *Hub) deliverEarlyLocked(le *localEvent) {
	le.delivered = true
	h.provisional++
	h.issueLocked(le.ev, h.nextLocalOffsetLocked())
}

// deliverAllEarlyLocked sends every local event still waiting for the log,
// in publication order.
func (h *Hub) deliverAllEarlyLocked() int {
	n := 0
	for _, le := range h.unlogged {
		if !le.delivered {
			h.deliverEarlyLocked(le)
			n++
		}
	}
	return n
}

// nextLocalOffsetLocked returns a node-local offset above every offset
// issued so far, time-based like log offsets.
func (h *Hub) nextLocalOffsetLocked() int64 {
	return max(h.lastIssued+1, timeOffset(time.Now())) | localBit
}

// issueLocked sends ev to every connection under offset off, the
// connections' next offset, and keeps it for resumes.
func (h *Hub) issueLocked(ev AlarmEvent, off int64) {
	ev.Offset = off
	h.pushLocked(&alarmItem{offset: off, deviceID: ev.DeviceID, frame: alarmFrame(ev)})
}

// pushLocked queues an item on every connection. A connection whose queue
// is full is closed with CloseLagging instead: pushing never blocks.
func (h *Hub) pushLocked(it *alarmItem) {
	h.lastIssued = it.offset
	h.ringPushLocked(it)
	for c := range h.conns {
		c.pushAlarm(it)
	}
}

// dispatchAlarms handles events read from the log, in log order. It runs on
// the broker's goroutine and never blocks.
func (h *Hub) dispatchAlarms(evs []AlarmEvent) {
	fresh := evs[:0:0]
	for _, ev := range evs {
		h.mu.Lock()
		if ev.Offset <= h.lastLog {
			h.mu.Unlock()
			continue // delivered before the broker's feed restarted
		}
		h.lastLog = ev.Offset
		le := h.takeUnloggedLocked(ev.EID)
		switch {
		case le != nil && le.delivered:
			// The echo of an event viewers have: nothing to send, but once
			// none is outstanding, their offsets are the log's again.
			h.provisional--
			if h.provisional == 0 && ev.Offset > h.lastIssued {
				h.pushLocked(&alarmItem{offset: ev.Offset, frame: offsetFrame(ev.Offset)})
			}
		case h.provisional > 0 || ev.Offset <= h.lastIssued:
			h.issueLocked(ev, h.nextLocalOffsetLocked())
		default:
			h.issueLocked(ev, ev.Offset)
		}
		h.mu.Unlock()
		fresh = append(fresh, ev)
	}
	if h.cfg.OnAlarmEvents != nil && len(fresh) > 0 {
		h.cfg.OnAlarmEvents(fresh)
	}
}

// takeUnloggedLocked removes and returns the local event with this id, nil
// if there is none (an event of another node). The log brings them back in
// publication order, so it is nearly always the first.
func (h *Hub) takeUnloggedLocked(eid string) *localEvent {
	if eid == "" {
		return nil
	}
	for i, le := range h.unlogged {
		if le.ev.EID != eid {
			continue
		}
		h.unlogged = removeAt(h.unlogged, i)
		// In the log although its append reported an error (the reply was
		// lost): do not append it again.
		for j, x := range h.toAppend {
			if x == le {
				h.toAppend = removeAt(h.toAppend, j)
				break
			}
		}
		return le
	}
	return nil
}

// removeAt removes s[i]; the head, by far the most common, without copying
// the rest (a queue drained after a long outage would be quadratic).
func removeAt(s []*localEvent, i int) []*localEvent {
	if i == 0 {
		s[0] = nil
		return s[1:]
	}
	copy(s[i:], s[i+1:])
	s[len(s)-1] = nil
	return s[:len(s)-1]
}

// resetAlarms handles a gap in this node's alarm feed: events up to last
// may never reach us, so every viewer is sent to resume, where the log (or
// the full open-alarm list) fills the gap. The ring cannot fill it, and
// events appended before the gap may never come back from the log.
func (h *Hub) resetAlarms(last int64) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.lastLog = last
	h.ringResetLocked()
	queued := make(map[*localEvent]bool, len(h.toAppend))
	for _, le := range h.toAppend {
		queued[le] = true
	}
	kept := h.unlogged[:0]
	for _, le := range h.unlogged {
		if queued[le] { // not appended yet: it will come back
			kept = append(kept, le)
		}
	}
	clear(h.unlogged[len(kept):])
	h.unlogged = kept
	h.provisional = 0
	for _, le := range kept {
		if le.delivered {
			h.provisional++
		}
	}
	for c := range h.conns {
		c.kick(CloseLagging, "alarm feed gap, resume")
	}
}

// appendLoop appends this node's events to the log, one at a time in
// publication order, retrying with backoff. While appends fail, the events
// go to this node's viewers at once.
func (h *Hub) appendLoop(ctx context.Context) {
	bo := newBackoff(100*time.Millisecond, 5*time.Second)
	for {
		h.mu.RLock()
		var le *localEvent
		if len(h.toAppend) > 0 {
			le = h.toAppend[0]
		}
		h.mu.RUnlock()
		if le == nil {
			select {
			case <-ctx.Done():
				return
			case <-h.appendWake:
				continue
			}
		}
		actx, cancel := context.WithTimeout(ctx, h.cfg.PublishTimeout)
		_, err := h.broker.AppendAlarm(actx, le.ev)
		cancel()
		h.mu.Lock()
		if err == nil {
			if len(h.toAppend) > 0 && h.toAppend[0] == le {
				h.toAppend = removeAt(h.toAppend, 0)
			}
			recovered := h.logDown
			h.logDown = false
			h.mu.Unlock()
			if recovered {
				h.log.Info("alarm log reachable again: queued alarm events are being appended")
			}
			bo.reset()
			continue
		}
		if ctx.Err() != nil {
			h.mu.Unlock()
			return
		}
		wasDown := h.logDown
		h.logDown = true
		early := h.deliverAllEarlyLocked()
		queued := len(h.toAppend)
		h.mu.Unlock()
		if !wasDown {
			h.log.Warn("alarm log unreachable: this node's viewers get its alarm events at once, other nodes when the log returns",
				"queued", queued, "delivered_early", early, "err", err)
		}
		if !bo.wait(ctx) {
			return
		}
	}
}

// fallbackLoop delivers this node's events that the log has not brought
// back within LocalFallback (a hanging Redis fails no append quickly).
func (h *Hub) fallbackLoop(ctx context.Context) {
	t := time.NewTimer(time.Hour)
	t.Stop()
	for {
		h.mu.Lock()
		var next time.Duration
		if len(h.unlogged) > 0 && !h.unlogged[0].delivered {
			next = time.Until(h.unlogged[0].at.Add(h.cfg.LocalFallback))
			if next <= 0 {
				n := h.deliverAllEarlyLocked()
				next = 0
				h.log.Warn("alarm log slow: alarm events sent to this node's viewers ahead of it", "events", n)
			}
		}
		h.mu.Unlock()
		if next > 0 {
			t.Reset(next)
		}
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-h.fallbackWake:
		case <-t.C:
		}
	}
}

func wake(ch chan struct{}) {
	select {
	case ch <- struct{}{}:
	default:
	}
}

// ---- ring: the recent frames of this node, for resumes ----

// ringPushLocked keeps it, dropping the oldest beyond ResumeRing.
func (h *Hub) ringPushLocked(it *alarmItem) {
	if len(h.ring) == h.cfg.ResumeRing {
		h.ringBase = h.ring[0].offset
		h.ring[0] = nil
		h.ring = h.ring[1:]
	}
	h.ring = append(h.ring, it)
}

// ringResetLocked forgets every frame: they no longer tell a viewer what
// it missed.
func (h *Hub) ringResetLocked() {
	clear(h.ring)
	h.ring = h.ring[:0]
	h.ringBase = -1
}

// ringAfterLocked returns the frames issued after offset after, if after is
// an offset this hub issued and still remembers what followed it.
func (h *Hub) ringAfterLocked(after int64) ([]*alarmItem, bool) {
	if after == h.ringBase {
		return append([]*alarmItem(nil), h.ring...), true
	}
	i := sort.Search(len(h.ring), func(i int) bool { return h.ring[i].offset >= after })
	if i == len(h.ring) || h.ring[i].offset != after {
		return nil, false
	}
	return append([]*alarmItem(nil), h.ring[i+1:]...), true
}
