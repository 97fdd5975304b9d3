package server_test

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/radtrack/radtrack/alarms"
	"github.com/radtrack/radtrack/export"
	"github.com/radtrack/radtrack/geo"
	"github.com/radtrack/radtrack/ingest"
	"github.com/radtrack/radtrack/internal/pgtest"
	"github.com/radtrack/radtrack/metrics"
	"github.com/radtrack/radtrack/server"
	"github.com/radtrack/radtrack/store"
	"github.com/radtrack/radtrack/store/pgstore"
	"github.com/radtrack/radtrack/store/storetest"
)

// get fetches path with an Accept header and returns status, headers, body.
func (c *client) get(path, accept string) (int, http.Header, []byte) {
	c.t.Helper()
	req, _ := http.NewRequest(http.MethodGet, c.base+path, nil)
	if accept != "" {
		req.Header.Set("Accept", accept)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, b
}

func TestTrackExportFormats(t *testing.T) {
	h := newHarness(t, ingest.DefaultWriterConfig(), testConfig())
	ctx := context.Background()
	other, _ := storetest.NewDevice(t, h.store, "veh-other") // group "patrol" too
	if err := h.store.WriteSamples(ctx, append(storetest.Samples(h.dev.ID, storetest.Base, 30), storetest.Samples(other.ID, storetest.Base, 5)...)); err != nil {
		t.Fatal(err)
	}
	c := h.loginAs(t, "viewer", "viewer")
	from, to := storetest.Base.Format(time.RFC3339), storetest.Base.Add(time.Hour).Format(time.RFC3339)
	path := "/api/v1/devices/" + itoa(h.dev.ID) + "/track?from=" + from + "&to=" + to

	// format=csv is a CSV file (it answered JSON before).
	status, hdr, body := c.get(path+"&format=csv", "")
	if status != http.StatusOK || hdr.Get("Content-Type") != "text/csv; charset=utf-8" ||
		!strings.HasPrefix(hdr.Get("Content-Disposition"), `attachment; filename="radtrack-track-veh-http-20261101T120000Z.csv"`) {
		t.Fatalf("csv: %d %v %.200s", status, hdr, body)
	}
	rows, err := csv.NewReader(strings.NewReader(string(body))).ReadAll()
	if err != nil || len(rows) != 31 || rows[0][0] != "device_id" || rows[1][2] != "2026-11-01T12:00:00Z" || rows[30][2] != "2026-11-01T12:00:29Z" {
		t.Fatalf("csv rows %d (%v): %q … %q", len(rows), err, rows[0], rows[len(rows)-1])
	}
	// Accept picks the format too; limit still applies.
	status, hdr, body = c.get(path+"&limit=4", "application/gpx+xml")
	if status != http.StatusOK || hdr.Get("Content-Type") != "application/gpx+xml" || strings.Count(string(body), "<trkpt ") != 4 {
		t.Fatalf("gpx by Accept: %d %v\n%s", status, hdr, body)
	}
	// The JSON shape the map reads is unchanged.
	status, _, body = c.get(path, "")
	var one struct {
		DeviceID int64               `json:"device_id"`
		Samples  []export.SampleJSON `json:"samples"`
	}
	if err := json.Unmarshal(body, &one); err != nil || status != 200 || one.DeviceID != h.dev.ID || len(one.Samples) != 30 {
		t.Fatalf("json: %d %v %+v", status, err, one)
	}
	// A group: both devices, one after the other.
	status, _, body = c.get("/api/v1/groups/patrol/track?format=geojson&from="+from+"&to="+to, "")
	var fc struct {
		Features []json.RawMessage `json:"features"`
	}
	if err := json.Unmarshal(body, &fc); err != nil || status != 200 || len(fc.Features) != 35 {
		t.Fatalf("group geojson: %d %v %d features", status, err, len(fc.Features))
	}
	for _, tc := range []struct{ path, field string }{
		{path + "&format=shp", "format"},
		{"/api/v1/devices/" + itoa(h.dev.ID) + "/track?from=" + to + "&to=" + from, "to"},
		{"/api/v1/groups/nobody/track", "group"},
		{"/api/v1/devices/999999/track", "id"},
	} {
		status, _, body := c.get(tc.path, "")
		var e struct{ Field string }
		_ = json.Unmarshal(body, &e)
		if status/100 != 4 || e.Field != tc.field {
			t.Errorf("%s: %d %s, want 4xx naming %q", tc.path, status, body, tc.field)
		}
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// blockingStore holds every EachSample until release is closed, so a test
// can keep large queries running.
type blockingStore struct {
	store.Store
	started chan struct{}
	release chan struct{}
}

func (b *blockingStore) EachSample(ctx context.Context, q store.StreamQuery, fn store.SampleFunc) error {
	if q.Limit > 0 && q.Limit <= 10_000 { // a small read: not held
		return b.Store.EachSample(ctx, q, fn)
	}
	b.started <- struct{}{}
	select {
	case <-b.release:
	case <-ctx.Done():
		return ctx.Err()
	}
	return b.Store.EachSample(ctx, q, fn)
}

func TestHeavyQueriesAreCappedPerUserAndInTotal(t *testing.T) {
	st, err := pgstore.Open(context.Background(), pgstore.Config{URL: pgtest.NewDatabase(t)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(st.Close)
	bs := &blockingStore{Store: st, started: make(chan struct{}, 16), release: make(chan struct{})}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	m := metrics.New()
	svc, err := alarms.New(context.Background(), st, alarms.Options{Geo: geo.DefaultConfig()}, log)
	if err != nil {
		t.Fatal(err)
	}
	w := ingest.NewWriter(st, ingest.DefaultWriterConfig(), m, log)
	t.Cleanup(func() { _ = w.Close(context.Background()) })
	cfg := testConfig()
	cfg.BcryptCost, cfg.HeavyPerUser, cfg.HeavyTotal = bcrypt.MinCost, 2, 3
	ts := httptest.NewServer(server.New(cfg, server.Deps{Store: bs, Pipeline: ingest.NewPipeline(w, m, svc),
		Devices: ingest.NewDevices(st, time.Second), Alarms: svc, Metrics: m, Log: log}))
	t.Cleanup(ts.Close)
	dev, _ := storetest.NewDevice(t, st, "veh-heavy")
	h := &harness{url: ts.URL, store: st}
	alice, bob := h.loginAs(t, "alice", "viewer"), h.loginAs(t, "bob", "viewer")
	path := "/api/v1/devices/" + itoa(dev.ID) + "/track?format=csv"

	var wg sync.WaitGroup
	statuses := make(chan int, 8)
	run := func(c *client) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s, _, _ := c.get(path, "")
			statuses <- s
		}()
	}
	run(alice)
	run(alice)
	<-bs.started
	<-bs.started
	// Alice's third is over her cap; Bob's first fits the node's cap of 3.
	status, hdr, body := alice.get(path, "")
	if status != http.StatusTooManyRequests || hdr.Get("Retry-After") != "5" || !strings.Contains(string(body), "most per user is 2") {
		t.Fatalf("alice's third: %d %v %s", status, hdr, body)
	}
	run(bob)
	<-bs.started
	status, _, body = bob.get(path, "")
	if status != http.StatusTooManyRequests || !strings.Contains(string(body), "server already runs its most large queries (3)") {
		t.Fatalf("bob's second with the node full: %d %s", status, body)
	}
	// A small read (the map's polling fallback asks for 5000 rows of many
	// devices at once) is not a large query: it answers while both caps
	// are full.
	if status, _, body := alice.get("/api/v1/devices/"+itoa(dev.ID)+"/track?limit=5000", ""); status != http.StatusOK {
		t.Fatalf("small track with the caps full: %d %s", status, body)
	}
	if status, _, _ := alice.get("/api/v1/devices/"+itoa(dev.ID)+"/track?limit=10001", ""); status != http.StatusTooManyRequests {
		t.Fatalf("a 10 001-row track with the caps full: %d, want 429", status)
	}
	close(bs.release)
	wg.Wait()
	close(statuses)
	for s := range statuses {
		if s != http.StatusOK {
			t.Errorf("a query within the caps answered %d", s)
		}
	}
	// Slots are released: the same user may run again.
	if status, _, body := alice.get(path, ""); status != http.StatusOK {
		t.Fatalf("after release: %d %s", status, body)
	}
}

// failingStore streams n samples of the real track, then fails.
type failingStore struct {
	store.Store
	n int
}

func (f *failingStore) EachSample(ctx context.Context, q store.StreamQuery, fn store.SampleFunc) error {
	smp := storetest.Samples(q.DeviceID, storetest.Base, 1)[0]
	for i := range f.n {
		smp.Time = storetest.Base.Add(time.Duration(i) * time.Second)
		if err := fn(&smp); err != nil {
			return err
		}
	}
	return errors.New("connection reset by peer")
}

// TestBrokenStreamIsNeverAComplete file: a database failure before the
// first bytes leave answers 503 with a JSON error; after them the
// transfer is cut, so the client sees an error, not a shorter file.
func TestBrokenStreamIsNeverACompleteFile(t *testing.T) {
	st, err := pgstore.Open(context.Background(), pgstore.Config{URL: pgtest.NewDatabase(t)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(st.Close)
	fs := &failingStore{Store: st}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	m := metrics.New()
	svc, err := alarms.New(context.Background(), st, alarms.Options{Geo: geo.DefaultConfig()}, log)
	if err != nil {
		t.Fatal(err)
	}
	w := ingest.NewWriter(st, ingest.DefaultWriterConfig(), m, log)
	t.Cleanup(func() { _ = w.Close(context.Background()) })
	cfg := testConfig()
	cfg.BcryptCost = bcrypt.MinCost
	ts := httptest.NewServer(server.New(cfg, server.Deps{Store: fs, Pipeline: ingest.NewPipeline(w, m, svc),
		Devices: ingest.NewDevices(st, time.Second), Alarms: svc, Metrics: m, Log: log}))
	t.Cleanup(ts.Close)
	dev, _ := storetest.NewDevice(t, st, "veh-broken")
	c := (&harness{url: ts.URL, store: st}).loginAs(t, "viewer", "viewer")
	path := "/api/v1/devices/" + itoa(dev.ID) + "/track?format=csv"

	fs.n = 3 // fails inside the first buffer
	status, hdr, body := c.get(path, "")
	if status != http.StatusServiceUnavailable || hdr.Get("Content-Type") != "application/json" || hdr.Get("Content-Disposition") != "" {
		t.Fatalf("early failure: %d %v %s", status, hdr, body)
	}
	fs.n = 20_000 // ~2 MB of CSV: the failure comes after the header left
	req, _ := http.NewRequest(http.MethodGet, ts.URL+path, nil)
	resp, err := c.http.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	n, err := io.Copy(io.Discard, resp.Body)
	if resp.StatusCode != http.StatusOK || err == nil {
		t.Fatalf("late failure: status %d, read %d bytes, error %v; want 200 and a broken body", resp.StatusCode, n, err)
	}
}
