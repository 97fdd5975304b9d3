package dispatch

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/radtrack/radtrack/internal/pgtest"
	"github.com/radtrack/radtrack/notify"
	"github.com/radtrack/radtrack/rules"
	"github.com/radtrack/radtrack/store"
	"github.com/radtrack/radtrack/store/pgstore"
	"github.com/radtrack/radtrack/store/sqlitestore"
)

// eachStore runs f on the embedded store and on real PostgreSQL.
func eachStore(t *testing.T, f func(t *testing.T, st Store)) {
	t.Run("sqlite", func(t *testing.T) { f(t, openSQLite(t, t.TempDir())) })
	t.Run("postgresql", func(t *testing.T) { f(t, openPG(t, pgtest.NewDatabase(t))) })
}

func openSQLite(t testing.TB, dir string) *sqlitestore.Store {
	t.Helper()
	st, err := sqlitestore.Open(context.Background(), sqlitestore.Config{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(st.Close)
	return st
}

func openPG(t testing.TB, url string) *pgstore.Store {
	t.Helper()
	st, err := pgstore.Open(context.Background(), pgstore.Config{URL: url, Timescale: pgstore.TimescaleOff})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(st.Close)
	return st
}

// clock is the dispatcher's time, moved by the test.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time  { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Set(t time.Time) { c.mu.Lock(); c.t = t; c.mu.Unlock() }

var t0 = time.Date(2026, 3, 11, 5, 46, 0, 0, time.UTC)

const secret = "0123456789abcdef-webhook-secret"

// got is one delivery a receiver accepted: a request, or one delivery
// of a digest request (Digest: its key; Recipient: whom it named).
type got struct {
	Key       string
	Event     notify.EventType
	Incident  int64
	Pages     bool
	Test      bool
	Severity  rules.Severity
	Recipient string
	Digest    string
}

// receiver is a real HTTP webhook receiver that checks every signature
// and answers with the statuses it is given (200 once they run out).
type receiver struct {
	*httptest.Server
	mu       sync.Mutex
	statuses []int
	all      []got          // every accepted delivery, repeats included
	requests int            // accepted requests (a digest is one)
	keys     map[string]int // requests per idempotency key
	badSig   int
	// intercept, when set, may answer a request itself (returns true).
	intercept func(w http.ResponseWriter) bool
}

func newReceiver(t testing.TB, statuses ...int) *receiver {
	r := &receiver{statuses: statuses, keys: map[string]int{}}
	r.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		if err := notify.VerifyWebhook(req.Header, body, time.Now(), 5*time.Minute, []byte(secret)); err != nil {
			r.mu.Lock()
			r.badSig++
			r.mu.Unlock()
			http.Error(w, err.Error(), http.StatusUnauthorized)
			return
		}
		r.mu.Lock()
		intercept := r.intercept
		r.mu.Unlock()
		if intercept != nil && intercept(w) {
			return
		}
		// One event (the envelope), or a digest: several events, each
		// with the recipients and keys it is for.
		type incident struct {
			ID       int64          `json:"id"`
			Severity rules.Severity `json:"severity"`
		}
		var env struct {
			Key      string           `json:"key"`
			Event    notify.EventType `json:"event"`
			Pages    bool             `json:"pages"`
			Test     bool             `json:"test"`
			Incident incident         `json:"incident"`
			Digest   bool             `json:"digest"`
			Events   []struct {
				Event      notify.EventType `json:"event"`
				Pages      bool             `json:"pages"`
				Test       bool             `json:"test"`
				Incident   incident         `json:"incident"`
				Recipients []struct {
					ID  string `json:"id"`
					Key string `json:"key"`
				} `json:"recipients"`
			} `json:"events"`
		}
		if err := json.Unmarshal(body, &env); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		var gots []got
		if env.Digest {
			for _, e := range env.Events {
				for _, rc := range e.Recipients {
					gots = append(gots, got{Key: rc.Key, Event: e.Event, Incident: e.Incident.ID, Pages: e.Pages, Test: e.Test,
						Recipient: rc.ID, Severity: e.Incident.Severity, Digest: env.Key})
				}
			}
		} else {
			gots = append(gots, got{Key: env.Key, Event: env.Event, Incident: env.Incident.ID, Pages: env.Pages, Test: env.Test,
				Severity: env.Incident.Severity})
		}
		r.mu.Lock()
		status := http.StatusOK
		if len(r.statuses) > 0 {
			status, r.statuses = r.statuses[0], r.statuses[1:]
		}
		if status == http.StatusOK {
			r.requests++
			for _, g := range gots {
				r.all = append(r.all, g)
				r.keys[g.Key]++
			}
		}
		r.mu.Unlock()
		w.WriteHeader(status)
	}))
	t.Cleanup(r.Close)
	return r
}

func (r *receiver) got() []got {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]got(nil), r.all...)
}

func (r *receiver) events() []notify.EventType {
	var out []notify.EventType
	for _, g := range r.got() {
		out = append(out, g.Event)
	}
	return out
}

func mustDoc(t testing.TB, st Store, kind, name string, spec any) int64 {
	t.Helper()
	raw, err := json.Marshal(spec)
	if err != nil {
		t.Fatal(err)
	}
	d, err := st.CreateNotifyDoc(context.Background(), store.NotifyDoc{Kind: kind, Name: name, Spec: raw})
	if err != nil {
		t.Fatal(err)
	}
	return d.ID
}

// pageAtOnce routes every incident to one webhook endpoint at url, at
// T+0 (policy "p", endpoint "ops", rule "all").
func pageAtOnce(t testing.TB, st Store, url string) {
	t.Helper()
	pol := mustDoc(t, st, store.NotifyPolicy, "p", PolicySpec{Steps: []Step{{Endpoints: []int64{
		mustDoc(t, st, store.NotifyEndpoint, "ops", webhook(url))}}}})
	mustDoc(t, st, store.NotifyRule, "all", RuleSpec{Policy: pol})
}

func webhook(url string) EndpointSpec {
	return EndpointSpec{Kind: KindWebhook, URL: url, Secret: secret}
}

func newDispatcher(t testing.TB, st Store, c *clock, node string) *Dispatcher {
	t.Helper()
	d, err := New(Config{Store: st, Node: node, Now: c.Now, Backoff: time.Second, MaxBackoff: time.Minute, MaxAttempts: 4})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close(context.Background()) })
	return d
}

func event(typ notify.EventType, id, version int64, at time.Time, sev rules.Severity) notify.Event {
	state := rules.StateRaised
	switch typ {
	case notify.EventAcknowledged:
		state = rules.StateAcknowledged
	case notify.EventResolved:
		state = rules.StateResolved
	}
	return notify.Event{Type: typ, Time: at, Incident: notify.Incident{
		ID: id, Version: version, State: state, Severity: sev, Title: fmt.Sprintf("incident %d", id),
		Rules: []string{"IAEA OIL3"}, Vehicles: []notify.Vehicle{{ID: 7, UID: "bgeigie-5002", Name: "Patrol 7", Group: "North"}},
		FirstSeen: t0, LastSeen: at, Peak: notify.Peak{Time: t0},
	}}
}

func tick(t testing.TB, d *Dispatcher) int {
	t.Helper()
	n, err := d.Tick(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func handle(t testing.TB, d *Dispatcher, ev notify.Event) {
	t.Helper()
	if err := d.Handle(context.Background(), ev); err != nil {
		t.Fatal(err)
	}
}

// pageKeys are the idempotency keys of incident's pages in an outbox
// item: its own, or those of a stored digest's pages of the incident.
func pageKeys(t *testing.T, it store.OutboxItem, incident int64) []string {
	t.Helper()
	pages, err := incidentPages(it, incident)
	if err != nil {
		t.Fatal(err)
	}
	var keys []string
	for _, dl := range pages {
		keys = append(keys, dl.Key())
	}
	return keys
}
