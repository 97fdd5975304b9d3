package app_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/radtrack/radtrack/app"
	"github.com/radtrack/radtrack/notify"
)

// TestBenchAlarmToPage is issue 14's storm latency end to end: from the
// acknowledgement of the ingest request that holds a vehicle's first hot
// samples to the arrival of each page of the incident they raised. A
// node on PostgreSQL pages RADTRACK_BENCH_ENDPOINTS webhook endpoints
// (default 300) spread over 10 gateways (each its own path and secret;
// every signature is checked) at T+0; RADTRACK_BENCH_VEHICLES vehicles
// (default 100, each far from the others: an incident each) turn hot one
// after another over RADTRACK_BENCH_SPREAD (default 100s; 0: all at
// once). It logs deliveries/s and p50/p99 of the latency, and fails if a
// page is missing. A benchmark, not a check: it runs only with
// RADTRACK_BENCH_PAGE=1.
//
//	RADTRACK_BENCH_PAGE=1 go test -run TestBenchAlarmToPage -v ./app
func TestBenchAlarmToPage(t *testing.T) {
	if os.Getenv("RADTRACK_BENCH_PAGE") == "" {
		t.Skip("a benchmark: set RADTRACK_BENCH_PAGE=1 to run it")
	}
	vehicles, endpoints := envInt("RADTRACK_BENCH_VEHICLES", 100), envInt("RADTRACK_BENCH_ENDPOINTS", 300)
	spread := 100 * time.Second
	if v := os.Getenv("RADTRACK_BENCH_SPREAD"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil {
			t.Fatalf("RADTRACK_BENCH_SPREAD: %v", err)
		}
		spread = d
	}
	const gateways = 10
	pages := newPageClock(gateways)
	recv := httptest.NewServer(pages)
	defer recv.Close()

	n := startNodeWith(t, func(c *app.Config) { c.Notify = app.NotifyConfig{VAPIDFile: "off"} })
	hooks := make([]webhookEndpoint, endpoints)
	for i := range hooks {
		g := i % gateways
		hooks[i] = webhookEndpoint{fmt.Sprintf("%s/gw%d", recv.URL, g), gatewaySecret(g)}
	}
	pageAtOnce(t, n, hooks)

	// Every vehicle reports normally first, then turns hot on schedule:
	// ten samples at 2.5 µSv/h in one request, the time of its ack noted.
	tokens := make([]string, vehicles)
	for v := range vehicles {
		tokens[v] = addDevice(t, n, vehicleUID(v), false)
		if code := postStatus(t, n.Addr(), tokens[v], samples(time.Now().Add(-time.Minute), v, 10, 0.1)); code != http.StatusOK {
			t.Fatalf("ingest answered %d", code)
		}
	}
	acked := make([]time.Time, vehicles)
	start := time.Now()
	var wg sync.WaitGroup
	for v := range vehicles {
		at := start
		if vehicles > 1 {
			at = start.Add(spread * time.Duration(v) / time.Duration(vehicles-1))
		}
		time.Sleep(time.Until(at))
		wg.Go(func() {
			if code := postStatus(t, n.Addr(), tokens[v], samples(time.Now().Add(-9*time.Second), v, 10, 2.5)); code != http.StatusOK {
				t.Errorf("ingest answered %d", code)
			}
			acked[v] = time.Now()
		})
	}
	wg.Wait()
	want := vehicles * endpoints
	deadline := time.Now().Add(2*time.Minute + spread)
	for pages.count() < want && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	lat, last, bad := pages.latencies(acked)
	if bad > 0 {
		t.Errorf("%d requests with a bad signature", bad)
	}
	if len(lat) < want {
		t.Errorf("%d of %d pages arrived", len(lat), want)
	}
	if len(lat) == 0 {
		t.FailNow()
	}
	if slow := pages.slowest(acked, 3); len(slow) > 0 {
		t.Logf("slowest incidents (vehicle: its last page after the ack): %s", strings.Join(slow, ", "))
	}
	slices.Sort(lat)
	q := func(f float64) time.Duration { return lat[int(f*float64(len(lat)-1))].Round(time.Millisecond) }
	t.Logf("%d incidents x %d endpoints over %s: %d pages in %d requests, %.0f deliveries/s; hot sample's ack -> page min %s p50 %s p90 %s p99 %s max %s",
		vehicles, endpoints, spread, len(lat), pages.requestCount(), float64(len(lat))/last.Sub(start).Seconds(),
		q(0), q(0.5), q(0.9), q(0.99), q(1))
}

func vehicleUID(v int) string { return fmt.Sprintf("storm-van-%d", v) }

func gatewaySecret(g int) string { return fmt.Sprintf("%s-gateway-%d", hookSecret, g) }

// samples is one request of k samples of vehicle v from from on, one a
// second; vehicles are 0.05° (5.5 km) apart, so each raises its own
// incident.
func samples(from time.Time, v, k int, dose float64) string {
	var b strings.Builder
	for i := range k {
		b.WriteString(sampleLine(from.Add(time.Duration(i)*time.Second), 4.0+0.0004*float64(i), 45.0+0.05*float64(v), dose))
	}
	return b.String()
}

// pageClock is the gateways' receiver: it checks each request's
// signature with its gateway's secret and notes when each page (a
// request, or one recipient of a digest) of each vehicle's incident
// arrived.
type pageClock struct {
	mu       sync.Mutex
	secrets  map[string][]byte
	arrived  map[string][]time.Time // by vehicle UID
	pages    int
	requests int
	bad      int
}

func newPageClock(gateways int) *pageClock {
	p := &pageClock{secrets: map[string][]byte{}, arrived: map[string][]time.Time{}}
	for g := range gateways {
		p.secrets[fmt.Sprintf("/gw%d", g)] = []byte(gatewaySecret(g))
	}
	return p
}

// pagedIncident is what the receiver reads of an event: the incident's
// vehicles, and (in a digest) the recipients it is for.
type pagedIncident struct {
	Incident struct {
		Vehicles []notify.Vehicle `json:"vehicles"`
	} `json:"incident"`
	Recipients []json.RawMessage `json:"recipients"`
}

func (p *pageClock) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	now := time.Now()
	body, _ := io.ReadAll(r.Body)
	secret, ok := p.secrets[r.URL.Path]
	if !ok || notify.VerifyWebhook(r.Header, body, now, 5*time.Minute, secret) != nil {
		p.mu.Lock()
		p.bad++
		p.mu.Unlock()
		http.Error(w, "bad signature", http.StatusUnauthorized)
		return
	}
	var msg struct {
		pagedIncident
		Digest bool            `json:"digest"`
		Events []pagedIncident `json:"events"`
	}
	if err := json.Unmarshal(body, &msg); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	if !msg.Digest {
		msg.Events, msg.pagedIncident.Recipients = []pagedIncident{msg.pagedIncident}, []json.RawMessage{nil}
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.requests++
	for _, e := range msg.Events {
		if len(e.Incident.Vehicles) == 0 {
			continue
		}
		uid := e.Incident.Vehicles[0].UID
		for range e.Recipients {
			p.arrived[uid] = append(p.arrived[uid], now)
			p.pages++
		}
	}
	w.WriteHeader(http.StatusNoContent)
}

func (p *pageClock) count() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.pages
}

func (p *pageClock) requestCount() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.requests
}

// latencies are each page's arrival after its vehicle's hot ack; last is
// the last arrival.
func (p *pageClock) latencies(acked []time.Time) (lat []time.Duration, last time.Time, bad int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for v, at := range acked {
		for _, a := range p.arrived[vehicleUID(v)] {
			lat = append(lat, a.Sub(at))
			if a.After(last) {
				last = a
			}
		}
	}
	return lat, last, p.bad
}

// slowest names the k vehicles whose incidents' last pages came latest
// after their acks.
func (p *pageClock) slowest(acked []time.Time, k int) []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	type slow struct {
		v   int
		lag time.Duration
	}
	var all []slow
	for v, at := range acked {
		if arr := p.arrived[vehicleUID(v)]; len(arr) > 0 {
			all = append(all, slow{v, slices.MaxFunc(arr, time.Time.Compare).Sub(at)})
		}
	}
	slices.SortFunc(all, func(a, b slow) int { return int(b.lag - a.lag) })
	var out []string
	for _, s := range all[:min(k, len(all))] {
		out = append(out, fmt.Sprintf("%d: %s", s.v, s.lag.Round(time.Millisecond)))
	}
	return out
}
