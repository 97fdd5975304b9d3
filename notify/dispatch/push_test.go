package dispatch

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/radtrack/radtrack/notify"
	"github.com/radtrack/radtrack/notify/internal/pushtest"
	"github.com/radtrack/radtrack/rules"
	"github.com/radtrack/radtrack/store"
)

// Web Push end to end through the dispatcher: an operator's phone
// subscription (stored as the app stores it), a raise routed to the
// operators' push channel, and a local RFC 8030 push service that checks
// VAPID (RFC 8292) and decrypts the aes128gcm message with the phone's
// own keys (RFC 8291): the notification carries severity, vehicle, peak
// dose, place and the Acknowledge action; the acknowledgement follows
// without the action.
func TestWebPushThroughDispatcher(t *testing.T) {
	eachStore(t, func(t *testing.T, st Store) {
		ctx := context.Background()
		ps, push, keys, c := pushOperator(t, st)
		d, err := New(Config{Store: st, Node: "a", Push: push, VAPIDPublicKey: keys.Public})
		if err != nil {
			t.Fatal(err)
		}
		runDispatcher(t, d)

		raise := event(notify.EventRaised, 42, 1, time.Now(), rules.SeverityCritical)
		dose := 12.5
		raise.Incident.Peak = notify.Peak{DoseUSvh: &dose, LonLat: [2]float64{4.05, 51.95}, GPSValid: true, Time: t0}
		raise.Incident.Fence = &notify.Fence{ID: 3, Name: "Quay 7"}
		handle(t, d, raise)
		waitUntil(t, "the push decrypted", 20*time.Second, func() bool { return len(ps.Received()) == 1 })
		var p struct {
			Key      string         `json:"key"`
			Event    string         `json:"event"`
			Incident int64          `json:"incident"`
			Severity rules.Severity `json:"severity"`
			Vehicles []string       `json:"vehicles"`
			PeakUSvh *float64       `json:"peak_usvh"`
			Place    string         `json:"place"`
			Actions  []struct {
				Action string `json:"action"`
				Title  string `json:"title"`
			} `json:"actions"`
		}
		got := ps.Received()[0]
		if err := json.Unmarshal(got.Payload, &p); err != nil {
			t.Fatalf("payload %q: %v", got.Payload, err)
		}
		wantKey := notify.Delivery{Event: raise, Recipient: notify.Recipient{ID: "push:" + itoa(c.ID)}}.Key()
		if p.Key != wantKey || p.Event != "raised" || p.Incident != 42 || p.Severity != rules.SeverityCritical ||
			len(p.Vehicles) != 1 || p.Vehicles[0] != "Patrol 7" || p.PeakUSvh == nil || *p.PeakUSvh != 12.5 ||
			p.Place != "Quay 7, 51.95000°N 4.05000°E" || len(p.Actions) != 1 || p.Actions[0].Action != "acknowledge" {
			t.Fatalf("push payload %s\nwant key %s, critical, Patrol 7, 12.5 µSv/h at Quay 7, the acknowledge action", got.Payload, wantKey)
		}
		if got.Header.Get("Urgency") != "high" || got.Header.Get("TTL") != "43200" {
			t.Errorf("Urgency %q TTL %q, want high 43200 for a critical raise", got.Header.Get("Urgency"), got.Header.Get("TTL"))
		}

		handle(t, d, event(notify.EventAcknowledged, 42, 2, time.Now(), rules.SeverityCritical))
		waitUntil(t, "the acknowledgement pushed", 20*time.Second, func() bool { return len(ps.Received()) == 2 })
		var ack struct {
			Event   string `json:"event"`
			Actions []any  `json:"actions"`
		}
		if err := json.Unmarshal(ps.Received()[1].Payload, &ack); err != nil || ack.Event != "acknowledged" || len(ack.Actions) != 0 {
			t.Fatalf("second push %s, want the acknowledgement without actions", ps.Received()[1].Payload)
		}
		waitUntil(t, "both recorded as sent", 20*time.Second, func() bool {
			items, _ := st.IncidentDeliveries(ctx, 42)
			return len(items) == 2 && items[0].State == store.DeliverySent && items[1].State == store.DeliverySent
		})
	})
}

// Pages to one phone planned in one pass go as one push (a digest) that
// the push service double decrypts: the most severe incident first, every
// incident listed for the Acknowledge action, every key listed; each
// outbox row is recorded as sent.
func TestWebPushDigest(t *testing.T) {
	eachStore(t, func(t *testing.T, st Store) {
		ctx := context.Background()
		ps, push, keys, _ := pushOperator(t, st)
		d, err := New(Config{Store: st, Node: "a", Push: push, VAPIDPublicKey: keys.Public, Now: (&clock{t: t0}).Now})
		if err != nil {
			t.Fatal(err)
		}
		handle(t, d, event(notify.EventRaised, 11, 1, t0, rules.SeverityWarning))
		handle(t, d, event(notify.EventRaised, 12, 1, t0, rules.SeverityCritical))
		handle(t, d, event(notify.EventRealarmed, 13, 4, t0, rules.SeverityAlarm))
		if n := tick(t, d); n != 3 {
			t.Fatalf("%d deliveries attempted, want 3", n)
		}
		if n := len(ps.Received()); n != 1 {
			t.Fatalf("%d pushes, want 1 digest", n)
		}
		var p struct {
			Key       string   `json:"key"`
			Digest    bool     `json:"digest"`
			Incident  int64    `json:"incident"`
			Incidents []int64  `json:"incidents"`
			Keys      []string `json:"keys"`
			Title     string   `json:"title"`
			Body      string   `json:"body"`
			Actions   []struct {
				Action string `json:"action"`
			} `json:"actions"`
		}
		if err := json.Unmarshal(ps.Received()[0].Payload, &p); err != nil {
			t.Fatal(err)
		}
		if !p.Digest || p.Incident != 12 || !slices.Equal(p.Incidents, []int64{12, 13, 11}) || len(p.Keys) != 3 ||
			len(p.Actions) != 1 || p.Actions[0].Action != "acknowledge" {
			t.Fatalf("digest payload %s\nwant incident 12 first, incidents [12 13 11], 3 keys, the acknowledge action", ps.Received()[0].Payload)
		}
		if !strings.HasPrefix(p.Title, "3 incidents: CRITICAL incident 12 raised, ALARM incident 13 RE-ALARM") {
			t.Errorf("title %q", p.Title)
		}
		if got := ps.Received()[0].Header.Get("Urgency"); got != "high" {
			t.Errorf("Urgency %q, want high (the critical page's)", got)
		}
		// Planned in one pass, the three pages were stored as one digest:
		// one row, which each incident finds, sent as the push.
		for _, id := range []int64{11, 12, 13} {
			items, _ := st.IncidentDeliveries(ctx, id)
			if len(items) != 1 || items[0].State != store.DeliverySent || items[0].Key != p.Key || len(items[0].Covers) != 3 {
				t.Errorf("incident %d: outbox %d rows, want the stored digest %s of 3, sent", id, len(items), p.Key)
				continue
			}
			for _, k := range pageKeys(t, items[0], id) {
				if !slices.Contains(p.Keys, k) {
					t.Errorf("incident %d: page key %s not in the push's keys %v", id, k, p.Keys)
				}
			}
		}
	})
}

// pushOperator sets up the push service double, the Web Push channel
// talking to it, an operator whose phone subscribed (stored as the app
// stores it), and a rule paging operators by push at once.
func pushOperator(t *testing.T, st Store) (*pushtest.Service, *notify.WebPush, notify.VAPIDKeys, store.NotifyContact) {
	t.Helper()
	ctx := context.Background()
	keys, err := notify.GenerateVAPID()
	if err != nil {
		t.Fatal(err)
	}
	const subject = "mailto:ops@radtrack.example.org"
	ps := pushtest.New(t, keys.Public, subject)
	push, err := notify.NewWebPush(notify.WebPushConfig{Keys: keys, Subject: subject, Client: ps.Client()})
	if err != nil {
		t.Fatal(err)
	}
	u, err := st.(store.Users).CreateUser(ctx, store.User{Username: "olga", Role: "operator", PasswordHash: "x"})
	if err != nil {
		t.Fatal(err)
	}
	var sub notify.PushSubscription
	sub.Endpoint, sub.Keys.P256dh, sub.Keys.Auth = ps.Subscribe(t, "/push/olga-phone")
	spec, _ := json.Marshal(sub)
	c, err := st.AddNotifyContact(ctx, store.NotifyContact{UserID: u.ID, Kind: store.ContactPush, Value: sub.Endpoint, Spec: spec})
	if err != nil {
		t.Fatal(err)
	}
	pol := mustDoc(t, st, store.NotifyPolicy, "operators", PolicySpec{Steps: []Step{{Roles: []string{"operator"}, Channels: []string{ChannelPush}}}})
	mustDoc(t, st, store.NotifyRule, "all", RuleSpec{Policy: pol})
	return ps, push, keys, c
}
