package geo

import (
	"math"
	"time"
)

// EventType is what happened between a device and a fence.
type EventType string

const (
	EventEnter EventType = "enter"
	EventExit  EventType = "exit"
	EventDwell EventType = "dwell"
)

// Event is a debounced fence event. For Enter and Exit, Time and position
// are those of the first sample of the run that confirmed the change: the
// moment the vehicle was first seen across, not the moment it was believed.
// For Dwell they are the sample at which the dwell time was reached.
type Event struct {
	Type     EventType
	FenceID  int64
	Time     time.Time
	Lon, Lat float64
}

// Config sets the hysteresis of a Tracker.
type Config struct {
	// EnterAfter and ExitAfter are how many consecutive samples must agree
	// before the state changes; values below 1 mean 1.
	EnterAfter, ExitAfter int
	// MarginM is how far a sample must be inside a fence to count towards
	// entering it, and outside to count towards leaving it; samples closer
	// to the boundary count for neither and break a run. Fences narrower
	// than twice the margin can never be entered.
	MarginM float64
	// Dwell, when positive, raises one Dwell event per visit once the
	// device has been inside that long.
	Dwell time.Duration
}

// DefaultConfig tolerates one stray fix (two samples to change state) and
// ±5 m of GPS jitter at a border.
func DefaultConfig() Config { return Config{EnterAfter: 2, ExitAfter: 2, MarginM: 5} }

// Tracker is the fence state of one device. It is not safe for concurrent
// use: drive each device's Tracker from one goroutine at a time (the
// pipeline's per-device ordering gives that). Trackers share nothing, so
// many devices run in parallel with no lock; the Index they read is
// immutable.
type Tracker struct {
	cfg    Config
	last   time.Time
	seen   bool
	states []fenceState // ascending fence id; only fences inside or in a run
	spare  []fenceState
	hits   []fenceHit
	near   nearCache // the fences around the device, so that a small move costs no search
}

// fenceState is the debounced relation to one fence. A fence that is
// outside with no run in progress has no state.
type fenceState struct {
	id      int64
	inside  bool
	dwelled bool
	run     int32     // consecutive samples against the current state
	runAt   time.Time // first sample of the run
	runLon  float64
	runLat  float64
	since   time.Time // when the current visit began
}

// NewTracker returns a tracker with no fence state.
func NewTracker(cfg Config) *Tracker {
	cfg.EnterAfter = max(1, cfg.EnterAfter)
	cfg.ExitAfter = max(1, cfg.ExitAfter)
	cfg.MarginM = math.Max(0, cfg.MarginM)
	return &Tracker{cfg: cfg}
}

// Update feeds one sample and appends the resulting events to dst.
// Samples without a valid GPS fix, and samples not newer than the latest
// one used (out of order, or a retry of the same time), change nothing.
// State for a fence missing from ix is dropped without an Exit: the fence
// was deleted, and the device did not leave it.
func (t *Tracker) Update(ix *Index, lon, lat float64, at time.Time, gpsValid bool, dst []Event) []Event {
	if !gpsValid || !finite(lon) || !finite(lat) || lat < -90 || lat > 90 {
		return dst
	}
	if t.seen && !at.After(t.last) {
		return dst
	}
	t.seen, t.last = true, at
	t.hits = t.near.zones(ix, lon, lat, t.cfg.MarginM, t.hits[:0])

	// Merge the states and the hits, both ascending by fence id.
	next := t.spare[:0]
	states, hits := t.states, t.hits
	for len(states) > 0 || len(hits) > 0 {
		var st fenceState
		var z zone
		switch {
		case len(hits) == 0 || (len(states) > 0 && states[0].id < hits[0].id):
			st, z, states = states[0], zoneOut, states[1:]
			if !ix.has(st.id) {
				continue
			}
		case len(states) == 0 || hits[0].id < states[0].id:
			st, z, hits = fenceState{id: hits[0].id}, hits[0].zone, hits[1:]
		default:
			st, z, states, hits = states[0], hits[0].zone, states[1:], hits[1:]
		}
		dst = t.step(&st, z, at, lon, lat, dst)
		if st.inside || st.run > 0 {
			next = append(next, st)
		}
	}
	t.spare, t.states = t.states, next
	return dst
}

// step advances one fence's state by one sample in zone z.
func (t *Tracker) step(st *fenceState, z zone, at time.Time, lon, lat float64, dst []Event) []Event {
	against := (!st.inside && z == zoneIn) || (st.inside && z == zoneOut)
	if !against {
		st.run = 0
	} else {
		if st.run == 0 {
			st.runAt, st.runLon, st.runLat = at, lon, lat
		}
		st.run++
		switch {
		case !st.inside && int(st.run) >= t.cfg.EnterAfter:
			st.inside, st.run, st.dwelled, st.since = true, 0, false, st.runAt
			dst = append(dst, Event{EventEnter, st.id, st.runAt, st.runLon, st.runLat})
		case st.inside && int(st.run) >= t.cfg.ExitAfter:
			st.inside, st.run = false, 0
			return append(dst, Event{EventExit, st.id, st.runAt, st.runLon, st.runLat})
		}
	}
	if st.inside && st.run == 0 && !st.dwelled && t.cfg.Dwell > 0 && at.Sub(st.since) >= t.cfg.Dwell {
		st.dwelled = true
		dst = append(dst, Event{EventDwell, st.id, at, lon, lat})
	}
	return dst
}

// Inside appends the IDs, ascending, of the fences the device is in after
// debouncing.
func (t *Tracker) Inside(dst []int64) []int64 {
	for _, st := range t.states {
		if st.inside {
			dst = append(dst, st.id)
		}
	}
	return dst
}
