package storetest

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/radtrack/radtrack/store"
)

// testNotifyTrailAfterStop: an acknowledgement (StopEscalations) lands
// while paging deliveries are leased to a sender. The one that went out
// is recorded as sent, the one that failed stays cancelled and is never
// claimed again, and a page not leased is cancelled for good.
func testNotifyTrailAfterStop(t *testing.T, s store.Store) {
	ctx := context.Background()
	n, ok := s.(store.Notifications)
	if !ok {
		t.Skip("store keeps no notifications")
	}
	now := Base
	item := func(key string, leased bool) store.OutboxItem {
		it := store.OutboxItem{Key: key, IncidentID: 9, Version: 1, Channel: "webhook", Recipient: "endpoint:" + key,
			Pages: true, Delivery: json.RawMessage(`{}`), NextAttempt: now}
		if leased {
			it.LeaseOwner, it.LeaseUntil = "a", now.Add(time.Minute)
		}
		return it
	}
	items := []store.OutboxItem{item("went", true), item("failed", true), item("queued", false)}
	if stored, err := n.EnqueueDeliveries(ctx, items); err != nil || stored != 3 {
		t.Fatalf("enqueue: %d stored, %v", stored, err)
	}
	if c, err := n.StopEscalations(ctx, 9); err != nil || c != 3 {
		t.Fatalf("stop: %d cancelled, %v; want 3", c, err)
	}
	got, err := n.IncidentDeliveries(ctx, 9)
	if err != nil || len(got) != 3 {
		t.Fatalf("deliveries %+v, %v", got, err)
	}
	// Read back, the lease tells who may be sending a cancelled page.
	if got[0].State != store.DeliveryCancelled || got[0].LeaseOwner != "a" || !got[0].LeaseUntil.Equal(now.Add(time.Minute)) {
		t.Errorf("leased delivery after stop: state %s lease %q until %v; want cancelled, still leased to a", got[0].State, got[0].LeaseOwner, got[0].LeaseUntil)
	}
	if got[2].State != store.DeliveryCancelled || got[2].LeaseOwner != "" {
		t.Errorf("unleased delivery after stop: state %s lease %q; want cancelled, no lease", got[2].State, got[2].LeaseOwner)
	}
	attempt := func(id int64, ok bool) store.DeliveryAttempt {
		return store.DeliveryAttempt{OutboxID: id, IncidentID: 9, At: now.Add(time.Second), Node: "a", Channel: "webhook", Recipient: "r", OK: ok}
	}
	done := []store.Finished{
		{ID: items[0].ID, DeliveryResult: store.DeliveryResult{State: store.DeliverySent, NextAttempt: now, Attempt: attempt(items[0].ID, true)}},
		{ID: items[1].ID, DeliveryResult: store.DeliveryResult{State: store.DeliveryPending, NextAttempt: now.Add(5 * time.Second), Attempt: attempt(items[1].ID, false)}},
	}
	if err := n.FinishDeliveries(ctx, "a", done); err != nil {
		t.Fatal(err)
	}
	got, err = n.IncidentDeliveries(ctx, 9)
	if err != nil || len(got) != 3 {
		t.Fatalf("deliveries %+v, %v", got, err)
	}
	want := []string{store.DeliverySent, store.DeliveryCancelled, store.DeliveryCancelled}
	for i, it := range got {
		if it.State != want[i] || it.LeaseOwner != "" && i < 2 {
			t.Errorf("delivery %s: state %s lease %q; want %s, lease released", it.Key, it.State, it.LeaseOwner, want[i])
		}
	}
	if got[0].SentAt == nil || !got[0].SentAt.Equal(now.Add(time.Second)) {
		t.Errorf("sent delivery's sent_at %v, want %v", got[0].SentAt, now.Add(time.Second))
	}
	if claimed, err := n.ClaimDeliveries(ctx, "b", now.Add(time.Hour), time.Minute, 10); err != nil || len(claimed) != 0 {
		t.Errorf("claim after the stop: %d items (%v), want none", len(claimed), err)
	}
	if a, err := n.IncidentAttempts(ctx, 9); err != nil || len(a) != 2 {
		t.Errorf("attempts %d (%v), want 2", len(a), err)
	}
}

// testEscalationEventNewestWins: an incident update written behind a
// later event (a re-alarm's restart) does not replace it; a newer one
// does.
func testEscalationEventNewestWins(t *testing.T, s store.Store) {
	ctx := context.Background()
	n, ok := s.(store.Notifications)
	if !ok {
		t.Skip("store keeps no notifications")
	}
	ev := func(typ string, version int) json.RawMessage {
		return json.RawMessage(fmt.Sprintf(`{"type":%q,"incident":{"id":12,"version":%d}}`, typ, version))
	}
	if err := n.StartEscalation(ctx, store.Escalation{IncidentID: 12, RuleID: 1, PolicyID: 1, DueAt: Base, Active: true, Event: ev("realarmed", 5)}); err != nil {
		t.Fatal(err)
	}
	stored := func() string {
		t.Helper()
		var typ string
		_, err := n.AdvanceEscalations(ctx, Base, 10, func(_ context.Context, e store.Escalation) ([]store.OutboxItem, store.Escalation, error) {
			var got struct {
				Type string `json:"type"`
			}
			if err := json.Unmarshal(e.Event, &got); err != nil {
				return nil, e, err
			}
			typ = got.Type
			return nil, e, nil // stays due: the next look sees it again
		})
		if err != nil {
			t.Fatal(err)
		}
		return typ
	}
	if err := n.UpdateEscalationEvent(ctx, 12, ev("updated", 4)); err != nil {
		t.Fatal(err)
	}
	if got := stored(); got != "realarmed" {
		t.Fatalf("after an older update the escalation holds %q, want the re-alarm kept", got)
	}
	if err := n.UpdateEscalationEvent(ctx, 12, ev("updated", 6)); err != nil {
		t.Fatal(err)
	}
	if got := stored(); got != "updated" {
		t.Fatalf("after a newer update the escalation holds %q, want it", got)
	}
}
