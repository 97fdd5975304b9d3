package sim

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/radtrack/radtrack/sample"
)

// recorded is one request an httptest server saw.
type recorded struct {
	method, path, auth, contentType, query string
	body                                   string
	at                                     time.Time
}

// recorder answers requests with the scripted statuses in turn (the last
// one repeats) and records them.
type recorder struct {
	mu       sync.Mutex
	reqs     []recorded
	statuses []int
	headers  map[int]http.Header // extra headers per status
	bodies   map[int]string
}

func (rec *recorder) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	rec.mu.Lock()
	n := len(rec.reqs)
	rec.reqs = append(rec.reqs, recorded{r.Method, r.URL.Path, r.Header.Get("Authorization"), r.Header.Get("Content-Type"), r.URL.RawQuery, string(b), time.Now()})
	status := rec.statuses[min(n, len(rec.statuses)-1)]
	rec.mu.Unlock()
	for k, v := range rec.headers[status] {
		w.Header()[k] = v
	}
	w.WriteHeader(status)
	if body, ok := rec.bodies[status]; ok {
		io.WriteString(w, body)
	} else if status == http.StatusOK && r.URL.Path == "/api/v1/measurements" {
		lines := strings.Count(string(b), "\n")
		json.NewEncoder(w).Encode(map[string]any{"accepted": lines, "rejected": []any{}})
	}
}

func (rec *recorder) requests() []recorded {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	return append([]recorded(nil), rec.reqs...)
}

func patrolSamples(t *testing.T, n int, interval time.Duration) []sample.Sample {
	t.Helper()
	fleet, err := NewFleet(DefaultLayout(), FleetConfig{Vehicles: 1, Seed: 1, Interval: interval})
	if err != nil {
		t.Fatal(err)
	}
	var out []sample.Sample
	for range n {
		out = append(out, fleet.Patrols[0].Report(epoch.Add(fleet.Patrols[0].Next())))
	}
	return out
}

func TestHTTPSenderRetriesThenNeverResends(t *testing.T) {
	rec := &recorder{
		statuses: []int{http.StatusServiceUnavailable, http.StatusOK},
		headers:  map[int]http.Header{http.StatusServiceUnavailable: {"Retry-After": {"1"}}},
	}
	srv := httptest.NewServer(rec)
	defer srv.Close()
	h := &HTTPSender{URL: srv.URL, Tokens: map[string]string{"sim-001": "tok-1"}, Retry: Retry{Base: time.Millisecond}}
	samples := patrolSamples(t, 5, 2*time.Second)
	if err := h.Send(context.Background(), "sim-001", samples); err != nil {
		t.Fatal(err)
	}
	reqs := rec.requests()
	if len(reqs) != 2 {
		t.Fatalf("%d requests, want 503 then 200", len(reqs))
	}
	if gap := reqs[1].at.Sub(reqs[0].at); gap < time.Second {
		t.Errorf("retried after %v, before the Retry-After of 1 s", gap)
	}
	if reqs[0].body != reqs[1].body || h.Retries() != 1 {
		t.Errorf("the retry must resend the same batch once (retries %d)", h.Retries())
	}
	r := reqs[1]
	if r.method != http.MethodPost || r.path != "/api/v1/measurements" || r.auth != "Bearer tok-1" || r.contentType != "application/x-ndjson" {
		t.Errorf("request %+v", r)
	}
	lines := strings.Split(strings.TrimSuffix(r.body, "\n"), "\n")
	if len(lines) != len(samples) {
		t.Fatalf("%d NDJSON lines for %d samples", len(lines), len(samples))
	}
	for i, line := range lines {
		var w map[string]any
		if err := json.Unmarshal([]byte(line), &w); err != nil {
			t.Fatalf("line %d %q: %v", i, line, err)
		}
		// The dose sample.FillDose derived: from the minute's CPM while the
		// 2-s counts agree with it, else from the counts (× 60/2 s / 334).
		want := samples[i].CPM / DefaultCPMPerUSvH
		if !sample.SteadyWithCPM(samples[i].Counts, samples[i].CPM, 2) {
			want = samples[i].Counts * 30 / DefaultCPMPerUSvH
		}
		if w["counts"] != samples[i].Counts || w["count_interval"] != 2.0 || w["dose_rate"] != want ||
			w["time"] != samples[i].Time.Format("2006-01-02T15:04:05.000Z") || w["lat"] == nil || w["speed"] == nil {
			t.Errorf("line %d: %s", i, line)
		}
	}

	// A second batch is one request: the first is never sent again.
	if err := h.Send(context.Background(), "sim-001", samples[:2]); err != nil {
		t.Fatal(err)
	}
	if reqs := rec.requests(); len(reqs) != 3 || strings.Count(reqs[2].body, "\n") != 2 {
		t.Errorf("after a 200: %d requests, want 3 (no resend)", len(reqs))
	}
}

func TestHTTPSenderFailures(t *testing.T) {
	samples := patrolSamples(t, 3, 2*time.Second)
	t.Run("401 is final", func(t *testing.T) {
		rec := &recorder{statuses: []int{http.StatusUnauthorized}, bodies: map[int]string{401: `{"error":"unknown token"}`}}
		srv := httptest.NewServer(rec)
		defer srv.Close()
		h := &HTTPSender{URL: srv.URL, Tokens: map[string]string{"v": "t"}, Retry: Retry{Base: time.Millisecond}}
		err := h.Send(context.Background(), "v", samples)
		var se *SendError
		if !errors.As(err, &se) || se.Failed != 3 || !strings.Contains(err.Error(), "unknown token") || len(rec.requests()) != 1 {
			t.Errorf("err %v after %d requests", err, len(rec.requests()))
		}
	})
	t.Run("partial rejection", func(t *testing.T) {
		rec := &recorder{statuses: []int{http.StatusOK}, bodies: map[int]string{200: `{"accepted":2,"rejected":[{"index":1,"field":"lat","error":"out of range"}]}`}}
		srv := httptest.NewServer(rec)
		defer srv.Close()
		h := &HTTPSender{URL: srv.URL, Tokens: map[string]string{"v": "t"}}
		var se *SendError
		if err := h.Send(context.Background(), "v", samples); !errors.As(err, &se) || se.Acked != 2 || se.Failed != 1 {
			t.Errorf("err %v", err)
		}
	})
	t.Run("429 retries run out", func(t *testing.T) {
		rec := &recorder{statuses: []int{http.StatusTooManyRequests}, headers: map[int]http.Header{429: {"Retry-After": {"0"}}}}
		srv := httptest.NewServer(rec)
		defer srv.Close()
		h := &HTTPSender{URL: srv.URL, Tokens: map[string]string{"v": "t"}, Retry: Retry{Attempts: 3, Base: time.Millisecond}}
		if err := h.Send(context.Background(), "v", samples); err == nil || len(rec.requests()) != 3 {
			t.Errorf("err %v after %d requests, want 3 attempts", err, len(rec.requests()))
		}
	})
	t.Run("connection error is retried", func(t *testing.T) {
		rec := &recorder{statuses: []int{http.StatusOK}}
		srv := httptest.NewServer(rec)
		defer srv.Close()
		flaky := &flakyTransport{fail: 2, next: http.DefaultTransport}
		h := &HTTPSender{URL: srv.URL, Tokens: map[string]string{"v": "t"}, Client: &http.Client{Transport: flaky}, Retry: Retry{Base: time.Millisecond}}
		if err := h.Send(context.Background(), "v", samples); err != nil || len(rec.requests()) != 1 || h.Retries() != 2 {
			t.Errorf("err %v, %d requests reached the server, %d retries", err, len(rec.requests()), h.Retries())
		}
	})
}

// flakyTransport fails its first requests as a dropped connection would.
type flakyTransport struct {
	mu   sync.Mutex
	fail int
	next http.RoundTripper
}

func (f *flakyTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	f.mu.Lock()
	fail := f.fail > 0
	f.fail--
	f.mu.Unlock()
	if fail {
		return nil, errors.New("connection reset by peer")
	}
	return f.next.RoundTrip(r)
}
