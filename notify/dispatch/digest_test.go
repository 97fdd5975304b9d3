package dispatch

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/radtrack/radtrack/notify"
	"github.com/radtrack/radtrack/rules"
	"github.com/radtrack/radtrack/store"
)

// holdFirstThenAccept makes the receiver's first request wait until
// release, then accepts it as usual.
func holdFirstThenAccept(r *receiver) (arrived <-chan struct{}, release func()) {
	a, rel := make(chan struct{}), make(chan struct{})
	var once sync.Once
	r.mu.Lock()
	r.intercept = func(http.ResponseWriter) bool {
		once.Do(func() { close(a); <-rel })
		return false
	}
	r.mu.Unlock()
	return a, func() { close(rel) }
}

// runDispatcher runs d until the test ends (its outcomes recorded
// before the store closes).
func runDispatcher(t testing.TB, d *Dispatcher) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	ran := make(chan struct{})
	go func() { defer close(ran); _ = d.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-ran })
	for deadline := time.Now().Add(10 * time.Second); !d.running.Load(); time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("Run did not start")
		}
	}
}

// The first page to a receiver goes at once; the pages that queue behind
// it while it is on its way go as one message, most severe first, with
// re-alarms named; every covered outbox row is recorded as sent by that
// attempt, and the message carries each row's own idempotency key.
func TestPagesQueuedBehindAPageGoAsOneDigest(t *testing.T) {
	eachStore(t, func(t *testing.T, st Store) {
		ctx := context.Background()
		ops := newReceiver(t)
		pageAtOnce(t, st, ops.URL)
		arrived, release := holdFirstThenAccept(ops)
		d, err := New(Config{Store: st, Node: "a", Poll: 30 * time.Second})
		if err != nil {
			t.Fatal(err)
		}
		runDispatcher(t, d)
		now := time.Now()
		handle(t, d, event(notify.EventRaised, 1, 1, now, rules.SeverityAlarm))
		<-arrived
		handle(t, d, event(notify.EventRaised, 2, 1, now, rules.SeverityWarning))
		handle(t, d, event(notify.EventRaised, 3, 1, now, rules.SeverityCritical))
		handle(t, d, event(notify.EventRealarmed, 4, 3, now, rules.SeverityAlarm))
		waitUntil(t, "the pages taken into the pass", 10*time.Second, func() bool {
			d.fastMu.Lock()
			defer d.fastMu.Unlock()
			return len(d.fast) == 0
		})
		time.Sleep(100 * time.Millisecond) // from the queue into the lane
		release()
		waitUntil(t, "every page received", 20*time.Second, func() bool { return len(ops.got()) == 4 })
		got := ops.got()
		ops.mu.Lock()
		requests := ops.requests
		ops.mu.Unlock()
		if requests != 2 {
			t.Fatalf("%d requests, want 2 (the first page, then one digest)", requests)
		}
		if got[0].Incident != 1 || got[0].Digest != "" {
			t.Errorf("first request %+v, want incident 1 alone", got[0])
		}
		var order []int64
		for _, g := range got[1:] {
			order = append(order, g.Incident)
			if g.Digest == "" || g.Digest != got[1].Digest || !g.Pages {
				t.Errorf("digest entry %+v", g)
			}
		}
		if len(order) != 3 || order[0] != 3 || order[1] != 4 || order[2] != 2 {
			t.Errorf("digest order %v, want [3 4 2]: critical, the alarm re-alarm, warning", order)
		}
		if got[2].Event != notify.EventRealarmed {
			t.Errorf("incident 4 in the digest as %s, want realarmed", got[2].Event)
		}
		for id := int64(1); id <= 4; id++ {
			id := id
			waitUntil(t, "recorded as sent", 20*time.Second, func() bool {
				items, _ := st.IncidentDeliveries(ctx, id)
				return len(items) == 1 && items[0].State == store.DeliverySent
			})
			items, _ := st.IncidentDeliveries(ctx, id)
			for _, k := range pageKeys(t, items[0], id) {
				ops.mu.Lock()
				n := ops.keys[k]
				ops.mu.Unlock()
				if n != 1 {
					t.Errorf("incident %d: its page's key %s received %d times, want once", id, k, n)
				}
			}
			attempts, _ := st.IncidentAttempts(ctx, id)
			inDigest := len(attempts) == 1 && strings.Contains(attempts[0].Error, "in a digest of 3")
			if len(attempts) != 1 || !attempts[0].OK || inDigest != (id != 1) {
				t.Errorf("incident %d attempts %+v, want one, noted as in a digest of 3 unless incident 1", id, attempts)
			}
		}
	})
}

// Webhook endpoints with the same URL and secret get one request with
// the recipient list; an endpoint on the same URL with another secret
// gets its own.
func TestEndpointsSharingURLGetOneRequest(t *testing.T) {
	st := openSQLite(t, t.TempDir())
	gw := newReceiver(t)
	var ids []int64
	for _, name := range []string{"sms-north", "sms-south", "sms-east"} {
		ids = append(ids, mustDoc(t, st, store.NotifyEndpoint, name, webhook(gw.URL)))
	}
	other := EndpointSpec{Kind: KindWebhook, URL: gw.URL, Secret: secret + "-other"}
	ids = append(ids, mustDoc(t, st, store.NotifyEndpoint, "other-secret", other))
	pol := mustDoc(t, st, store.NotifyPolicy, "p", PolicySpec{Steps: []Step{{Endpoints: ids}}})
	mustDoc(t, st, store.NotifyRule, "all", RuleSpec{Policy: pol})
	d := newDispatcher(t, st, &clock{t: t0}, "a")
	handle(t, d, event(notify.EventRaised, 7, 1, t0, rules.SeverityAlarm))
	if n := tick(t, d); n != 4 {
		t.Fatalf("%d deliveries attempted, want 4", n)
	}
	gw.mu.Lock()
	requests, badSig := gw.requests, gw.badSig
	gw.mu.Unlock()
	// The other secret's request fails the receiver's signature check
	// (it knows one secret): what matters is that it went on its own.
	if requests != 1 || badSig != 1 {
		t.Fatalf("%d accepted requests, %d with another signature; want 1 and 1", requests, badSig)
	}
	got := gw.got()
	if len(got) != 3 || got[0].Digest == "" {
		t.Fatalf("received %+v, want one digest for three endpoints", got)
	}
	for i, g := range got {
		if want := "endpoint:" + itoa(ids[i]); g.Recipient != want || g.Incident != 7 {
			t.Errorf("entry %d: %+v, want recipient %s", i, g, want)
		}
	}
	items, _ := st.IncidentDeliveries(context.Background(), 7)
	sent := 0
	for _, it := range items {
		if it.State == store.DeliverySent {
			sent += len(pageKeys(t, it, 7))
		}
	}
	if sent != 3 {
		t.Errorf("%d deliveries sent, want 3 (the fourth refused)", sent)
	}
}

// What merges: pages to one contact (reminders too), JSON webhooks by URL
// and secret, e-mail endpoints by address; never MQTT, CAP webhooks,
// non-paging events or pages already sent from memory in an outage.
func TestLaneKeys(t *testing.T) {
	doc := func(id int64, spec EndpointSpec) store.NotifyDoc {
		raw, err := json.Marshal(spec)
		if err != nil {
			t.Fatal(err)
		}
		return store.NotifyDoc{ID: id, Kind: store.NotifyEndpoint, Spec: raw}
	}
	docs := map[int64]store.NotifyDoc{
		1: doc(1, webhook("https://gw.example.org/hook")),
		2: doc(2, webhook("https://gw.example.org/hook")),
		3: doc(3, EndpointSpec{Kind: KindWebhook, URL: "https://gw.example.org/hook", Secret: secret, Format: "cap"}),
		4: doc(4, EndpointSpec{Kind: KindMQTT, Cluster: "port"}),
		5: doc(5, EndpointSpec{Kind: KindEmail, Address: "Duty@Port.example.org"}),
		6: doc(6, EndpointSpec{Kind: KindEmail, Address: "duty@port.example.org"}),
	}
	page := func(channel, recipient string, endpoint int64) job {
		return job{it: store.OutboxItem{Channel: channel, Recipient: recipient, EndpointID: endpoint, Pages: true}}
	}
	key := func(j job) string { return laneKey(j, docs) }
	if a, b := key(page(ChannelWebhook, "endpoint:1", 1)), key(page(ChannelWebhook, "endpoint:2", 2)); a == "" || a != b {
		t.Errorf("JSON webhooks on one URL and secret: keys %q %q, want one", a, b)
	}
	if a, b := key(page(ChannelEmail, "endpoint:5", 5)), key(page(ChannelEmail, "endpoint:6", 6)); a == "" || a != b {
		t.Errorf("e-mail endpoints to one address: keys %q %q, want one", a, b)
	}
	if a, b := key(page(ChannelPush, "push:9", 0)), key(page(ChannelPush, "push:9#s1c0", 0)); a == "" || a != b {
		t.Errorf("a contact's page and reminder: keys %q %q, want one", a, b)
	}
	if a, b := key(page(ChannelPush, "push:9", 0)), key(page(ChannelPush, "push:10", 0)); a == b {
		t.Errorf("two contacts share lane %q", a)
	}
	inform := page(ChannelPush, "push:9", 0)
	inform.it.Pages = false
	outage := page(ChannelPush, "push:9", 0)
	outage.paged = true
	for name, j := range map[string]job{
		"CAP webhook": page(ChannelWebhook, "endpoint:3", 3), "MQTT": page(KindMQTT, "endpoint:4", 4),
		"acknowledgement": inform, "outage page": outage, "deleted endpoint": page(ChannelWebhook, "endpoint:99", 99),
	} {
		if k := key(j); k != "" {
			t.Errorf("%s merges (lane %q), want never", name, k)
		}
	}
}

// A storm's pages planned in one pass to one receiver are stored as one
// digest: one outbox row and one request, which each incident finds in
// its trail. When that request fails, an incident acknowledged before
// the retry is dropped from the digest: the retry carries the others
// only, and no acknowledgement goes out for it (its page never went).
func TestStoredDigestRetryLeavesAcknowledgedIncidentOut(t *testing.T) {
	eachStore(t, func(t *testing.T, st Store) {
		ctx := context.Background()
		ops := newReceiver(t, http.StatusServiceUnavailable)
		pageAtOnce(t, st, ops.URL)
		c := &clock{t: t0}
		d := newDispatcher(t, st, c, "a")
		for id := int64(1); id <= 3; id++ {
			handle(t, d, event(notify.EventRaised, id, 1, t0, rules.SeverityAlarm))
		}
		if n := tick(t, d); n != 3 {
			t.Fatalf("%d pages attempted, want 3", n)
		}
		for id := int64(1); id <= 3; id++ {
			items, err := st.IncidentDeliveries(ctx, id)
			if err != nil || len(items) != 1 || len(items[0].Covers) != 3 || items[0].State != store.DeliveryPending || items[0].Attempts != 1 {
				t.Fatalf("incident %d: %d rows (%v), want the one stored digest of 3, pending after its failed attempt", id, len(items), err)
			}
		}
		handle(t, d, event(notify.EventAcknowledged, 2, 2, t0, rules.SeverityAlarm))
		c.Set(t0.Add(time.Minute))
		if n := tick(t, d); n != 3 {
			t.Fatalf("retry pass: %d pages attempted, want the digest's 3 (one dropped before sending)", n)
		}
		var incidents []int64
		for _, g := range ops.got() {
			incidents = append(incidents, g.Incident)
			if g.Event != notify.EventRaised {
				t.Errorf("received %+v, want only the raises", g)
			}
		}
		slices.Sort(incidents)
		if !slices.Equal(incidents, []int64{1, 3}) {
			t.Errorf("the retry carried incidents %v, want [1 3]: 2 was acknowledged first", incidents)
		}
		ops.mu.Lock()
		requests := ops.requests
		ops.mu.Unlock()
		if requests != 1 {
			t.Errorf("%d accepted requests, want the one retry", requests)
		}
		items, _ := st.IncidentDeliveries(ctx, 2)
		if s := Summary(2, items); s != "nothing sent; 1 not sent (acknowledged first)" {
			t.Errorf("incident 2's trail %q", s)
		}
		items, _ = st.IncidentDeliveries(ctx, 3)
		if s := Summary(3, items); s != "webhook accepted (2xx) by 1 endpoint" {
			t.Errorf("incident 3's trail %q", s)
		}
		if a, _ := st.IncidentAttempts(ctx, 3); len(a) != 2 || a[0].OK || !a[1].OK || !strings.Contains(a[1].Error, "in a digest of 2") {
			t.Errorf("incident 3's attempts %+v, want the failed one and the digest of 2 that went", a)
		}
	})
}

// A stored digest's row names each of its events and recipients once,
// however many pages name them (two gateway endpoints × two incidents:
// two events, two recipients, four pages), and reads back as the pages
// it was made of. A row stored before migration 0019, with its events
// and each page's recipient inline, reads back the same.
func TestStoredDigestNamesEventsAndRecipientsOnce(t *testing.T) {
	ev1, ev2 := event(notify.EventRaised, 1, 1, t0, rules.SeverityAlarm), event(notify.EventRealarmed, 2, 3, t0.Add(time.Minute), rules.SeverityCritical)
	hook1 := notify.Recipient{ID: "webhook:1", Name: "SMS gateway, north"}
	hook2 := notify.Recipient{ID: "webhook:2", Name: "SMS gateway, south"}
	var (
		items []store.OutboxItem
		dls   []*notify.Delivery
	)
	for _, dl := range []notify.Delivery{{Event: ev1, Recipient: hook1}, {Event: ev1, Recipient: hook2}, {Event: ev2, Recipient: hook1}, {Event: ev2, Recipient: hook2}} {
		items = append(items, store.OutboxItem{Key: dl.Key(), IncidentID: dl.Event.Incident.ID, Channel: ChannelWebhook, Pages: true})
		dls = append(dls, &dl)
	}
	var codes eventCodes
	it, _, err := digestItem(items, dls, []int{0, 1, 2, 3}, &codes)
	if err != nil {
		t.Fatal(err)
	}
	if len(it.Events) != 2 || it.Events[0].Key == it.Events[1].Key || !slices.Equal(it.Covers, []int64{1, 2}) {
		t.Fatalf("row names events %v covering %v, want the two events once each", it.Events, it.Covers)
	}
	var row map[string][]json.RawMessage
	if err := json.Unmarshal(it.Delivery, &row); err != nil {
		t.Fatal(err)
	}
	if len(row["recipients"]) != 2 || len(row["pages"]) != 4 || row["events"] != nil {
		t.Errorf("row %s, want two recipients, four pages and no inline events", it.Delivery)
	}
	want := []notify.Delivery{*dls[0], *dls[1], *dls[2], *dls[3]}
	same := func(got []notify.Delivery) bool {
		if len(got) != len(want) {
			return false
		}
		for i := range got {
			if got[i].Key() != items[i].Key || got[i].Recipient != want[i].Recipient ||
				got[i].Event.Incident.Severity != want[i].Event.Incident.Severity || !got[i].Event.Time.Equal(want[i].Event.Time) {
				return false
			}
		}
		return true
	}
	got, err := job{it: it}.stored()
	if err != nil || !same(got) {
		t.Errorf("read back %+v (%v), want the four pages", got, err)
	}

	// Before 0019: events and recipients inline, no stored events.
	enc := func(v any) string { b, _ := json.Marshal(v); return string(b) }
	old := it
	old.Events = nil
	old.Delivery = json.RawMessage(`{"events":[` + enc(ev1) + `,` + enc(ev2) + `],"pages":[` +
		`{"event":0,"recipient":` + enc(hook1) + `},{"event":0,"recipient":` + enc(hook2) + `},` +
		`{"event":1,"recipient":` + enc(hook1) + `},{"event":1,"recipient":` + enc(hook2) + `}]}`)
	if got, err := (job{it: old}).stored(); err != nil || !same(got) {
		t.Errorf("a row stored before 0019 read back %+v (%v), want the four pages", got, err)
	}
	// A page naming an event or recipient the row does not have is
	// refused, not sent with a zero value.
	for _, bad := range []string{`{"recipients":[{}],"pages":[{"event":2,"recipient":0}]}`, `{"recipients":[{}],"pages":[{"event":0,"recipient":1}]}`} {
		b := it
		b.Delivery = json.RawMessage(bad)
		if _, err := (job{it: b}).stored(); err == nil {
			t.Errorf("%s read without an error", bad)
		}
	}
}

// A planning pass queues its receivers with the most pages first: one
// gateway's request carrying the pages of its two endpoints goes before
// the digest to a gateway of one endpoint, listed first.
func TestReceiversWithMostPagesQueuedFirst(t *testing.T) {
	ctx := context.Background()
	st := openSQLite(t, t.TempDir())
	small := mustDoc(t, st, store.NotifyEndpoint, "small", webhook("http://127.0.0.1:9/small"))
	big1 := mustDoc(t, st, store.NotifyEndpoint, "big1", webhook("http://127.0.0.1:9/big"))
	big2 := mustDoc(t, st, store.NotifyEndpoint, "big2", webhook("http://127.0.0.1:9/big"))
	d := newDispatcher(t, st, &clock{t: t0}, "a")
	cfg, err := d.recent(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var (
		items []store.OutboxItem
		dls   []*notify.Delivery
	)
	for _, ep := range []int64{small, big1, big2} {
		for id := int64(1); id <= 2; id++ {
			dl := notify.Delivery{Event: event(notify.EventRaised, id, 1, t0, rules.SeverityAlarm), Recipient: notify.Recipient{ID: fmt.Sprint("endpoint:", ep)}}
			items = append(items, store.OutboxItem{Key: dl.Key(), IncidentID: id, Version: 1, Channel: ChannelWebhook, EndpointID: ep, Recipient: dl.Recipient.ID, Pages: true})
			dls = append(dls, &dl)
		}
	}
	out, _, err := d.storedDigests(ctx, cfg, items, dls)
	if err != nil {
		t.Fatal(err)
	}
	var pages []int
	for _, it := range out {
		var row struct{ Pages []json.RawMessage }
		if err := json.Unmarshal(it.Delivery, &row); err != nil {
			t.Fatal(err)
		}
		pages = append(pages, len(row.Pages))
	}
	if !slices.Equal(pages, []int{4, 2}) {
		t.Errorf("rows of %v pages, in that order; want the two-endpoint gateway's 4 first, then 2", pages)
	}
}
