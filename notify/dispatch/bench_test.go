package dispatch

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/radtrack/radtrack/internal/pgtest"
	"github.com/radtrack/radtrack/notify"
	"github.com/radtrack/radtrack/rules"
	"github.com/radtrack/radtrack/store"
)

// arrivals is a webhook receiver that notes when each key first arrived.
type arrivals struct {
	mu    sync.Mutex
	at    map[string]time.Time
	total int
	done  chan struct{}
	want  int
}

func (a *arrivals) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	now := time.Now()
	keys, err := webhookKeys(r)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	a.note(now, keys...)
	w.WriteHeader(http.StatusNoContent)
}

// note records keys that arrived at now.
func (a *arrivals) note(now time.Time, keys ...string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, key := range keys {
		a.total++
		if _, ok := a.at[key]; !ok {
			a.at[key] = now
			if len(a.at) == a.want {
				close(a.done)
			}
		}
	}
}

// webhookKeys are the idempotency keys a webhook request carries: its
// header's, or each recipient's in a digest.
func webhookKeys(r *http.Request) ([]string, error) {
	if r.Header.Get(notify.HeaderEvent) != "digest" {
		return []string{r.Header.Get(notify.HeaderIdemKey)}, nil
	}
	var body struct {
		Events []struct {
			Recipients []struct {
				Key string `json:"key"`
			} `json:"recipients"`
		} `json:"events"`
	}
	if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
		return nil, err
	}
	var keys []string
	for _, e := range body.Events {
		for _, rc := range e.Recipients {
			keys = append(keys, rc.Key)
		}
	}
	return keys, nil
}

func envInt(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil && v > 0 {
		return v
	}
	return def
}

// BenchmarkAlarmStorm: incidents × subscribers (webhook endpoints on one
// local receiver that checks nothing but keys). The incidents are raised
// on a schedule spread evenly over RADTRACK_STORM_SPREAD (default 0: all
// at once), open loop: a late Handle does not delay the next raise's
// clock. Reports deliveries/s and p50/p99 from each incident's scheduled
// raise (the alarm event reaching the dispatcher) to arrival at the
// receiver, through the outbox on each store, and for the same
// deliveries sent directly (no store) by the same number of workers over
// the same HTTP pool: the baseline of the same run, first and last.
//
//	RADTRACK_STORM_INCIDENTS=100 RADTRACK_STORM_SUBSCRIBERS=1000 RADTRACK_STORM_SPREAD=30s \
//	go test -run '^$' -bench AlarmStorm -benchtime 1x ./notify/dispatch
func BenchmarkAlarmStorm(b *testing.B) {
	incidents, subs := envInt("RADTRACK_STORM_INCIDENTS", 100), envInt("RADTRACK_STORM_SUBSCRIBERS", 1000)
	spread, _ := time.ParseDuration(os.Getenv("RADTRACK_STORM_SPREAD"))
	sched := schedule{n: incidents, spread: spread}
	b.Run("direct", func(b *testing.B) {
		for range b.N {
			stormDirect(b, sched, subs)
		}
	})
	b.Run("sqlite", func(b *testing.B) {
		for range b.N {
			storm(b, openSQLite(b, b.TempDir()), sched, subs)
		}
	})
	if os.Getenv(pgtest.EnvURL) != "" {
		b.Run("postgresql", func(b *testing.B) {
			for range b.N {
				storm(b, openPG(b, pgtest.NewDatabase(b)), sched, subs)
			}
		})
	}
	// The baseline again: a shared machine's load drifts during a run.
	b.Run("direct-again", func(b *testing.B) {
		for range b.N {
			stormDirect(b, sched, subs)
		}
	})
}

// schedule raises n incidents evenly over spread.
type schedule struct {
	n      int
	spread time.Duration
}

// run calls raise(i, at) for each incident at its time (at once when
// late) and returns the scheduled times by incident id (i+1).
func (s schedule) run(start time.Time, raise func(i int, at time.Time)) map[int64]time.Time {
	at := make(map[int64]time.Time, s.n)
	for i := range s.n {
		t := start
		if s.n > 1 {
			t = start.Add(s.spread * time.Duration(i) / time.Duration(s.n-1))
		}
		time.Sleep(time.Until(t))
		at[int64(i+1)] = t
		raise(i, t)
	}
	return at
}

func newArrivals(b *testing.B, want int) (*arrivals, string) {
	a := &arrivals{at: make(map[string]time.Time, want), done: make(chan struct{}), want: want}
	srv := httptest.NewServer(a)
	srv.Config.SetKeepAlivesEnabled(true)
	b.Cleanup(srv.Close)
	return a, srv.URL
}

func report(b *testing.B, a *arrivals, start time.Time, handled map[int64]time.Time, incidentOf func(key string) int64) {
	select {
	case <-a.done:
	case <-time.After(10 * time.Minute):
		b.Fatalf("only %d of %d deliveries arrived", len(a.at), a.want)
	}
	elapsed := time.Since(start)
	a.mu.Lock()
	defer a.mu.Unlock()
	lat := make([]time.Duration, 0, len(a.at))
	for k, t := range a.at {
		lat = append(lat, t.Sub(handled[incidentOf(k)]))
	}
	slices.Sort(lat)
	b.ReportMetric(float64(len(a.at))/elapsed.Seconds(), "deliveries/s")
	b.ReportMetric(lat[len(lat)*99/100].Seconds()*1000, "p99-ms")
	b.ReportMetric(lat[len(lat)/2].Seconds()*1000, "p50-ms")
	b.ReportMetric(float64(a.total-len(a.at)), "repeats")
}

func incidentOfKey(key string) int64 {
	var id int64
	fmt.Sscanf(key, "i%d-", &id)
	return id
}

func storm(b *testing.B, st Store, sched schedule, subs int) {
	b.StopTimer()
	a, url := newArrivals(b, sched.n*subs)
	ids := make([]int64, subs)
	for i := range subs {
		ids[i] = mustDoc(b, st, store.NotifyEndpoint, fmt.Sprint("sub", i), webhook(url))
	}
	mustDoc(b, st, store.NotifyRule, "all", RuleSpec{Policy: mustDoc(b, st, store.NotifyPolicy, "p", PolicySpec{Steps: []Step{{Endpoints: ids}}})})
	d, err := New(Config{Store: st, Node: "bench"})
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	ran := make(chan struct{})
	defer func() { cancel(); <-ran }() // outcomes recorded before the store closes
	go func() { defer close(ran); _ = d.Run(ctx) }()
	for !d.running.Load() {
		time.Sleep(time.Millisecond)
	}
	b.StartTimer()
	start := time.Now()
	handled := sched.run(start, func(i int, at time.Time) {
		if err := d.Handle(ctx, event(notify.EventRaised, int64(i+1), 1, at, rules.SeverityAlarm)); err != nil {
			b.Fatal(err)
		}
	})
	b.Logf("handled %d incidents in %s", sched.n, time.Since(start))
	report(b, a, start, handled, incidentOfKey)
	b.StopTimer()
}

// stormDirect sends the same deliveries without a store: each raise puts
// its fan-out on an unbounded queue that the workers drain.
func stormDirect(b *testing.B, sched schedule, subs int) {
	b.StopTimer()
	a, url := newArrivals(b, sched.n*subs)
	d, err := New(Config{Store: openSQLite(b, b.TempDir())}) // for its defaults: workers, HTTP pool
	if err != nil {
		b.Fatal(err)
	}
	senders := make([]notify.Sender, subs)
	for i := range subs {
		if senders[i], err = d.cfg.Webhook(notify.WebhookConfig{URL: url, Secret: []byte(secret)}); err != nil {
			b.Fatal(err)
		}
	}
	type send struct {
		s  notify.Sender
		dl notify.Delivery
	}
	var (
		mu    sync.Mutex
		queue []send
		more  = sync.NewCond(&mu)
		done  bool
		wg    sync.WaitGroup
	)
	for range d.cfg.Workers {
		wg.Go(func() {
			for {
				mu.Lock()
				for len(queue) == 0 && !done {
					more.Wait()
				}
				if len(queue) == 0 {
					mu.Unlock()
					return
				}
				s := queue[0]
				queue = queue[1:]
				mu.Unlock()
				if err := s.s.Send(context.Background(), s.dl); err != nil {
					b.Error(err)
				}
			}
		})
	}
	b.StartTimer()
	start := time.Now()
	handled := sched.run(start, func(i int, at time.Time) {
		ev := event(notify.EventRaised, int64(i+1), 1, at, rules.SeverityAlarm)
		mu.Lock()
		for j := range subs {
			queue = append(queue, send{senders[j], notify.Delivery{Event: ev, Recipient: notify.Recipient{ID: "endpoint:" + strconv.Itoa(j+1)}}})
		}
		mu.Unlock()
		more.Broadcast()
	})
	report(b, a, start, handled, incidentOfKey)
	mu.Lock()
	done = true
	mu.Unlock()
	more.Broadcast()
	wg.Wait()
	b.StopTimer()
}
