package notify

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/radtrack/radtrack/rules"
)

// EventType is what happened to an incident. Every event bumps the
// incident's Version, so (incident id, version) names one event.
type EventType string

const (
	// EventRaised: a new incident. Pages people.
	EventRaised EventType = "raised"
	// EventRealarmed: new danger inside an existing incident (a new
	// condition after the last one ended, a higher severity, a new peak far
	// from the old one). Pages people exactly like EventRaised.
	EventRealarmed EventType = "realarmed"
	// EventUpdated: the incident grew (new peak, new vehicle, last seen)
	// without new danger. Informs, never pages.
	EventUpdated EventType = "updated"
	// EventAcknowledged: someone took charge; escalation stops.
	EventAcknowledged EventType = "acknowledged"
	// EventResolved: closed with an adjudication code.
	EventResolved EventType = "resolved"
)

// Valid reports whether t is one of the event types.
func (t EventType) Valid() bool {
	switch t {
	case EventRaised, EventRealarmed, EventUpdated, EventAcknowledged, EventResolved:
		return true
	}
	return false
}

// Pages reports whether the event must reach a person now (sound,
// vibration, high push urgency): a raise or a re-alarm.
func (t EventType) Pages() bool { return t == EventRaised || t == EventRealarmed }

// Vehicle is one vehicle taking part in an incident.
type Vehicle struct {
	ID    int64  `json:"id"`
	UID   string `json:"uid"`
	Name  string `json:"name"`
	Group string `json:"group,omitempty"`
	// SiteID is the site the vehicle belongs to: people are paged about
	// the vehicles of their own site's subtree only (0: the root).
	SiteID int64 `json:"site_id,omitempty"`
}

// Label is how people see the vehicle: its name, else its uid.
func (v Vehicle) Label() string {
	if strings.TrimSpace(v.Name) != "" {
		return v.Name
	}
	if v.UID != "" {
		return v.UID
	}
	return "vehicle " + strconv.FormatInt(v.ID, 10)
}

// Peak is the highest dose rate of an incident: where and when. DoseUSvh is
// nil when no contributing sample carried a dose (e.g. a fence-only
// incident); the position is then that of the first sample.
type Peak struct {
	DoseUSvh *float64  `json:"dose_usvh"`
	Time     time.Time `json:"time"`
	// LonLat is [lon, lat], WGS84, GeoJSON order.
	LonLat   [2]float64 `json:"lonlat"`
	GPSValid bool       `json:"gps_valid"`
}

// Fence is the geofence an incident happened in, when one applies.
type Fence struct {
	ID   int64  `json:"id"`
	Name string `json:"name"`
	// Geometry is a GeoJSON Polygon or MultiPolygon ([lon, lat] order).
	Geometry json.RawMessage `json:"geometry,omitempty"`
}

// Source is an incident's estimated source position with its 95 %
// ellipse.
type Source struct {
	// LonLat is [lon, lat], WGS84, GeoJSON order.
	LonLat [2]float64 `json:"lonlat"`
	// Ring is the 95 % ellipse as a closed ring of [lon, lat].
	Ring [][2]float64 `json:"ring"`
	// Ambiguous: a mirror position is as likely (one straight pass
	// cannot tell the side of the road).
	Ambiguous bool `json:"ambiguous,omitempty"`
}

// Incident is the snapshot of an incident after a change: everything a
// notification needs, so a delivery can be rendered from the stored
// delivery alone (the outbox stores it before the first attempt).
type Incident struct {
	ID int64 `json:"id"`
	// Version increases with every change of the incident.
	Version  int64          `json:"version"`
	State    rules.State    `json:"state"`
	Severity rules.Severity `json:"severity"`
	Title    string         `json:"title"`
	// Rules are the names of the rule alarms inside the incident.
	Rules     []string  `json:"rules"`
	Vehicles  []Vehicle `json:"vehicles"`
	Peak      Peak      `json:"peak"`
	FirstSeen time.Time `json:"first_seen"`
	LastSeen  time.Time `json:"last_seen"`
	Fence     *Fence    `json:"fence,omitempty"`
	// Source is where a source was estimated to be, when an estimate
	// was fitted (package localize).
	Source *Source `json:"source,omitempty"`

	AckedBy      string     `json:"acked_by,omitempty"`
	AckedAt      time.Time  `json:"acked_at,omitzero"`
	ResolvedBy   string     `json:"resolved_by,omitempty"`
	ResolvedAt   time.Time  `json:"resolved_at,omitzero"`
	Adjudication rules.Code `json:"adjudication,omitempty"`

	// Exercise marks an incident raised during a declared exercise (CAP
	// status Exercise).
	Exercise bool `json:"exercise,omitempty"`
	// URL opens the incident in the app.
	URL string `json:"url,omitempty"`
}

// EventRef names an earlier event of the same incident.
type EventRef struct {
	Version int64     `json:"version"`
	Type    EventType `json:"type"`
	Time    time.Time `json:"time"`
}

// Event is one change of an incident.
type Event struct {
	Type EventType `json:"type"`
	// Time is when the change happened.
	Time     time.Time `json:"time"`
	Incident Incident  `json:"incident"`
	// History lists the earlier events of this incident that were
	// notified, oldest first. CAP references and e-mail threading are
	// derived from it, so no sender keeps state.
	History []EventRef `json:"history,omitempty"`
	// Test marks a "send a test notification" event: rendered as a test
	// everywhere (CAP status Test, "TEST" in subjects and titles).
	Test bool `json:"test,omitempty"`
}

// Ref is this event as an EventRef.
func (e Event) Ref() EventRef {
	return EventRef{Version: e.Incident.Version, Type: e.Type, Time: e.Time}
}

// Recipient is who or what a delivery goes to. ID is stable and chosen by
// the caller ("push:17", "user:3:email", "webhook:2"); it is part of the
// idempotency key. Each channel reads the field it needs.
type Recipient struct {
	ID   string `json:"id"`
	Name string `json:"name,omitempty"`
	// Email is the address for the e-mail channel.
	Email string `json:"email,omitempty"`
	// Push is the browser's push subscription for the Web Push channel.
	Push *PushSubscription `json:"push,omitempty"`
}

// Delivery is one event to one recipient: the unit the outbox stores,
// attempts and retries.
type Delivery struct {
	Event     Event     `json:"event"`
	Recipient Recipient `json:"recipient"`
}

// Key is the idempotency key of d: the same for every attempt of the same
// (incident, event, recipient), different otherwise. Receivers drop a
// repeated key (delivery is at-least-once). It is made of [a-z0-9-] only,
// so it fits headers, MQTT properties and e-mail Message-IDs.
func (d Delivery) Key() string {
	return eventKey(d.Event.Incident.ID, d.Event.Ref(), d.Recipient.ID)
}

func eventKey(incident int64, ev EventRef, recipient string) string {
	sum := sha256.Sum256([]byte(recipient))
	return fmt.Sprintf("i%d-v%d-%s-%s", incident, ev.Version, ev.Type, hex.EncodeToString(sum[:8]))
}

// ErrInvalid marks a delivery that can never be sent as it is.
var ErrInvalid = errors.New("notify: invalid delivery")

// validate checks what every channel relies on; channels add their own
// checks (an address, a subscription).
func (d Delivery) validate() error {
	e := d.Event
	switch {
	case !e.Type.Valid():
		return fmt.Errorf("%w: unknown event type %q", ErrInvalid, e.Type)
	case e.Time.IsZero():
		return fmt.Errorf("%w: event time missing", ErrInvalid)
	case e.Incident.ID <= 0:
		return fmt.Errorf("%w: incident id %d", ErrInvalid, e.Incident.ID)
	case e.Incident.Version <= 0:
		return fmt.Errorf("%w: incident version %d", ErrInvalid, e.Incident.Version)
	case strings.TrimSpace(d.Recipient.ID) == "":
		return fmt.Errorf("%w: recipient id missing", ErrInvalid)
	}
	switch e.Incident.Severity {
	case rules.SeverityInfo, rules.SeverityNotice, rules.SeverityWarning, rules.SeverityAlarm, rules.SeverityCritical:
	default:
		return fmt.Errorf("%w: unknown severity %q", ErrInvalid, e.Incident.Severity)
	}
	return nil
}
