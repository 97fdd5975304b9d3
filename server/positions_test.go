package server_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"math"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/radtrack/radtrack/ingest"
	"github.com/radtrack/radtrack/live"
	"github.com/radtrack/radtrack/metrics"
	"github.com/radtrack/radtrack/sample"
	"github.com/radtrack/radtrack/server"
)

// positionsJSON is the columnar answer of GET /api/v1/positions.
type positionsJSON struct {
	Positions struct {
		ID   []int64    `json:"id"`
		T    []*int64   `json:"t"`
		Lon  []float64  `json:"lon"`
		Lat  []float64  `json:"lat"`
		Dose []*float64 `json:"dose"`
		Spd  []*float64 `json:"spd"`
		Hdg  []*float64 `json:"hdg"`
		Bat  []*float64 `json:"bat"`
		UID  []string   `json:"uid"`
		Name []string   `json:"name"`
	} `json:"positions"`
}

// withLive serves h's store, pipeline and alarms through a second server
// that has a live hub on the in-process broker (the node wiring of app).
// The hub runs only if run is true, so a test can see it before it is ready.
func withLive(t *testing.T, h *harness, run bool) (*harness, *live.Hub) {
	t.Helper()
	hub, err := live.NewHub(live.Config{
		Broker:     live.NewMemoryBroker(100),
		OpenAlarms: func(context.Context, live.Viewer) ([]json.RawMessage, error) { return nil, nil },
		Tick:       20 * time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	if run {
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() { defer close(done); _ = hub.Run(ctx) }()
		t.Cleanup(func() { cancel(); <-done })
		select {
		case <-hub.Ready():
		case <-time.After(10 * time.Second):
			t.Fatal("hub not ready after 10s")
		}
	}
	ts := httptest.NewServer(server.New(testConfig(), server.Deps{
		Store: h.store, Pipeline: h.pipeline, Devices: ingest.NewDevices(h.store, deviceCacheTTL),
		Alarms: h.alarms, Live: hub, Metrics: metrics.New(), Log: slog.New(slog.NewTextHandler(io.Discard, nil)),
	}))
	t.Cleanup(ts.Close)
	lh := *h
	lh.url = ts.URL
	return &lh, hub
}

func publish(t *testing.T, hub *live.Hub, id int64, uid, name string, at time.Time, lon, lat, dose, battery float64) {
	t.Helper()
	s := sample.New()
	s.DeviceID, s.DeviceUID, s.Time = id, uid, at
	s.Lon, s.Lat, s.GPSValid = lon, lat, true
	s.DoseRate, s.Battery = dose, battery
	p, ok := live.PositionFromSample(s, name)
	if !ok {
		t.Fatalf("sample of device %d has no map position", id)
	}
	hub.PublishPositions(p)
}

func TestLatestPositionsOfEveryVehicle(t *testing.T) {
	base := newHarness(t, ingest.DefaultWriterConfig(), testConfig())
	h, hub := withLive(t, base, true)

	if status, body := h.anonymous(t).do("GET", "/api/v1/positions", nil); status != http.StatusUnauthorized {
		t.Fatalf("without login: %d %s, want 401", status, body)
	}
	viewer := h.loginAs(t, "watcher", "viewer")
	status, body := viewer.do("GET", "/api/v1/positions", nil)
	var got positionsJSON
	if status != http.StatusOK || json.Unmarshal(body, &got) != nil || got.Positions.ID == nil || len(got.Positions.ID) != 0 {
		t.Fatalf("empty fleet: %d %s, want 200 with empty columns", status, body)
	}

	t0 := time.Date(2026, 11, 22, 8, 0, 0, 0, time.UTC)
	publish(t, hub, 7, "van-7", "Van 7", t0, 4.05, 51.95, 0.12, 87)
	publish(t, hub, 7, "van-7", "Van 7", t0.Add(2*time.Second), 4.06, 51.96, 0.13, 86) // latest wins
	publish(t, hub, 7, "van-7", "Van 7", t0.Add(time.Second), 4.0, 51.0, 9, 10)        // late: never moves it back
	publish(t, hub, 3, "van-3", "Van 3", t0, 139.7, 35.6, math.NaN(), math.NaN())

	status, body = viewer.do("GET", "/api/v1/positions", nil)
	got = positionsJSON{}
	if status != http.StatusOK || json.Unmarshal(body, &got) != nil {
		t.Fatalf("positions: %d %s", status, body)
	}
	p := got.Positions
	if len(p.ID) != 2 || p.ID[0] != 3 || p.ID[1] != 7 {
		t.Fatalf("ids %v, want [3 7] (ordered by id): %s", p.ID, body)
	}
	for name, n := range map[string]int{"t": len(p.T), "lon": len(p.Lon), "lat": len(p.Lat), "dose": len(p.Dose),
		"spd": len(p.Spd), "hdg": len(p.Hdg), "bat": len(p.Bat), "uid": len(p.UID), "name": len(p.Name)} {
		if n != 2 {
			t.Errorf("column %s has %d entries, want 2: %s", name, n, body)
		}
	}
	if t.Failed() {
		t.FailNow()
	}
	if p.Lon[1] != 4.06 || p.Lat[1] != 51.96 || *p.T[1] != t0.Add(2*time.Second).UnixMilli() || *p.Dose[1] != 0.13 ||
		p.Bat[1] == nil || *p.Bat[1] != 86 || p.UID[1] != "van-7" || p.Name[1] != "Van 7" {
		t.Errorf("device 7 is not at its latest position: %s", body)
	}
	if p.Dose[0] != nil || p.Bat[0] != nil || p.Spd[0] != nil || p.Hdg[0] != nil {
		t.Errorf("values device 3 never reported are not null: %s", body)
	}
	if strings.Contains(string(body), `"alarm"`) {
		t.Errorf("alarm column sent with no vehicle in alarm: %s", body)
	}

	// bbox keeps exactly the vehicles inside, with no margin.
	for q, want := range map[string][]int64{
		"?bbox=4,51.9,4.1,52":          {7},
		"?bbox=4.061,51.9,4.1,52":      {}, // just east of van 7
		"?bbox=-180,-90,180,90":        {3, 7},
		"?bbox=%20139,35,%20140,%2036": {3},
	} {
		status, body := viewer.do("GET", "/api/v1/positions"+q, nil)
		var got positionsJSON
		if status != http.StatusOK || json.Unmarshal(body, &got) != nil {
			t.Fatalf("%s: %d %s", q, status, body)
		}
		if len(got.Positions.ID) != len(want) || len(want) > 0 && got.Positions.ID[0] != want[0] {
			t.Errorf("%s: ids %v, want %v", q, got.Positions.ID, want)
		}
	}
	for _, q := range []string{"bbox=4,51", "bbox=a,b,c,d", "bbox=5,51,4,52", "bbox=4,53,5,52", "bbox=-181,0,0,1", "bbox=NaN,0,1,1", "bbox=4,51,5,52,6"} {
		status, body := viewer.do("GET", "/api/v1/positions?"+q, nil)
		var e struct{ Error, Field string }
		if status != http.StatusBadRequest || json.Unmarshal(body, &e) != nil || e.Field != "bbox" || e.Error == "" {
			t.Errorf("%s: %d %s, want 400 naming bbox", q, status, body)
		}
	}
}

func TestLatestPositionsWithoutLiveHub(t *testing.T) {
	base := newHarness(t, ingest.DefaultWriterConfig(), testConfig())
	var e struct{ Error string }
	status, body := base.loginAs(t, "watcher", "viewer").do("GET", "/api/v1/positions", nil)
	if status != http.StatusServiceUnavailable || json.Unmarshal(body, &e) != nil || e.Error == "" {
		t.Fatalf("no hub: %d %s, want a JSON 503", status, body)
	}

	// A hub that has not loaded its state would claim an empty fleet.
	h, _ := withLive(t, base, false)
	status, body = h.loginAs(t, "watcher", "viewer").do("GET", "/api/v1/positions", nil)
	if status != http.StatusServiceUnavailable || json.Unmarshal(body, &e) != nil || e.Error == "" {
		t.Fatalf("hub not ready: %d %s, want a JSON 503", status, body)
	}
}
