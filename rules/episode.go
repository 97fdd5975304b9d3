package rules

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/radtrack/radtrack/sample"
)

// Key identifies an episode: at most one open (unresolved) episode exists
// per key. FenceID is 0 for rules not tied to a fence. Imported samples are
// evaluated in their own key space, so replaying an old log can neither
// swallow nor be swallowed by a live alarm of the same device.
type Key struct {
	DeviceID int64 `json:"device_id"`
	RuleID   int64 `json:"rule_id"`
	FenceID  int64 `json:"fence_id"`
	Imported bool  `json:"imported"`
}

// State is where an episode is in its life cycle.
type State string

const (
	StateRaised       State = "raised"
	StateAcknowledged State = "acknowledged"
	StateResolved     State = "resolved"
)

// Code is the adjudication recorded when an alarm is resolved.
type Code string

const (
	CodeReal             Code = "real"
	CodeInnocentMedical  Code = "innocent_medical"
	CodeInnocentNORM     Code = "innocent_norm"
	CodeDeclaredShipment Code = "declared_shipment"
	CodeFalseAlarm       Code = "false_alarm"
	CodeTest             Code = "test"
)

// Valid reports whether c is one of the adjudication codes.
func (c Code) Valid() bool {
	switch c {
	case CodeReal, CodeInnocentMedical, CodeInnocentNORM, CodeDeclaredShipment, CodeFalseAlarm, CodeTest:
		return true
	}
	return false
}

// Episode is one alarm: raised once, updated while its condition lasts,
// and closed only by a person. A condition that ends is recorded
// (ConditionEndedAt) but never resolves the alarm; if the condition comes
// back while the episode is open, the same episode continues.
//
// ID is assigned by persistence, which finds the open row by Key (a unique
// index on Key among unresolved rows). The engine leaves it 0 for episodes
// it raises, copies it into every event once known (Restore, AssignID).
type Episode struct {
	ID int64 `json:"id,omitempty"`
	// ProvisionalID is set on the events that store an episode raised while
	// the database was unreachable: the negative id viewers knew it by
	// until then. It is not persisted.
	ProvisionalID int64 `json:"provisional_id,omitempty"`
	Key
	RuleName string   `json:"rule_name"`
	Kind     Kind     `json:"kind"`
	Severity Severity `json:"severity"`
	State    State    `json:"state"`

	FirstSeen        time.Time `json:"first_seen"`
	LastSeen         time.Time `json:"last_seen"`
	Samples          int       `json:"samples"` // samples (or silence ticks) that met the condition
	ConditionActive  bool      `json:"condition_active"`
	ConditionEndedAt time.Time `json:"condition_ended_at,omitzero"` // zero while active

	// Peak is the contributing sample with the highest dose; the first one
	// while none carried a dose. PeakDose is NaN (JSON null) if none did.
	// Without a GPS fix the position is the device's last known fix and
	// PeakGPSValid is false.
	PeakDose     float64   `json:"peak_dose_usvh"`
	PeakTime     time.Time `json:"peak_time"`
	PeakLon      float64   `json:"peak_lon"`
	PeakLat      float64   `json:"peak_lat"`
	PeakGPSValid bool      `json:"peak_gps_valid"`
	// Significance is the largest −log10 p of a counts-based background
	// alarm (0 for other kinds).
	Significance float64 `json:"significance,omitempty"`

	AckedBy     string    `json:"acked_by,omitempty"`
	AckedAt     time.Time `json:"acked_at,omitzero"`
	AckComment  string    `json:"ack_comment,omitempty"`
	ImplicitAck bool      `json:"implicit_ack,omitempty"`

	ResolvedBy     string    `json:"resolved_by,omitempty"`
	ResolvedAt     time.Time `json:"resolved_at,omitzero"`
	Code           Code      `json:"code,omitempty"`
	ResolveComment string    `json:"resolve_comment,omitempty"`

	// RealarmedAt is the time of the latest re-alarm (zero if none); only
	// carried in events and audit snapshots.
	RealarmedAt time.Time `json:"realarmed_at,omitzero"`
}

// EventType names an audit event.
type EventType string

const (
	EventRaised         EventType = "raised"
	EventUpdated        EventType = "updated"
	EventConditionEnded EventType = "condition_ended"
	// EventRealarm pages people again about an open episode exactly like a
	// raise: the episode goes back to raised (unacknowledged). See
	// realarm.go for when.
	EventRealarm      EventType = "realarm"
	EventAcknowledged EventType = "acknowledged"
	EventResolved     EventType = "resolved"
)

// Event is one audit record: every change of an episode produces one,
// carrying a full snapshot so consumers may keep only the latest per key.
// Imported events must not page anyone.
type Event struct {
	Type     EventType `json:"type"`
	Key      Key       `json:"key"`
	AlarmID  int64     `json:"alarm_id,omitempty"`
	Time     time.Time `json:"time"`
	User     string    `json:"user,omitempty"`
	Comment  string    `json:"comment,omitempty"`
	Code     Code      `json:"code,omitempty"`
	Imported bool      `json:"imported"`
	NewPeak  bool      `json:"new_peak,omitempty"` // this sample raised the peak dose
	// Reason says why a realarm event pages again (RealarmReason values).
	Reason  RealarmReason `json:"reason,omitempty"`
	Episode Episode       `json:"episode"`
}

func (e *Episode) event(t EventType, at time.Time) Event {
	return Event{Type: t, Key: e.Key, AlarmID: e.ID, Time: at, Imported: e.Imported, Episode: *e}
}

// Errors of the alarm life cycle.
var (
	ErrAlreadyAcknowledged = errors.New("rules: alarm already acknowledged")
	ErrAlreadyResolved     = errors.New("rules: alarm already resolved")
	ErrNotAcknowledged     = errors.New("rules: alarm must be acknowledged before it is resolved")
	ErrUnknownCode         = errors.New("rules: unknown adjudication code")
	ErrNoUser              = errors.New("rules: user required")
	ErrNoTime              = errors.New("rules: time required")
	ErrNoOpenAlarm         = errors.New("rules: no open alarm with this key")
)

// Acknowledge moves a raised episode to acknowledged.
func (e *Episode) Acknowledge(user, comment string, at time.Time) (Event, error) {
	switch {
	case e.State == StateResolved:
		return Event{}, ErrAlreadyResolved
	case e.State == StateAcknowledged:
		return Event{}, ErrAlreadyAcknowledged
	case strings.TrimSpace(user) == "":
		return Event{}, ErrNoUser
	case at.IsZero():
		return Event{}, ErrNoTime
	}
	e.State, e.AckedBy, e.AckedAt, e.AckComment = StateAcknowledged, user, at, comment
	ev := e.event(EventAcknowledged, at)
	ev.User, ev.Comment = user, comment
	return ev, nil
}

// Resolution is a person's decision closing an alarm.
type Resolution struct {
	User    string
	Time    time.Time
	Code    Code
	Comment string
	// MaySkipAck is set by the caller when the user's role allows closing
	// an alarm nobody acknowledged yet (e.g. a supervisor clearing a test).
	MaySkipAck bool
}

// Resolve closes an episode with an adjudication code.
//
// Resolve-before-acknowledge: an alarm is normally acknowledged first, so
// the audit trail shows someone took charge before it was closed. A raised
// alarm can be resolved directly only when r.MaySkipAck is set (the server
// decides from the user's role); that is recorded as an implicit
// acknowledgement by the same user at the same time (ImplicitAck), and
// produces an acknowledged event followed by the resolved event. Otherwise
// ErrNotAcknowledged.
func (e *Episode) Resolve(r Resolution) ([]Event, error) {
	switch {
	case e.State == StateResolved:
		return nil, ErrAlreadyResolved
	case !r.Code.Valid():
		return nil, fmt.Errorf("%w %q", ErrUnknownCode, r.Code)
	case strings.TrimSpace(r.User) == "":
		return nil, ErrNoUser
	case r.Time.IsZero():
		return nil, ErrNoTime
	case e.State == StateRaised && !r.MaySkipAck:
		return nil, ErrNotAcknowledged
	}
	var events []Event
	if e.State == StateRaised {
		ack, err := e.Acknowledge(r.User, "", r.Time)
		if err != nil {
			return nil, err
		}
		e.ImplicitAck = true
		ack.Episode.ImplicitAck = true
		events = append(events, ack)
	}
	e.State, e.ResolvedBy, e.ResolvedAt, e.Code, e.ResolveComment = StateResolved, r.User, r.Time, r.Code, r.Comment
	ev := e.event(EventResolved, r.Time)
	ev.User, ev.Comment, ev.Code = r.User, r.Comment, r.Code
	return append(events, ev), nil
}

// evidence is what one observation contributes to an episode.
type evidence struct {
	time         time.Time
	dose         float64 // NaN when absent
	lon, lat     float64
	gpsValid     bool
	significance float64
}

func newEpisode(key Key, r *Rule, ev evidence) *Episode {
	return &Episode{
		Key: key, RuleName: r.Name, Kind: r.Kind, Severity: r.Severity, State: StateRaised,
		FirstSeen: ev.time, LastSeen: ev.time, Samples: 1, ConditionActive: true,
		PeakDose: ev.dose, PeakTime: ev.time, PeakLon: ev.lon, PeakLat: ev.lat, PeakGPSValid: ev.gpsValid,
		Significance: ev.significance,
	}
}

// absorb adds one observation that met the condition; it reports whether
// the peak dose rose.
func (e *Episode) absorb(ev evidence) (newPeak bool) {
	e.Samples++
	if ev.time.Before(e.FirstSeen) {
		e.FirstSeen = ev.time
	}
	if ev.time.After(e.LastSeen) {
		e.LastSeen = ev.time
	}
	e.Significance = max(e.Significance, ev.significance)
	if sample.Has(ev.dose) && (!sample.Has(e.PeakDose) || ev.dose > e.PeakDose) {
		e.PeakDose, e.PeakTime, e.PeakLon, e.PeakLat, e.PeakGPSValid = ev.dose, ev.time, ev.lon, ev.lat, ev.gpsValid
		return true
	}
	return false
}

// episodeJSON is Episode without its methods, so the NaN-as-null mapping
// below can reuse the default encoding.
type episodeJSON Episode

// MarshalJSON writes an absent peak dose (NaN) as null: JSON has no NaN.
func (e Episode) MarshalJSON() ([]byte, error) {
	var peak *float64
	if sample.Has(e.PeakDose) {
		peak = &e.PeakDose
	}
	return json.Marshal(struct {
		episodeJSON
		PeakDose *float64 `json:"peak_dose_usvh"`
	}{episodeJSON(e), peak})
}

// UnmarshalJSON reads a null peak dose back as NaN.
func (e *Episode) UnmarshalJSON(data []byte) error {
	var v struct {
		episodeJSON
		PeakDose *float64 `json:"peak_dose_usvh"`
	}
	if err := json.Unmarshal(data, &v); err != nil {
		return err
	}
	*e = Episode(v.episodeJSON)
	e.PeakDose = math.NaN()
	if v.PeakDose != nil {
		e.PeakDose = *v.PeakDose
	}
	return nil
}
