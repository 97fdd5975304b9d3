package live

import (
	"context"
	"fmt"
)

// PublishAlarm appends an alarm event to the log and returns its offset.
// Viewers on every node, this one included, get it from the log. An error
// means the event may not have been published: the caller decides whether
// to retry (events are state updates, a duplicate is harmless).
func (h *Hub) PublishAlarm(ctx context.Context, ev AlarmEvent) (int64, error) {
	off, err := h.broker.AppendAlarm(ctx, ev)
	if err != nil {
		return 0, fmt.Errorf("live: publish %s event of alarm %d: %w", ev.Type, ev.AlarmID, err)
	}
	return off, nil
}

// dispatchAlarms queues each event on every connection. It runs on the
// broker's goroutine and never blocks: a connection whose queue is full is
// closed with CloseLagging instead.
func (h *Hub) dispatchAlarms(evs []AlarmEvent) {
	for _, ev := range evs {
		item := &alarmItem{offset: ev.Offset, deviceID: ev.DeviceID, frame: alarmFrame(ev)}
		h.mu.Lock()
		if ev.Offset <= h.lastOffset {
			h.mu.Unlock()
			continue
		}
		h.lastOffset = ev.Offset
		for c := range h.conns {
			c.pushAlarm(item)
		}
		h.mu.Unlock()
	}
}

// resetAlarms handles a gap in this node's alarm feed: events up to last
// may never reach us, so every viewer is sent to resume, where the log (or
// the full open-alarm list) fills the gap.
func (h *Hub) resetAlarms(last int64) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.lastOffset = last
	for c := range h.conns {
		c.kick(CloseLagging, "alarm feed gap, resume")
	}
}
