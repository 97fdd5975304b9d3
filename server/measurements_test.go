package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/radtrack/radtrack/alarms"
	"github.com/radtrack/radtrack/geo"
	"github.com/radtrack/radtrack/incidents"
	"github.com/radtrack/radtrack/ingest"
	"github.com/radtrack/radtrack/internal/pgtest"
	"github.com/radtrack/radtrack/metrics"
	"github.com/radtrack/radtrack/server"
	"github.com/radtrack/radtrack/store"
	"github.com/radtrack/radtrack/store/pgstore"
	"github.com/radtrack/radtrack/store/storetest"
)

// deviceCacheTTL is short so the revocation-by-expiry test stays quick.
const deviceCacheTTL = 300 * time.Millisecond

type harness struct {
	url      string
	store    *pgstore.Store
	metrics  *metrics.Metrics
	writer   *ingest.Writer
	dev      store.Device
	token    string
	alarms   *alarms.Service
	pipeline *ingest.Pipeline
}

// testConfig is the production configuration without the login rate
// limit: tests log in many users from one address.
func testConfig() server.Config {
	c := server.DefaultConfig()
	c.LoginsPerMinute = 0
	return c
}

func newHarness(t *testing.T, wcfg ingest.WriterConfig, scfg server.Config, limits ...*ingest.Limits) *harness {
	t.Helper()
	scfg.BcryptCost = bcrypt.MinCost // tests log in often; production keeps the slow default
	st, err := pgstore.Open(context.Background(), pgstore.Config{URL: pgtest.NewDatabase(t)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(st.Close)
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	m := metrics.New()
	inc := incidents.New(st, incidents.Config{}, log)
	svc, err := alarms.New(context.Background(), st, alarms.Options{Geo: geo.DefaultConfig(), Publisher: inc}, log)
	if err != nil {
		t.Fatal(err)
	}
	inc.SetActor(svc)
	w := ingest.NewWriter(st, wcfg, m, log)
	t.Cleanup(func() { _ = w.Close(context.Background()) })
	pipeline := ingest.NewPipeline(w, m, svc)
	ts := httptest.NewServer(server.New(scfg, server.Deps{
		Store: st, Pipeline: pipeline, Devices: ingest.NewDevices(st, deviceCacheTTL),
		Alarms: svc, Incidents: inc, Limits: firstOrNil(limits), Metrics: m, Log: log,
	}))
	t.Cleanup(ts.Close)
	dev, token := storetest.NewDevice(t, st, "veh-http")
	return &harness{url: ts.URL, store: st, metrics: m, writer: w, dev: dev, token: token, alarms: svc, pipeline: pipeline}
}

func (h *harness) post(t *testing.T, token, contentType string, body []byte) (*http.Response, []byte) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, h.url+"/api/v1/measurements", bytes.NewReader(body))
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, b
}

func (h *harness) count(t *testing.T) int {
	t.Helper()
	var n int
	if err := h.store.Pool().QueryRow(context.Background(), "SELECT count(*) FROM measurements").Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func sampleJSON(i int, t0 time.Time) string {
	return fmt.Sprintf(`{"time":%q,"lat":%.6f,"lon":%.6f,"speed":8.3,"dose_rate":%.3f,"counts":%d,"count_interval":5}`,
		t0.Add(time.Duration(i)*time.Second).Format(time.RFC3339), 51.9+float64(i)*1e-5, 4.1+float64(i)*1e-5, 0.08+float64(i%7)*0.01, 3+i%4)
}

func TestTenThousandSamplesStoredExactlyOnceAfterRetries(t *testing.T) {
	h := newHarness(t, ingest.DefaultWriterConfig(), testConfig())
	t0 := time.Now().UTC().Add(-3 * time.Hour).Truncate(time.Second)
	const batches, perBatch = 100, 100
	bodies := make([][]byte, batches)
	for b := range bodies {
		var buf bytes.Buffer
		for i := range perBatch {
			buf.WriteString(sampleJSON(b*perBatch+i, t0))
			buf.WriteByte('\n')
		}
		bodies[b] = buf.Bytes()
	}
	// Every batch is sent twice, concurrently across 8 clients, so retries
	// meet originals both in different commits and inside one commit.
	var wg sync.WaitGroup
	errs := make(chan string, 2*batches)
	jobs := make(chan []byte)
	for range 8 {
		wg.Go(func() {
			for body := range jobs {
				resp, b := h.post(t, h.token, "application/x-ndjson", body)
				var res ingest.Result
				_ = json.Unmarshal(b, &res)
				if resp.StatusCode != http.StatusOK || res.Accepted != perBatch || len(res.Rejected) != 0 {
					errs <- fmt.Sprintf("status %d body %s", resp.StatusCode, b)
				}
			}
		})
	}
	for round := range 2 {
		for b := range bodies {
			jobs <- bodies[(b+round*37)%batches]
		}
	}
	close(jobs)
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Fatal(e)
	}
	if n := h.count(t); n != batches*perBatch {
		t.Fatalf("table has %d rows, want %d (every sample exactly once)", n, batches*perBatch)
	}
	var distinct int
	_ = h.store.Pool().QueryRow(context.Background(), "SELECT count(DISTINCT time) FROM measurements WHERE device_id=$1", h.dev.ID).Scan(&distinct)
	if distinct != batches*perBatch {
		t.Fatalf("%d distinct times, want %d", distinct, batches*perBatch)
	}
}

func TestInvalidSampleReportedByIndexOthersStored(t *testing.T) {
	h := newHarness(t, ingest.DefaultWriterConfig(), testConfig())
	t0 := time.Now().UTC().Add(-time.Hour).Truncate(time.Second)
	body := "[" + strings.Join([]string{
		sampleJSON(0, t0),
		`{"time":"` + t0.Add(time.Second).Format(time.RFC3339) + `","lat":95.0,"lon":4.1,"dose_rate":0.1}`, // lat out of range
		sampleJSON(2, t0),
		`{"time":"` + t0.Add(3*time.Second).Format(time.RFC3339) + `","lat":51.9,"lon":4.1,"dose_rate":-1}`, // negative dose
		`{"time":"` + t0.Add(4*time.Second).Format(time.RFC3339) + `","lat":"north","lon":4.1}`,             // wrong type
		`{"time":"` + time.Now().Add(24*time.Hour).UTC().Format(time.RFC3339) + `","lat":51.9,"lon":4.1}`,   // future
		`{"time":"` + t0.Add(6*time.Second).Format(time.RFC3339) + `","lat":51.9,"lon":4.1,"dose":0.1}`,     // unknown field
		sampleJSON(7, t0),
	}, ",") + "]"
	resp, b := h.post(t, h.token, "application/json", []byte(body))
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d: %s", resp.StatusCode, b)
	}
	var res ingest.Result
	if err := json.Unmarshal(b, &res); err != nil {
		t.Fatal(err)
	}
	wantFields := map[int]string{1: "lat", 3: "dose_rate", 4: "lat", 5: "time", 6: "dose"}
	if res.Accepted != 3 || len(res.Rejected) != len(wantFields) {
		t.Fatalf("result %s: want 3 accepted, %d rejected", b, len(wantFields))
	}
	for _, r := range res.Rejected {
		if wantFields[r.Index] != r.Field || r.Error == "" {
			t.Errorf("rejection %+v: want field %q at index %d", r, wantFields[r.Index], r.Index)
		}
	}
	if n := h.count(t); n != 3 {
		t.Fatalf("stored %d rows, want 3", n)
	}
	// All samples invalid: 422 and nothing stored.
	resp, b = h.post(t, h.token, "application/json", []byte(`[{"time":"`+t0.Format(time.RFC3339)+`","lat":91,"lon":0}]`))
	if resp.StatusCode != http.StatusUnprocessableEntity {
		t.Fatalf("all invalid: status %d %s, want 422", resp.StatusCode, b)
	}
}

func TestRefusedRequestsStoreNothing(t *testing.T) {
	scfg := testConfig()
	scfg.MaxBodyBytes = 2048
	wcfg := ingest.DefaultWriterConfig()
	wcfg.QueueLimit = 5
	h := newHarness(t, wcfg, scfg)
	t0 := time.Now().UTC().Add(-time.Hour).Truncate(time.Second)
	one := []byte("[" + sampleJSON(0, t0) + "]")
	six := []byte("[" + strings.Join([]string{sampleJSON(1, t0), sampleJSON(2, t0), sampleJSON(3, t0), sampleJSON(4, t0), sampleJSON(5, t0), sampleJSON(6, t0)}, ",") + "]")

	cases := []struct {
		name, token, ctype string
		body               []byte
		status             int
		field              string
	}{
		{"no token", "", "application/json", one, http.StatusUnauthorized, "Authorization"},
		{"unknown token", "rtd_nope", "application/json", one, http.StatusUnauthorized, "Authorization"},
		{"malformed json", h.token, "application/json", []byte(`[{"time":"2026-01-01T00:00:00Z","lat":1,` + "\n" + `"lon":}]`), http.StatusBadRequest, "body"},
		{"malformed ndjson line", h.token, "application/x-ndjson", []byte(sampleJSON(0, t0) + "\n{\"lat\":\n"), http.StatusBadRequest, "body"},
		{"wrong content type", h.token, "text/csv", one, http.StatusUnsupportedMediaType, "Content-Type"},
		{"text/plain", h.token, "text/plain", one, http.StatusUnsupportedMediaType, "Content-Type"},
		{"no content type", h.token, "", one, http.StatusUnsupportedMediaType, "Content-Type"},
		{"too large", h.token, "application/json", bytes.Repeat([]byte(" "), 4096), http.StatusRequestEntityTooLarge, "body"},
		{"queue full", h.token, "application/json", six, http.StatusServiceUnavailable, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			resp, b := h.post(t, c.token, c.ctype, c.body)
			if resp.StatusCode != c.status {
				t.Fatalf("status %d (%s), want %d", resp.StatusCode, b, c.status)
			}
			var e struct {
				Error string `json:"error"`
				Field string `json:"field"`
				Line  int    `json:"line"`
			}
			if err := json.Unmarshal(b, &e); err != nil || e.Error == "" || e.Field != c.field {
				t.Fatalf("body %s: want JSON error naming field %q", b, c.field)
			}
			if c.status == http.StatusServiceUnavailable && resp.Header.Get("Retry-After") == "" {
				t.Fatal("503 without Retry-After")
			}
			if c.name == "malformed json" && e.Line != 2 {
				t.Fatalf("malformed JSON reported at line %d, want 2", e.Line)
			}
			if c.name == "malformed ndjson line" && e.Line != 2 {
				t.Fatalf("malformed NDJSON reported at line %d, want 2", e.Line)
			}
		})
	}
	if n := h.count(t); n != 0 {
		t.Fatalf("refused requests stored %d rows", n)
	}
	// A device revoked directly in the database is refused once the token
	// cache entry expires (DeviceCacheTTL).
	if resp, b := h.post(t, h.token, "application/json", one); resp.StatusCode != http.StatusOK {
		t.Fatalf("before revocation: status %d %s", resp.StatusCode, b)
	}
	if err := h.store.RevokeDevice(context.Background(), h.dev.ID, time.Now()); err != nil {
		t.Fatal(err)
	}
	time.Sleep(deviceCacheTTL + 100*time.Millisecond)
	if resp, b := h.post(t, h.token, "application/json", []byte("["+sampleJSON(9, t0)+"]")); resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("revoked device: status %d %s, want 401", resp.StatusCode, b)
	}
}

func TestDatabaseDownAnswers503AndNothingAcked(t *testing.T) {
	h := newHarness(t, ingest.DefaultWriterConfig(), testConfig())
	t0 := time.Now().UTC().Add(-time.Hour).Truncate(time.Second)
	// Make every commit fail for real: the table the writer copies into
	// refuses rows while a trigger is in place.
	ctx := context.Background()
	_, err := h.store.Pool().Exec(ctx, `CREATE FUNCTION refuse() RETURNS trigger LANGUAGE plpgsql AS
		$$BEGIN RAISE EXCEPTION 'storage offline'; END$$;
		CREATE TRIGGER refuse BEFORE INSERT ON measurements FOR EACH ROW EXECUTE FUNCTION refuse()`)
	if err != nil {
		t.Fatal(err)
	}
	resp, b := h.post(t, h.token, "application/json", []byte("["+sampleJSON(0, t0)+"]"))
	if resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") == "" {
		t.Fatalf("status %d %s, want 503 with Retry-After", resp.StatusCode, b)
	}
	if _, err := h.store.Pool().Exec(ctx, "DROP TRIGGER refuse ON measurements"); err != nil {
		t.Fatal(err)
	}
	if resp, b := h.post(t, h.token, "application/json", []byte("["+sampleJSON(0, t0)+"]")); resp.StatusCode != http.StatusOK {
		t.Fatalf("after recovery: status %d %s", resp.StatusCode, b)
	}
	if n := h.count(t); n != 1 {
		t.Fatalf("stored %d rows, want 1", n)
	}
}

func firstOrNil[T any](v []*T) *T {
	if len(v) == 0 {
		return nil
	}
	return v[0]
}

func TestRateLimitsAnswer429WithRetryAfter(t *testing.T) {
	scfg := testConfig()
	scfg.LoginsPerMinute = 3
	h := newHarness(t, ingest.DefaultWriterConfig(), scfg, ingest.NewLimits(ingest.LimitConfig{
		IPRequestsPerSec: 0.1, IPBurst: 5, DeviceSamplesPerSec: 0.1, DeviceSamplesBurst: 3,
	}))
	t0 := time.Now().UTC().Add(-time.Hour).Truncate(time.Second)
	status := func(i int) (int, string) {
		resp, _ := h.post(t, h.token, "application/json", []byte("["+sampleJSON(i, t0)+"]"))
		return resp.StatusCode, resp.Header.Get("Retry-After")
	}
	// Device budget: 3 samples, then 429 although the IP budget (5) remains.
	for i := range 3 {
		if s, _ := status(i); s != http.StatusOK {
			t.Fatalf("sample %d within the device burst: %d", i, s)
		}
	}
	if s, ra := status(3); s != http.StatusTooManyRequests || ra == "" {
		t.Fatalf("over the device limit: %d Retry-After %q, want 429 with Retry-After", s, ra)
	}
	// IP budget: 5 requests in all (4 used); the 6th from this address is refused
	// before authentication.
	status(4)
	resp, _ := h.post(t, "rtd_unknown", "application/json", []byte("[]"))
	if resp.StatusCode != http.StatusTooManyRequests {
		t.Fatalf("over the IP limit: %d, want 429", resp.StatusCode)
	}
	if n := h.count(t); n != 3 {
		t.Fatalf("stored %d samples, want the 3 allowed", n)
	}
	// Logins: 3 attempts per minute per address.
	anon := h.anonymous(t)
	for i := range 3 {
		if s, _ := anon.do("POST", "/api/v1/login", map[string]string{"username": "x", "password": "y"}); s != http.StatusUnauthorized {
			t.Fatalf("login attempt %d: %d, want 401", i, s)
		}
	}
	if s, _ := anon.do("POST", "/api/v1/login", map[string]string{"username": "x", "password": "y"}); s != http.StatusTooManyRequests {
		t.Fatalf("fourth login attempt in a minute: %d, want 429", s)
	}
}
