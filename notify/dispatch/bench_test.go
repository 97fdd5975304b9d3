package dispatch

import (
	"context"
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
	key := r.Header.Get(notify.HeaderIdemKey)
	a.mu.Lock()
	a.total++
	if _, ok := a.at[key]; !ok {
		a.at[key] = now
		if len(a.at) == a.want {
			close(a.done)
		}
	}
	a.mu.Unlock()
	w.WriteHeader(http.StatusNoContent)
}

func envInt(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil && v > 0 {
		return v
	}
	return def
}

// BenchmarkAlarmStorm: incidents × subscribers (webhook endpoints on one
// local receiver), raised at once. Reports deliveries/s and the p99 from
// Handle (the alarm event) to arrival at the receiver, through the outbox
// on each store, and the same deliveries sent directly with the same
// number of workers (no outbox: the baseline of the same run).
//
//	RADTRACK_STORM_INCIDENTS=100 RADTRACK_STORM_SUBSCRIBERS=1000 \
//	go test -run '^$' -bench AlarmStorm -benchtime 1x ./notify/dispatch
func BenchmarkAlarmStorm(b *testing.B) {
	incidents, subs := envInt("RADTRACK_STORM_INCIDENTS", 100), envInt("RADTRACK_STORM_SUBSCRIBERS", 1000)
	b.Run("direct", func(b *testing.B) {
		for range b.N {
			stormDirect(b, incidents, subs)
		}
	})
	b.Run("sqlite", func(b *testing.B) {
		for range b.N {
			storm(b, openSQLite(b, b.TempDir()), incidents, subs)
		}
	})
	if os.Getenv(pgtest.EnvURL) != "" {
		b.Run("postgresql", func(b *testing.B) {
			for range b.N {
				storm(b, openPG(b, pgtest.NewDatabase(b)), incidents, subs)
			}
		})
	}
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

func storm(b *testing.B, st Store, incidents, subs int) {
	b.StopTimer()
	a, url := newArrivals(b, incidents*subs)
	ids := make([]int64, subs)
	for i := range subs {
		ids[i] = mustDoc(b, st, store.NotifyEndpoint, fmt.Sprint("sub", i), webhook(url))
	}
	mustDoc(b, st, store.NotifyRule, "all", RuleSpec{Policy: mustDoc(b, st, store.NotifyPolicy, "p", PolicySpec{Steps: []Step{{Endpoints: ids}}})})
	d, err := New(Config{Store: st, Node: "bench", Poll: 10 * time.Millisecond})
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go d.Run(ctx)
	b.StartTimer()
	start := time.Now()
	handled := map[int64]time.Time{}
	for i := range incidents {
		now := time.Now()
		handled[int64(i+1)] = now
		if err := d.Handle(ctx, event(notify.EventRaised, int64(i+1), 1, now, rules.SeverityAlarm)); err != nil {
			b.Fatal(err)
		}
	}
	b.Logf("handled %d incidents in %s", incidents, time.Since(start))
	report(b, a, start, handled, incidentOfKey)
	b.StopTimer()
}

func stormDirect(b *testing.B, incidents, subs int) {
	b.StopTimer()
	a, url := newArrivals(b, incidents*subs)
	senders := make([]notify.Sender, subs)
	for i := range subs {
		s, err := notify.NewWebhook(notify.WebhookConfig{URL: url, Secret: []byte(secret)})
		if err != nil {
			b.Fatal(err)
		}
		senders[i] = s
	}
	work := make(chan notify.Delivery, 1024)
	sender := make(chan notify.Sender, 1024)
	var wg sync.WaitGroup
	for range 16 {
		wg.Go(func() {
			for dl := range work {
				if err := (<-sender).Send(context.Background(), dl); err != nil {
					b.Error(err)
				}
			}
		})
	}
	b.StartTimer()
	start := time.Now()
	handled := map[int64]time.Time{}
	for i := range incidents {
		now := time.Now()
		handled[int64(i+1)] = now
		ev := event(notify.EventRaised, int64(i+1), 1, now, rules.SeverityAlarm)
		for j := range subs {
			sender <- senders[j]
			work <- notify.Delivery{Event: ev, Recipient: notify.Recipient{ID: "endpoint:" + strconv.Itoa(j+1)}}
		}
	}
	close(work)
	report(b, a, start, handled, incidentOfKey)
	wg.Wait()
	b.StopTimer()
}
