package app_test

import (
	"bytes"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/radtrack/radtrack/app"
	"github.com/radtrack/radtrack/auth"
)

// TestBenchIngestWithNotifications (issue 14: "ingest throughput with
// notifications on ≥ 95 % of without") runs the same HTTP ingest load,
// with alarms firing throughout, on a node with notifications off and on
// (a T+0 policy paging RADTRACK_BENCH_ENDPOINTS webhook endpoints on a
// local receiver), alternating for RADTRACK_BENCH_ROUNDS rounds, and
// logs each phase's samples/s and the median ratio on ÷ off. A benchmark,
// not a check: it runs only with RADTRACK_BENCH_NOTIFY=1.
// RADTRACK_BENCH_BATCHES (default 20) is each vehicle's requests of 50
// samples per phase: the default phase lasts about a second, so a
// shared machine's noise is large; 100 gives steadier ratios.
//
//	RADTRACK_BENCH_NOTIFY=1 go test -run TestBenchIngestWithNotifications -v ./app
func TestBenchIngestWithNotifications(t *testing.T) {
	if os.Getenv("RADTRACK_BENCH_NOTIFY") == "" {
		t.Skip("a benchmark: set RADTRACK_BENCH_NOTIFY=1 to run it")
	}
	rounds, endpoints := envInt("RADTRACK_BENCH_ROUNDS", 3), envInt("RADTRACK_BENCH_ENDPOINTS", 100)
	var received atomic.Int64
	recv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		received.Add(1)
		w.WriteHeader(http.StatusNoContent)
	}))
	defer recv.Close()
	var ratios []float64
	for round := range rounds {
		var rate [2]float64
		for _, on := range []bool{false, true} {
			// A subtest per phase: its node stops before the next starts.
			t.Run(fmt.Sprintf("round%d-notify-%t", round+1, on), func(t *testing.T) { rate[b2i(on)] = ingestPhase(t, on, round, endpoints, recv.URL, &received) })
		}
		ratios = append(ratios, rate[1]/rate[0])
	}
	slices.Sort(ratios)
	t.Logf("ingest with notifications on ÷ off, median of %d rounds: %.3f (rounds sorted: %.3f)", rounds, ratios[len(ratios)/2], ratios)
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

// ingestPhase runs one node with notifications on or off under the load
// and returns its samples/s.
func ingestPhase(t *testing.T, on bool, round, endpoints int, recvURL string, received *atomic.Int64) float64 {
	const devices, batch = 20, 50
	batches := envInt("RADTRACK_BENCH_BATCHES", 20) // per device; more: a longer phase
	{
		{
			n := startNodeWith(t, func(c *app.Config) { c.Notify = app.NotifyConfig{Off: !on, VAPIDFile: "off"} })
			if on {
				hooks := make([]webhookEndpoint, endpoints)
				for i := range hooks {
					hooks[i] = webhookEndpoint{recvURL, hookSecret}
				}
				pageAtOnce(t, n, hooks)
			}
			tokens := make([]string, devices)
			for d := range devices {
				tokens[d] = addDevice(t, n, fmt.Sprintf("van-%d-%t-%d", round, on, d), false)
			}
			// Each vehicle drives 1.5 km per batch; every other batch is hot
			// (2.5 µSv/h), so alarms are raised, cleared and raised again
			// at new places (new incidents) all through the phase.
			bodies := make([][]string, devices)
			start := time.Now().Add(-time.Duration(batches*batch+600) * time.Second).Truncate(time.Second)
			for d := range devices {
				for b := range batches {
					var buf bytes.Buffer
					for i := range batch {
						k := b*batch + i
						dose := 0.1
						if b%2 == 1 {
							dose = 2.5
						}
						buf.WriteString(sampleLine(start.Add(time.Duration(k)*time.Second), 4.0+0.02*float64(b)+0.0004*float64(i), 51.0+0.05*float64(d), dose))
					}
					bodies[d] = append(bodies[d], buf.String())
				}
			}
			before := received.Load()
			t0 := time.Now()
			var wg sync.WaitGroup
			for d := range devices {
				wg.Go(func() {
					for _, body := range bodies[d] {
						if code := postStatus(t, n.Addr(), tokens[d], body); code != http.StatusOK {
							t.Errorf("ingest answered %d", code)
							return
						}
					}
				})
			}
			wg.Wait()
			rate := float64(devices*batches*batch) / time.Since(t0).Seconds()
			time.Sleep(2 * time.Second) // let the pages go out before the node stops
			t.Logf("round %d notifications %-3s: %.0f samples/s; webhook requests during the phase and 2 s after: %d",
				round+1, map[bool]string{false: "off", true: "on"}[on], rate, received.Load()-before)
			return rate
		}
	}
}

// webhookEndpoint is where a webhook endpoint posts, and its secret.
type webhookEndpoint struct{ url, secret string }

// pageAtOnce has an admin set up, through the REST API, one webhook
// endpoint per hook and a rule that pages them all at T+0 for every
// incident.
func pageAtOnce(t *testing.T, n *app.Node, hooks []webhookEndpoint) {
	t.Helper()
	addUser(t, n, "ada", auth.RoleAdmin)
	admin := loginClient(t, n, "ada")
	api := "http://" + n.Addr() + "/api/v1/notify"
	ids := make([]string, len(hooks))
	for i, h := range hooks {
		ep := call(t, admin, "POST", api+"/endpoints", fmt.Sprintf(`{"name":"e%d","spec":{"kind":"webhook","url":%q,"secret":%q}}`, i, h.url, h.secret), 201)
		ids[i] = strconv.Itoa(int(ep["endpoint"].(map[string]any)["id"].(float64)))
	}
	pol := call(t, admin, "POST", api+"/policies", `{"name":"p","spec":{"steps":[{"endpoints":[`+join(ids)+`]}]}}`, 201)
	call(t, admin, "POST", api+"/rules", fmt.Sprintf(`{"name":"all","spec":{"policy":%d}}`, int64(pol["policy"].(map[string]any)["id"].(float64))), 201)
}

func envInt(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil && v > 0 {
		return v
	}
	return def
}

func join(ids []string) string {
	var b bytes.Buffer
	for i, id := range ids {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(id)
	}
	return b.String()
}
