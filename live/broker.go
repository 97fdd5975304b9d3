package live

import (
	"context"
	"encoding/json"
	"errors"
)

// ErrOffsetNotRetained means the alarm log can no longer tell what happened
// after an offset: the events were trimmed, the log restarted (a new epoch)
// or the offset lies in the future. The client must then be given the full
// list of open alarms instead of a replay.
var ErrOffsetNotRetained = errors.New("live: alarm offset not retained by the log")

// ChangeKind names what a cluster change notice is about.
type ChangeKind string

const (
	// ChangeDevice: a device's credentials changed (rotation, revocation);
	// Change.ID is the device id.
	ChangeDevice ChangeKind = "devices"
	// ChangeConfig: fences or rules changed; Change.ID is unused (0).
	ChangeConfig ChangeKind = "config"
	// ChangeCredential: a user's session or API token was revoked (a
	// logout, a token revocation); Change.Data carries what to forget.
	ChangeCredential ChangeKind = "credentials"
)

// Change tells every node that something they cache changed in the
// database. Notices are delivered at most once: a node that may have missed
// some is told through Sink.Resync.
type Change struct {
	Kind ChangeKind
	ID   int64
	// Data is the notice's payload for kinds that need more than an id
	// (ChangeCredential); opaque to the broker.
	Data json.RawMessage
}

func (c Change) valid() bool {
	switch c.Kind {
	case ChangeDevice, ChangeConfig:
		return true
	case ChangeCredential:
		return json.Valid(c.Data)
	}
	return false
}

// Broker connects the hubs of all nodes. Implementations must be safe for
// concurrent use. MemoryBroker and RedisBroker are interchangeable.
type Broker interface {
	// PublishPositions sends a batch to the other nodes and records it as
	// the latest position of each device. Failing is not fatal: the local
	// hub has delivered the batch already.
	PublishPositions(ctx context.Context, ps []Position) error
	// LatestPositions returns the last published position of every device,
	// for the snapshot of a node that starts or lost its feed.
	LatestPositions(ctx context.Context) ([]Position, error)

	// AppendAlarm appends ev to the alarm log and returns its offset.
	// ev.Offset is ignored. Offsets increase strictly in log order.
	AppendAlarm(ctx context.Context, ev AlarmEvent) (int64, error)
	// ReadAlarmsAfter returns up to limit events with offsets greater than
	// after, oldest first. It returns ErrOffsetNotRetained (wrapped) when
	// the log cannot prove it still holds every event after that offset.
	ReadAlarmsAfter(ctx context.Context, after int64, limit int) ([]AlarmEvent, error)
	// LastAlarmOffset returns the offset of the newest entry of the log,
	// creating the log (and its epoch) if it does not exist yet.
	LastAlarmOffset(ctx context.Context) (int64, error)

	// PublishChange sends a change notice to every node, this one included.
	PublishChange(ctx context.Context, c Change) error

	// Run delivers to sink, until ctx ends, every alarm event with an offset
	// greater than after in log order (this node's own appends included),
	// the positions published by other nodes and every change notice. It
	// reconnects by itself; it returns early only on a fault it cannot
	// recover from. It is the node's one consumer of the broker.
	Run(ctx context.Context, after int64, sink Sink) error
}

var (
	_ Broker = (*MemoryBroker)(nil)
	_ Broker = (*RedisBroker)(nil)
)

// Sink receives what a Broker delivers. The functions are called from the
// broker's goroutines, one call at a time per kind, and must not block or
// call back into the broker.
type Sink struct {
	// Positions gets batches published by other nodes.
	Positions func([]Position)
	// Alarms gets alarm events in strictly increasing offset order.
	Alarms func([]AlarmEvent)
	// Changes gets the change notices of every node.
	Changes func(Change)
	// Resync means position messages and change notices may have been
	// missed (the Pub/Sub connection was (re)established): reload
	// LatestPositions and whatever the notices would have invalidated.
	Resync func()
	// Reset means alarm events up to last may have been missed for good
	// (the log was trimmed past this node or restarted); the events that
	// follow have offsets above last. Viewers must resume or resnapshot.
	Reset func(last int64)
}

func (s Sink) positions(ps []Position) {
	if s.Positions != nil && len(ps) > 0 {
		s.Positions(ps)
	}
}

func (s Sink) alarms(evs []AlarmEvent) {
	if s.Alarms != nil && len(evs) > 0 {
		s.Alarms(evs)
	}
}

func (s Sink) changes(c Change) {
	if s.Changes != nil {
		s.Changes(c)
	}
}

func (s Sink) resync() {
	if s.Resync != nil {
		s.Resync()
	}
}

func (s Sink) reset(last int64) {
	if s.Reset != nil {
		s.Reset(last)
	}
}
