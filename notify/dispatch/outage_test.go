package dispatch

import (
	"context"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/radtrack/radtrack/internal/faultproxy"
	"github.com/radtrack/radtrack/internal/pgtest"
	"github.com/radtrack/radtrack/notify"
	"github.com/radtrack/radtrack/rules"
	"github.com/radtrack/radtrack/store"
	"github.com/radtrack/radtrack/store/pgstore"
)

// pgBehindProxy opens a fresh database through a fault proxy.
func pgBehindProxy(t *testing.T) (*pgstore.Store, *faultproxy.Proxy) {
	t.Helper()
	u, err := url.Parse(pgtest.NewDatabase(t))
	if err != nil {
		t.Fatal(err)
	}
	proxy := faultproxy.Start(t, u.Host)
	u.Host = proxy.Addr()
	q := u.Query()
	q.Set("connect_timeout", "2")
	u.RawQuery = q.Encode()
	return openPG(t, u.String()), proxy
}

// The database goes away; an alarm raised meanwhile (journaled, no
// incident yet) is paged from memory with the routing configuration read
// before the outage. A receiver that failed then gets its page from the
// outbox once the database is back, when the alarm's incident is raised;
// the one already paged is not paged again, and the outbox records its
// delivery as sent, saying how.
func TestPageFromMemoryDuringDatabaseOutage(t *testing.T) {
	st, proxy := pgBehindProxy(t)
	ops, sms := newReceiver(t), newReceiver(t, http.StatusServiceUnavailable, http.StatusServiceUnavailable)
	opsID := mustDoc(t, st, store.NotifyEndpoint, "ops", webhook(ops.URL))
	smsID := mustDoc(t, st, store.NotifyEndpoint, "sms", webhook(sms.URL))
	pol := mustDoc(t, st, store.NotifyPolicy, "p", PolicySpec{Steps: []Step{{Endpoints: []int64{opsID, smsID}}}})
	mustDoc(t, st, store.NotifyRule, "all", RuleSpec{Policy: pol})
	d, err := New(Config{Store: st, Node: "a", Poll: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	ran := make(chan struct{})
	go func() { defer close(ran); _ = d.Run(ctx) }()
	defer func() { cancel(); <-ran }()
	waitUntil(t, "routing configuration read", 10*time.Second, func() bool { return d.last.Load() != nil })

	proxy.Down()
	provisional := event(notify.EventRaised, 4503599627370001, 1, time.Now(), rules.SeverityAlarm)
	hctx, hcancel := context.WithTimeout(ctx, 5*time.Second)
	err = d.Handle(hctx, provisional)
	hcancel()
	if err == nil {
		t.Fatal("Handle stored an event with the database down (is the proxy down?)")
	}
	paged, err := d.PageFromMemory(ctx, provisional, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(paged.Recipients, []string{"endpoint:" + itoa(opsID)}) || paged.Failed["endpoint:"+itoa(smsID)] == nil {
		t.Fatalf("paged from memory %+v, want ops reached and sms failed", paged)
	}
	if got := ops.got(); len(got) != 1 || got[0].Event != notify.EventRaised {
		t.Fatalf("ops got %+v during the outage, want one page", got)
	}

	proxy.Up()
	// The alarm is stored and its incident raised: the caller tells the
	// dispatcher who was paged already.
	d.MarkPaged(7, paged.Recipients)
	waitUntil(t, "the raise handled with the database back", 20*time.Second, func() bool {
		hctx, hcancel := context.WithTimeout(ctx, 5*time.Second)
		defer hcancel()
		return d.Handle(hctx, event(notify.EventRaised, 7, 2, time.Now(), rules.SeverityAlarm)) == nil
	})
	waitUntil(t, "sms paged from the outbox", 20*time.Second, func() bool { return len(sms.got()) == 1 })
	waitUntil(t, "both deliveries recorded as sent", 20*time.Second, func() bool {
		items, _ := st.IncidentDeliveries(context.Background(), 7)
		return len(items) == 2 && items[0].State == store.DeliverySent && items[1].State == store.DeliverySent
	})
	time.Sleep(300 * time.Millisecond) // a repeat would arrive now
	if got := ops.got(); len(got) != 1 {
		t.Errorf("ops got %+v, want the outage page only", got)
	}
	attempts, _ := st.IncidentAttempts(context.Background(), 7)
	notes := map[string]string{}
	for _, a := range attempts {
		if a.OK {
			notes[a.Recipient] = a.Error
		}
	}
	if notes["endpoint:"+itoa(opsID)] != outageNote || notes["endpoint:"+itoa(smsID)] != "" {
		t.Errorf("successful attempts %+v: want ops recorded as paged during the outage, sms as sent now", notes)
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
