package store

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"time"
)

// Kinds of notification configuration documents (NotifyDoc.Kind).
const (
	NotifyEndpoint = "endpoint" // a webhook, e-mail address or MQTT topic cluster
	NotifyRule     = "rule"     // which incidents go to which escalation policy
	NotifyPolicy   = "policy"   // ordered escalation steps with delays
)

// NotifyDoc is one piece of notification configuration an admin edits.
// Spec is JSON that notify/dispatch validates; the store keeps it as is.
// Names are unique per kind (ErrConflict).
type NotifyDoc struct {
	ID        int64           `json:"id"`
	Kind      string          `json:"kind"`
	Name      string          `json:"name"`
	Spec      json.RawMessage `json:"spec"`
	CreatedAt time.Time       `json:"created_at"`
	UpdatedAt time.Time       `json:"updated_at"`
}

// Kinds of user contacts (NotifyContact.Kind).
const (
	ContactPush  = "push"  // Value: the push endpoint URL; Spec: the subscription
	ContactEmail = "email" // Value: the address
)

// NotifyContact is a way to reach a user that the user manages.
type NotifyContact struct {
	ID        int64           `json:"id"`
	UserID    int64           `json:"user_id"`
	Kind      string          `json:"kind"`
	Value     string          `json:"value"`
	Spec      json.RawMessage `json:"spec,omitempty"`
	CreatedAt time.Time       `json:"created_at"`
}

// Escalation is the running escalation of one incident under one routing
// rule: Step of Cycle is due at DueAt. Event is the incident's latest
// notify.Event (JSON), so a step renders the current snapshot.
type Escalation struct {
	IncidentID int64           `json:"incident_id"`
	RuleID     int64           `json:"rule_id"`
	PolicyID   int64           `json:"policy_id"`
	Step       int             `json:"step"`
	Cycle      int             `json:"cycle"`
	DueAt      time.Time       `json:"due_at"`
	Active     bool            `json:"active"`
	Event      json.RawMessage `json:"event"`
}

// Outbox delivery states.
const (
	DeliveryPending   = "pending"
	DeliverySent      = "sent"
	DeliveryFailed    = "failed"    // permanent error or attempts exhausted
	DeliveryCancelled = "cancelled" // the incident was acknowledged before it went out
)

// OutboxItem is one stored message to one receiver and its progress:
// a delivery (a notify.Delivery in JSON), or a stored digest (several
// incidents' pages to one receiver, planned together: the pages name
// their events in Events and their recipients once each). Key is its
// idempotency key: enqueuing a key twice stores it once.
type OutboxItem struct {
	ID         int64  `json:"id"`
	Key        string `json:"key"`
	IncidentID int64  `json:"incident_id"`
	// Covers lists every incident a stored digest pages (IncidentID is
	// its first); nil for a delivery of one incident. Dropped lists those
	// of them acknowledged or resolved before it went out: their pages
	// are not sent.
	Covers     []int64         `json:"covers,omitempty"`
	Dropped    []int64         `json:"dropped,omitempty"`
	Version    int64           `json:"version"`
	Channel    string          `json:"channel"`
	EndpointID int64           `json:"endpoint_id,omitempty"`
	Recipient  string          `json:"recipient"`
	Pages      bool            `json:"pages"`
	Delivery   json.RawMessage `json:"-"`
	// Events are the events a stored digest's pages name, by index. The
	// store keeps each once (by Key), however many rows carry it: a
	// storm's planning pass pages 20 incidents to 600 receivers, and the
	// rows would otherwise hold 12 000 copies of 20 events. Read back,
	// they come in the order stored.
	Events      []OutboxEvent `json:"-"`
	State       string        `json:"state"`
	Attempts    int           `json:"attempts"`
	NextAttempt time.Time     `json:"next_attempt_at"`
	LastStatus  int           `json:"last_status,omitempty"`
	LastError   string        `json:"last_error,omitempty"`
	CreatedAt   time.Time     `json:"created_at"`
	SentAt      *time.Time    `json:"sent_at,omitempty"`
	// LeaseOwner, set on an item being enqueued, stores it already
	// claimed by that owner until LeaseUntil, its first attempt counted:
	// the node that planned it sends it from memory without claiming it
	// back, and another node takes it only once the lease runs out. Read
	// back, they tell who holds a delivery that may be on its way.
	LeaseOwner string    `json:"-"`
	LeaseUntil time.Time `json:"-"`
}

// OutboxEvent is one event stored for the outbox's digests: its JSON,
// and Key, which names that JSON (a hash of it: the same key is the same
// event).
type OutboxEvent struct {
	Key  string
	JSON json.RawMessage
}

// DistinctEvents are the events items name, each once (by Key), in order
// of first appearance: what a store writes to keep each event once.
func DistinctEvents(items []OutboxItem) []OutboxEvent {
	var out []OutboxEvent
	seen := map[string]bool{}
	for _, it := range items {
		for _, e := range it.Events {
			if !seen[e.Key] {
				seen[e.Key] = true
				out = append(out, e)
			}
		}
	}
	return out
}

// DeliveryAttempt is one attempt of an outbox item and its outcome.
type DeliveryAttempt struct {
	ID         int64     `json:"id"`
	OutboxID   int64     `json:"outbox_id"`
	IncidentID int64     `json:"incident_id"`
	At         time.Time `json:"at"`
	Node       string    `json:"node"`
	Channel    string    `json:"channel"`
	Recipient  string    `json:"recipient"`
	OK         bool      `json:"ok"`
	Status     int       `json:"status,omitempty"`
	Error      string    `json:"error,omitempty"`
}

// DeliveryResult finishes one claimed attempt: the item's new State
// (pending again with NextAttempt for a retry) and the attempt to record.
type DeliveryResult struct {
	State       string
	NextAttempt time.Time
	Attempt     DeliveryAttempt
}

// Finished is a claimed delivery's outcome. Carried, for a stored digest
// that went out, lists the incidents whose pages it carried: the others
// are recorded as dropped, and these as not (a page dropped while the
// digest was on its way went all the same; the trail says what reached
// people).
type Finished struct {
	ID int64
	DeliveryResult
	Carried []int64
}

// PlanFunc turns due escalations into the deliveries of their steps and
// each escalation's next state (next[i] of due[i]; Active false when the
// policy is done). It runs inside the store's transaction that holds the
// escalation rows, and sees them all at once so that pages of several
// incidents to one receiver can be stored as one digest.
type PlanFunc func(ctx context.Context, due []Escalation) (items []OutboxItem, next []Escalation, err error)

// Plan calls plan with due and checks that it returned one next state
// per escalation (both stores' AdvanceEscalations rely on it).
func (plan PlanFunc) Plan(ctx context.Context, due []Escalation) ([]OutboxItem, []Escalation, error) {
	items, nexts, err := plan(ctx, due)
	if err != nil {
		return nil, nil, fmt.Errorf("plan %d escalations: %w", len(due), err)
	}
	if len(nexts) != len(due) {
		return nil, nil, fmt.Errorf("plan %d escalations: %d next states", len(due), len(nexts))
	}
	return items, nexts, nil
}

// PagesIncident reports whether the item carries a page of incident id that has
// not been dropped.
func (it OutboxItem) PagesIncident(id int64) bool {
	if !it.Pages || slices.Contains(it.Dropped, id) {
		return false
	}
	return it.IncidentID == id || slices.Contains(it.Covers, id)
}

// Notifications stores routing configuration, user contacts, running
// escalations and the delivery outbox. On PostgreSQL several nodes share
// it: due escalations and deliveries are claimed so each is handled by one
// node.
type Notifications interface {
	ListNotifyDocs(ctx context.Context, kind string) ([]NotifyDoc, error)
	CreateNotifyDoc(ctx context.Context, d NotifyDoc) (NotifyDoc, error)
	// UpdateNotifyDoc replaces name and spec (ErrNotFound, ErrConflict).
	UpdateNotifyDoc(ctx context.Context, d NotifyDoc) (NotifyDoc, error)
	DeleteNotifyDoc(ctx context.Context, kind string, id int64) error

	// ListNotifyContacts returns a user's contacts, every user's with 0.
	ListNotifyContacts(ctx context.Context, userID int64) ([]NotifyContact, error)
	// AddNotifyContact stores a contact; the same (user, kind, value)
	// again replaces its spec.
	AddNotifyContact(ctx context.Context, c NotifyContact) (NotifyContact, error)
	// DeleteNotifyContact removes a contact of userID (any user's with 0).
	DeleteNotifyContact(ctx context.Context, userID, id int64) error

	// StartEscalation starts (or, on a re-alarm, restarts) the escalation
	// of e.IncidentID under e.RuleID.
	StartEscalation(ctx context.Context, e Escalation) error
	// UpdateEscalationEvent keeps the incident's latest event for the
	// steps still to come; an event older (by incident version) than the
	// one stored is ignored, so updates may be written behind later
	// events.
	UpdateEscalationEvent(ctx context.Context, incidentID int64, event json.RawMessage) error
	// StopEscalations ends every escalation of the incident and cancels
	// its paging deliveries that have not gone out yet (drops it from a
	// pending digest, and cancels the digest once every incident it
	// covers is dropped); it returns how many deliveries it cancelled. A cancelled delivery that was leased
	// keeps its lease, so its sender can still record that it went out
	// (FinishDeliveries then makes it sent: the trail says what reached
	// people).
	StopEscalations(ctx context.Context, incidentID int64) (int, error)
	// AdvanceEscalations claims up to limit active escalations due at now,
	// calls plan with them and, in the same transaction, stores the items
	// and each one's next state. It returns how many escalations it advanced.
	// It sets the ID of every item it stored in the slice plan returned
	// (an item whose key was already stored keeps ID 0).
	AdvanceEscalations(ctx context.Context, now time.Time, limit int, plan PlanFunc) (int, error)

	// EnqueueDeliveries stores items (state pending); keys already stored
	// are skipped. It returns how many it stored and sets the ID of each
	// stored item (0 for a skipped one).
	EnqueueDeliveries(ctx context.Context, items []OutboxItem) (int, error)
	// ClaimDeliveries leases up to limit pending items due at now to owner
	// until now+lease, counting an attempt on each.
	ClaimDeliveries(ctx context.Context, owner string, now time.Time, lease time.Duration, limit int) ([]OutboxItem, error)
	// FinishDeliveries records claimed items' attempts and new states in
	// one transaction. An item whose lease owner is no longer owner is
	// left as it is (the attempt is still recorded).
	FinishDeliveries(ctx context.Context, owner string, done []Finished) error
	// IncidentDeliveries lists the incident's deliveries, the digests
	// that cover it included, oldest first.
	IncidentDeliveries(ctx context.Context, incidentID int64) ([]OutboxItem, error)
	// IncidentAttempts lists the incident's attempts (a digest's
	// included, with IncidentID set to incidentID), oldest first.
	IncidentAttempts(ctx context.Context, incidentID int64) ([]DeliveryAttempt, error)
}
