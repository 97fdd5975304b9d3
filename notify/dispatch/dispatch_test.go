package dispatch

import (
	"context"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/radtrack/radtrack/notify"
	"github.com/radtrack/radtrack/rules"
	"github.com/radtrack/radtrack/store"
)

// threeSteps is the brief's policy: T+0 operators' endpoint, T+3 min the
// duty officer's, T+10 min the SMS gateway, repeated once after 15 min.
func threeSteps(ops, duty, sms int64) PolicySpec {
	return PolicySpec{Steps: []Step{
		{DelayS: 0, Endpoints: []int64{ops}},
		{DelayS: 180, Endpoints: []int64{duty}},
		{DelayS: 600, Endpoints: []int64{sms}},
	}, Repeat: 1, RepeatEveryS: 900}
}

func TestEscalationStopsOnAcknowledgement(t *testing.T) {
	eachStore(t, func(t *testing.T, st Store) {
		ops, duty, sms := newReceiver(t), newReceiver(t), newReceiver(t)
		pol := mustDoc(t, st, store.NotifyPolicy, "default", threeSteps(
			mustDoc(t, st, store.NotifyEndpoint, "ops", webhook(ops.URL)),
			mustDoc(t, st, store.NotifyEndpoint, "duty", webhook(duty.URL)),
			mustDoc(t, st, store.NotifyEndpoint, "sms", webhook(sms.URL))))
		mustDoc(t, st, store.NotifyRule, "alarms", RuleSpec{Severities: []rules.Severity{rules.SeverityAlarm, rules.SeverityCritical}, Policy: pol})
		c := &clock{t: t0}
		d := newDispatcher(t, st, c, "a")

		handle(t, d, event(notify.EventRaised, 42, 1, t0, rules.SeverityAlarm))
		// A warning matches no rule: nothing is sent for it.
		handle(t, d, event(notify.EventRaised, 43, 1, t0, rules.SeverityWarning))
		if n := tick(t, d); n != 1 {
			t.Fatalf("T+0: %d deliveries attempted, want 1 (ops)", n)
		}
		c.Set(t0.Add(179 * time.Second))
		if n := tick(t, d); n != 0 {
			t.Fatalf("T+179s: %d deliveries, want none before the step is due", n)
		}
		c.Set(t0.Add(180 * time.Second))
		if n := tick(t, d); n != 1 {
			t.Fatalf("T+180s: %d deliveries, want 1 (duty officer)", n)
		}
		c.Set(t0.Add(200 * time.Second))
		handle(t, d, event(notify.EventAcknowledged, 42, 2, c.Now(), rules.SeverityAlarm))
		tick(t, d)
		for _, at := range []time.Duration{600, 900, 1080, 1500, 5000} {
			c.Set(t0.Add(at * time.Second))
			tick(t, d)
		}
		want := []notify.EventType{notify.EventRaised, notify.EventAcknowledged}
		if got := ops.events(); !slices.Equal(got, want) {
			t.Errorf("ops got %v, want %v", got, want)
		}
		if got := duty.events(); !slices.Equal(got, want) {
			t.Errorf("duty officer got %v, want %v", got, want)
		}
		if got := sms.events(); len(got) != 0 {
			t.Errorf("SMS gateway got %v after the acknowledgement, want nothing", got)
		}
		for _, r := range []*receiver{ops, duty} {
			for _, g := range r.got() {
				if g.Incident != 42 || g.Pages != (g.Event == notify.EventRaised) {
					t.Errorf("unexpected delivery %+v", g)
				}
			}
		}
		items, err := st.IncidentDeliveries(context.Background(), 42)
		if err != nil {
			t.Fatal(err)
		}
		if s := Summary(42, items); s != "webhook accepted (2xx) by 2 endpoints" {
			t.Errorf("summary %q", s)
		}
		attempts, err := st.IncidentAttempts(context.Background(), 42)
		if err != nil || len(attempts) != 4 {
			t.Fatalf("%d attempts recorded (%v), want 4", len(attempts), err)
		}
		for _, a := range attempts {
			if !a.OK || a.Status != 0 || a.Node != "a" || a.Channel != ChannelWebhook {
				t.Errorf("attempt %+v", a)
			}
		}
	})
}

func TestEscalationRepeatsAndReAlarmRestarts(t *testing.T) {
	eachStore(t, func(t *testing.T, st Store) {
		ops, duty := newReceiver(t), newReceiver(t)
		opsID := mustDoc(t, st, store.NotifyEndpoint, "ops", webhook(ops.URL))
		dutyID := mustDoc(t, st, store.NotifyEndpoint, "duty", webhook(duty.URL))
		pol := mustDoc(t, st, store.NotifyPolicy, "two", PolicySpec{Steps: []Step{
			{DelayS: 0, Endpoints: []int64{opsID}}, {DelayS: 60, Endpoints: []int64{dutyID}},
		}, Repeat: 2, RepeatEveryS: 300})
		mustDoc(t, st, store.NotifyRule, "north", RuleSpec{Groups: []string{"North"}, Policy: pol})
		c := &clock{t: t0}
		d := newDispatcher(t, st, c, "a")
		handle(t, d, event(notify.EventRaised, 7, 1, t0, rules.SeverityWarning))
		// Nobody acknowledges: three cycles of two steps, then silence.
		for s := 0; s <= 2000; s += 30 {
			c.Set(t0.Add(time.Duration(s) * time.Second))
			tick(t, d)
		}
		if n, m := len(ops.got()), len(duty.got()); n != 3 || m != 3 {
			t.Fatalf("ops got %d, duty %d; want 3 each (first cycle + 2 repeats)", n, m)
		}
		// Each reminder is its own delivery (its own key); none repeated.
		for _, r := range []*receiver{ops, duty} {
			for k, n := range r.keys {
				if n != 1 {
					t.Errorf("key %s received %d times", k, n)
				}
			}
		}
		// A re-alarm starts the policy again.
		c.Set(t0.Add(3000 * time.Second))
		handle(t, d, event(notify.EventRealarmed, 7, 5, c.Now(), rules.SeverityAlarm))
		tick(t, d)
		got := ops.got()
		if len(got) != 4 || got[3].Event != notify.EventRealarmed || !got[3].Pages {
			t.Fatalf("after the re-alarm ops got %+v, want a 4th, paging realarmed", got)
		}
	})
}

func TestRetriesTransientStopsOnPermanent(t *testing.T) {
	eachStore(t, func(t *testing.T, st Store) {
		flaky := newReceiver(t, http.StatusServiceUnavailable, http.StatusTooManyRequests)
		broken := newReceiver(t, http.StatusBadRequest)
		pol := mustDoc(t, st, store.NotifyPolicy, "p", PolicySpec{Steps: []Step{{Endpoints: []int64{
			mustDoc(t, st, store.NotifyEndpoint, "flaky", webhook(flaky.URL)),
			mustDoc(t, st, store.NotifyEndpoint, "broken", webhook(broken.URL)),
		}}}})
		mustDoc(t, st, store.NotifyRule, "all", RuleSpec{Policy: pol})
		c := &clock{t: t0}
		d := newDispatcher(t, st, c, "a")
		handle(t, d, event(notify.EventRaised, 9, 1, t0, rules.SeverityAlarm))
		if n := tick(t, d); n != 2 {
			t.Fatalf("%d attempts, want 2", n)
		}
		if n := tick(t, d); n != 0 {
			t.Fatalf("%d attempts right after a 503, want 0 (backoff)", n)
		}
		for s := 1; s <= 60; s++ {
			c.Set(t0.Add(time.Duration(s) * time.Second))
			tick(t, d)
		}
		if n := len(flaky.got()); n != 1 {
			t.Fatalf("flaky receiver accepted %d, want 1 after two transient failures", n)
		}
		items, err := st.IncidentDeliveries(context.Background(), 9)
		if err != nil || len(items) != 2 {
			t.Fatalf("deliveries %v %v", items, err)
		}
		byRecipient := map[string]store.OutboxItem{}
		for _, it := range items {
			byRecipient[it.Recipient] = it
		}
		f, b := byRecipient["endpoint:1"], byRecipient["endpoint:2"]
		if f.State != store.DeliverySent || f.Attempts != 3 {
			t.Errorf("flaky: %s after %d attempts, want sent after 3", f.State, f.Attempts)
		}
		if b.State != store.DeliveryFailed || b.Attempts != 1 || b.LastStatus != 400 {
			t.Errorf("broken: %s after %d attempts (status %d), want failed after 1 with 400", b.State, b.Attempts, b.LastStatus)
		}
		attempts, _ := st.IncidentAttempts(context.Background(), 9)
		var statuses []int
		for _, a := range attempts {
			statuses = append(statuses, a.Status)
		}
		slices.Sort(statuses)
		if !slices.Equal(statuses, []int{0, 400, 429, 503}) {
			t.Errorf("attempt statuses %v, want 0 (ok), 400, 429, 503", statuses)
		}
		if s := Summary(9, items); s != "webhook accepted (2xx) by 1 endpoint; 1 failed: webhook 400" {
			t.Errorf("summary %q", s)
		}
	})
}

// A step already planned into the outbox when the acknowledgement comes
// is not sent.
func TestPlannedStepNotSentAfterAcknowledgement(t *testing.T) {
	eachStore(t, func(t *testing.T, st Store) {
		ops := newReceiver(t)
		pageAtOnce(t, st, ops.URL)
		c := &clock{t: t0}
		d := newDispatcher(t, st, c, "a")
		handle(t, d, event(notify.EventRaised, 5, 1, t0, rules.SeverityAlarm))
		if err := d.planDue(context.Background()); err != nil {
			t.Fatal(err)
		}
		handle(t, d, event(notify.EventAcknowledged, 5, 2, t0, rules.SeverityAlarm))
		c.Set(t0.Add(time.Hour))
		if n := tick(t, d); n != 0 {
			t.Fatalf("%d deliveries attempted after the acknowledgement, want 0", n)
		}
		if got := ops.got(); len(got) != 0 {
			t.Fatalf("receiver got %+v", got)
		}
		items, _ := st.IncidentDeliveries(context.Background(), 5)
		if len(items) != 1 || items[0].State != store.DeliveryCancelled {
			t.Fatalf("outbox %+v, want one cancelled delivery", items)
		}
		if s := Summary(5, items); s != "nothing sent; 1 not sent (acknowledged first)" {
			t.Errorf("summary %q", s)
		}
	})
}

func TestSendTestEndpoint(t *testing.T) {
	st := openSQLite(t, t.TempDir())
	ok, bad := newReceiver(t), newReceiver(t, http.StatusForbidden)
	okID := mustDoc(t, st, store.NotifyEndpoint, "ok", webhook(ok.URL))
	badID := mustDoc(t, st, store.NotifyEndpoint, "bad", webhook(bad.URL))
	d := newDispatcher(t, st, &clock{t: t0}, "a")
	res, err := d.SendTestEndpoint(context.Background(), okID)
	if err != nil || !res.OK {
		t.Fatalf("test to ok: %+v %v", res, err)
	}
	if g := ok.got(); len(g) != 1 || !g[0].Test {
		t.Fatalf("receiver got %+v, want one test event", g)
	}
	res, err = d.SendTestEndpoint(context.Background(), badID)
	if err != nil || res.OK || res.Status != 403 {
		t.Fatalf("test to bad: %+v %v, want status 403", res, err)
	}
}

// An alarm from a replayed backlog (its sample an hour old) escalates
// from when it reached us: the later steps are not all due at once.
func TestBacklogEventEscalatesFromArrival(t *testing.T) {
	st := openSQLite(t, t.TempDir())
	ops, duty := newReceiver(t), newReceiver(t)
	pol := mustDoc(t, st, store.NotifyPolicy, "p", PolicySpec{Steps: []Step{
		{DelayS: 0, Endpoints: []int64{mustDoc(t, st, store.NotifyEndpoint, "ops", webhook(ops.URL))}},
		{DelayS: 180, Endpoints: []int64{mustDoc(t, st, store.NotifyEndpoint, "duty", webhook(duty.URL))}},
	}})
	mustDoc(t, st, store.NotifyRule, "all", RuleSpec{Policy: pol})
	c := &clock{t: t0}
	d := newDispatcher(t, st, c, "a")
	handle(t, d, event(notify.EventRaised, 8, 1, t0.Add(-time.Hour), rules.SeverityAlarm))
	tick(t, d)
	if len(ops.got()) != 1 || len(duty.got()) != 0 {
		t.Fatalf("at arrival ops got %d, duty %d; want 1 and 0", len(ops.got()), len(duty.got()))
	}
	c.Set(t0.Add(180 * time.Second))
	tick(t, d)
	if len(duty.got()) != 1 {
		t.Fatalf("duty got %d at arrival + 180 s, want 1", len(duty.got()))
	}
}

// An acknowledgement that comes while a page is on its way (the receiver
// holds the request): the page is recorded as sent, not cancelled, and
// the recipient it reached is told of the acknowledgement. Before, the
// stop released the page's lease, its outcome was not recorded, and the
// recipient was never informed (TestWebPushThroughDispatcher/postgresql
// failed that way when the ack overtook the page's record).
func TestAcknowledgedWhilePageInFlight(t *testing.T) {
	eachStore(t, func(t *testing.T, st Store) {
		ops := newReceiver(t)
		pageAtOnce(t, st, ops.URL)
		arrived, release := holdFirstThenAccept(ops)
		d, err := New(Config{Store: st, Node: "a", Poll: time.Hour})
		if err != nil {
			t.Fatal(err)
		}
		runDispatcher(t, d)
		handle(t, d, event(notify.EventRaised, 6, 1, time.Now(), rules.SeverityAlarm))
		<-arrived
		handle(t, d, event(notify.EventAcknowledged, 6, 2, time.Now(), rules.SeverityAlarm))
		release()
		waitUntil(t, "page and acknowledgement received", 20*time.Second, func() bool { return len(ops.got()) == 2 })
		waitUntil(t, "both recorded", 20*time.Second, func() bool {
			items, _ := st.IncidentDeliveries(context.Background(), 6)
			return len(items) == 2 && items[1].State == store.DeliverySent
		})
		items, _ := st.IncidentDeliveries(context.Background(), 6)
		if items[0].State != store.DeliverySent || !items[0].Pages {
			t.Errorf("the page that went out is %s in the trail, want sent", items[0].State)
		}
		if s := Summary(6, items); s != "webhook accepted (2xx) by 1 endpoint" {
			t.Errorf("summary %q", s)
		}
		if got := ops.events(); !slices.Equal(got, []notify.EventType{notify.EventRaised, notify.EventAcknowledged}) &&
			!slices.Equal(got, []notify.EventType{notify.EventAcknowledged, notify.EventRaised}) {
			t.Errorf("receiver got %v, want the raise and the acknowledgement", got)
		}
	})
}
