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
	n := notificationsOf(t, s)
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
	n := notificationsOf(t, s)
	ev := func(typ string, version int) json.RawMessage {
		return json.RawMessage(fmt.Sprintf(`{"type":%q,"incident":{"id":12,"version":%d}}`, typ, version))
	}
	if err := n.StartEscalation(ctx, store.Escalation{IncidentID: 12, RuleID: 1, PolicyID: 1, DueAt: Base, Active: true, Event: ev("realarmed", 5)}); err != nil {
		t.Fatal(err)
	}
	stored := func() string {
		t.Helper()
		var typ string
		_, err := n.AdvanceEscalations(ctx, Base, 10, func(_ context.Context, due []store.Escalation) ([]store.OutboxItem, []store.Escalation, error) {
			var got struct {
				Type string `json:"type"`
			}
			if err := json.Unmarshal(due[0].Event, &got); err != nil {
				return nil, due, err
			}
			typ = got.Type
			return nil, due, nil // stays due: the next look sees it again
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

// testNotifyDigestEventsShared: two stored digests name the same events
// (a storm's pass pages the same incidents to many receivers), in
// different orders, and a later enqueue names one of them again. Each
// row reads back its own events, in its own order, whole, whether it is
// claimed or listed for an incident; a row of one delivery has none.
func testNotifyDigestEventsShared(t *testing.T, s store.Store) {
	ctx := context.Background()
	n := notificationsOf(t, s)
	now := Base
	ev := func(id int, peak float64) store.OutboxEvent {
		// Keys are the caller's strings: quotes, commas and braces too.
		return store.OutboxEvent{Key: fmt.Sprintf(`ev%d-key,"{}\\`, id), JSON: json.RawMessage(fmt.Sprintf(`{"incident": {"id": %d, "peak": %g}}`, id, peak))}
	}
	e41, e42, e43 := ev(41, 1.5), ev(42, 2.25), ev(43, 30)
	digest := func(key string, events ...store.OutboxEvent) store.OutboxItem {
		var covers []int64
		for i := range events {
			covers = append(covers, int64(41+i))
		}
		return store.OutboxItem{Key: key, IncidentID: covers[0], Covers: covers, Version: 1, Channel: "push", Recipient: key,
			Pages: true, Delivery: json.RawMessage(`{"pages": []}`), NextAttempt: now, Events: events}
	}
	single := store.OutboxItem{Key: "one-41", IncidentID: 41, Version: 1, Channel: "mqtt", Recipient: "mqtt:1",
		Pages: true, Delivery: json.RawMessage(`{}`), NextAttempt: now}
	if stored, err := n.EnqueueDeliveries(ctx, []store.OutboxItem{digest("phone-1", e41, e42), digest("phone-2", e42, e41), single}); err != nil || stored != 3 {
		t.Fatalf("enqueue: %d stored, %v", stored, err)
	}
	if stored, err := n.EnqueueDeliveries(ctx, []store.OutboxItem{digest("phone-3", e43, e41, e42)}); err != nil || stored != 1 {
		t.Fatalf("enqueue naming stored events again: %d stored, %v", stored, err)
	}
	events := func(it store.OutboxItem) string {
		var out []string
		for _, e := range it.Events {
			var v struct {
				Incident struct {
					ID   int64   `json:"id"`
					Peak float64 `json:"peak"`
				} `json:"incident"`
			}
			if err := json.Unmarshal(e.JSON, &v); err != nil {
				t.Errorf("%s: event %s: %v (%s)", it.Key, e.Key, err, e.JSON)
			}
			out = append(out, fmt.Sprintf("%s=%d/%g", e.Key, v.Incident.ID, v.Incident.Peak))
		}
		return it.Key + fmt.Sprint(out)
	}
	want := map[string]string{
		"phone-1": `phone-1[ev41-key,"{}\\=41/1.5 ev42-key,"{}\\=42/2.25]`,
		"phone-2": `phone-2[ev42-key,"{}\\=42/2.25 ev41-key,"{}\\=41/1.5]`,
		"phone-3": `phone-3[ev43-key,"{}\\=43/30 ev41-key,"{}\\=41/1.5 ev42-key,"{}\\=42/2.25]`,
		"one-41":  "one-41[]",
	}
	listed, err := n.IncidentDeliveries(ctx, 41)
	if err != nil || len(listed) != 4 {
		t.Fatalf("incident 41's deliveries: %d (%v), want 4", len(listed), err)
	}
	for _, it := range listed {
		if got := events(it); got != want[it.Key] {
			t.Errorf("listed %s, want %s", got, want[it.Key])
		}
	}
	claimed, err := n.ClaimDeliveries(ctx, "a", now, time.Minute, 10)
	if err != nil || len(claimed) != 4 {
		t.Fatalf("claim: %d items (%v), want 4", len(claimed), err)
	}
	for _, it := range claimed {
		if got := events(it); got != want[it.Key] {
			t.Errorf("claimed %s, want %s", got, want[it.Key])
		}
	}
}

// testNotifyDigestCoversIncidents: a stored digest pages incidents 21
// and 22 to one receiver. Each incident finds it (deliveries and
// attempts); acknowledging 21 drops 21's page and leaves the digest
// pending for 22; acknowledging 22 too cancels it, and no claim takes it.
func testNotifyDigestCoversIncidents(t *testing.T, s store.Store) {
	ctx := context.Background()
	n := notificationsOf(t, s)
	now := Base
	digest := store.OutboxItem{Key: "d2-digest", IncidentID: 21, Covers: []int64{21, 22}, Version: 1, Channel: "push",
		Recipient: "push:1", Pages: true, Delivery: json.RawMessage(`[{},{}]`), NextAttempt: now}
	single := store.OutboxItem{Key: "single-22", IncidentID: 22, Version: 1, Channel: "push", Recipient: "push:2",
		Pages: true, Delivery: json.RawMessage(`{}`), NextAttempt: now}
	other := store.OutboxItem{Key: "single-23", IncidentID: 23, Version: 1, Channel: "push", Recipient: "push:1",
		Pages: true, Delivery: json.RawMessage(`{}`), NextAttempt: now}
	items := []store.OutboxItem{digest, single, other}
	if stored, err := n.EnqueueDeliveries(ctx, items); err != nil || stored != 3 {
		t.Fatalf("enqueue: %d stored, %v", stored, err)
	}
	keys := func(incident int64) []string {
		t.Helper()
		got, err := n.IncidentDeliveries(ctx, incident)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, it := range got {
			out = append(out, fmt.Sprintf("%s:%s:covers%v:dropped%v:pages%v", it.Key, it.State, it.Covers, it.Dropped, it.PagesIncident(incident)))
		}
		return out
	}
	if got, want := fmt.Sprint(keys(22)), "[d2-digest:pending:covers[21 22]:dropped[]:pagestrue single-22:pending:covers[]:dropped[]:pagestrue]"; got != want {
		t.Errorf("incident 22's deliveries %s, want %s", got, want)
	}
	if c, err := n.StopEscalations(ctx, 21); err != nil || c != 1 {
		t.Fatalf("stop 21: %d cancelled, %v; want its page in the digest", c, err)
	}
	if got, want := fmt.Sprint(keys(21)), "[d2-digest:pending:covers[21 22]:dropped[21]:pagesfalse]"; got != want {
		t.Errorf("after stopping 21, its deliveries %s, want %s", got, want)
	}
	claimed, err := n.ClaimDeliveries(ctx, "a", now, time.Minute, 10)
	if err != nil || len(claimed) != 3 {
		t.Fatalf("claim: %d items (%v), want the digest (still paging 22) and both single pages", len(claimed), err)
	}
	var done []store.Finished
	for _, it := range claimed {
		if it.Key == "d2-digest" && (fmt.Sprint(it.Dropped) != "[21]" || !it.PagesIncident(22)) {
			t.Errorf("claimed digest covers %v dropped %v, want 22 still paged", it.Covers, it.Dropped)
		}
		if it.Key == "single-22" {
			continue // left leased: the stop below must still cancel it
		}
		a := store.DeliveryAttempt{OutboxID: it.ID, IncidentID: it.IncidentID, At: now.Add(time.Second), Node: "a", Channel: "push", Recipient: it.Recipient, OK: false, Status: 503}
		done = append(done, store.Finished{ID: it.ID, DeliveryResult: store.DeliveryResult{State: store.DeliveryPending, NextAttempt: now.Add(time.Second), Attempt: a}})
	}
	if err := n.FinishDeliveries(ctx, "a", done); err != nil {
		t.Fatal(err)
	}
	attempts, err := n.IncidentAttempts(ctx, 22)
	if err != nil || len(attempts) != 1 || attempts[0].IncidentID != 22 || attempts[0].OutboxID != items[0].ID {
		t.Errorf("incident 22's attempts %+v (%v), want the digest's one, under incident 22", attempts, err)
	}
	if c, err := n.StopEscalations(ctx, 22); err != nil || c != 2 {
		t.Fatalf("stop 22: %d cancelled, %v; want its page in the digest and its own", c, err)
	}
	if got, want := fmt.Sprint(keys(22)), "[d2-digest:cancelled:covers[21 22]:dropped[21 22]:pagesfalse single-22:cancelled:covers[]:dropped[]:pagestrue]"; got != want {
		t.Errorf("after stopping both, incident 22's deliveries %s, want %s", got, want)
	}
	claimed, err = n.ClaimDeliveries(ctx, "b", now.Add(time.Hour), time.Minute, 10)
	if err != nil || len(claimed) != 1 || claimed[0].Key != "single-23" {
		t.Errorf("claim after both stops: %d items (%v), want only incident 23's retry", len(claimed), err)
	}

	// A digest on its way (leased) when 31 is acknowledged: 31 is
	// dropped, and when the sender records that it carried 31's page all
	// the same, the trail says it went.
	inflight := store.OutboxItem{Key: "d2-inflight", IncidentID: 31, Covers: []int64{31, 32}, Version: 1, Channel: "push",
		Recipient: "push:1", Pages: true, Delivery: json.RawMessage(`[{},{}]`), NextAttempt: now, LeaseOwner: "a", LeaseUntil: now.Add(time.Minute)}
	items = []store.OutboxItem{inflight}
	if stored, err := n.EnqueueDeliveries(ctx, items); err != nil || stored != 1 {
		t.Fatalf("enqueue: %d stored, %v", stored, err)
	}
	if c, err := n.StopEscalations(ctx, 31); err != nil || c != 1 {
		t.Fatalf("stop 31: %d cancelled, %v; want its page in the digest", c, err)
	}
	if got, want := fmt.Sprint(keys(31)), "[d2-inflight:pending:covers[31 32]:dropped[31]:pagesfalse]"; got != want {
		t.Errorf("after stopping 31, its deliveries %s, want %s", got, want)
	}
	a := store.DeliveryAttempt{OutboxID: items[0].ID, IncidentID: 31, At: now.Add(time.Second), Node: "a", Channel: "push", Recipient: "push:1", OK: true}
	if err := n.FinishDeliveries(ctx, "a", []store.Finished{{ID: items[0].ID, Carried: []int64{31, 32},
		DeliveryResult: store.DeliveryResult{State: store.DeliverySent, NextAttempt: now, Attempt: a}}}); err != nil {
		t.Fatal(err)
	}
	if got, want := fmt.Sprint(keys(31)), "[d2-inflight:sent:covers[31 32]:dropped[]:pagestrue]"; got != want {
		t.Errorf("after the digest went with 31's page, its deliveries %s, want %s", got, want)
	}
}

// notificationsOf is s's notification store; a store without one skips
// the test.
func notificationsOf(t *testing.T, s store.Store) store.Notifications {
	t.Helper()
	n, ok := s.(store.Notifications)
	if !ok {
		t.Skip("store keeps no notifications")
	}
	return n
}
