package live

import (
	"encoding/json"
	"time"
)

// Alarm event types, in the order an episode goes through them
// (design.md §6).
const (
	EventRaised         = "raised"
	EventUpdated        = "updated"
	EventConditionEnded = "condition_ended"
	// EventRealarm pages again like EventRaised (rules/realarm.go).
	EventRealarm      = "realarm"
	EventAcknowledged = "acknowledged"
	EventResolved     = "resolved"
)

// AlarmEvent is one change of one alarm. Every viewer gets every event it
// may see, in offset order, at once and regardless of its map area.
type AlarmEvent struct {
	// Offset is assigned by the alarm log on append; callers leave it 0.
	Offset int64
	// EID identifies the event across the cluster: the hub that publishes
	// it sets it, so that the copy it later reads back from the log is
	// known as one it may have delivered already. Empty for events of
	// nodes that predate it.
	EID string
	// Kind is KindIncident for an incident event (AlarmID is then the
	// incident's id, DeviceID the device of its peak, Payload the
	// incident); "" for an alarm event.
	Kind     string
	Type     string // one of the Event constants
	AlarmID  int64
	DeviceID int64
	Time     time.Time
	// Payload is the alarm after the change, as the REST API renders it.
	Payload json.RawMessage
	// Now keeps an "updated" event from waiting for the next tick (it
	// carries more than progress, e.g. a provisional alarm's stored id).
	// Not part of the log entry.
	Now bool
	// Progress marks an "updated" event whose only news is the episode's
	// last seen and sample count (no higher peak): it may wait up to
	// Config.ProgressEvery instead of one tick. Not part of the log entry.
	Progress bool
}

// storedEvent is the form an event takes inside a log entry; the offset is
// the entry's position and is not repeated.
type storedEvent struct {
	Kind     string          `json:"kind,omitempty"`
	Type     string          `json:"type"`
	AlarmID  int64           `json:"alarm_id"`
	DeviceID int64           `json:"device_id"`
	Time     time.Time       `json:"time"`
	Payload  json.RawMessage `json:"payload,omitempty"`
}

func (ev AlarmEvent) stored() storedEvent {
	return storedEvent{Kind: ev.Kind, Type: ev.Type, AlarmID: ev.AlarmID, DeviceID: ev.DeviceID, Time: ev.Time.UTC(), Payload: ev.Payload}
}

func (s storedEvent) event(offset int64) AlarmEvent {
	return AlarmEvent{Offset: offset, Kind: s.Kind, Type: s.Type, AlarmID: s.AlarmID, DeviceID: s.DeviceID, Time: s.Time, Payload: s.Payload}
}

// KindIncident marks an incident event (live/PROTOCOL.md "incident").
const KindIncident = "incident"

func validEventType(t string) bool {
	switch t {
	case EventRaised, EventUpdated, EventConditionEnded, EventRealarm, EventAcknowledged, EventResolved:
		return true
	}
	return false
}
