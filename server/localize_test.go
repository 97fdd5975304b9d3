package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"os"
	"testing"
	"time"

	"github.com/radtrack/radtrack/ingest"
	"github.com/radtrack/radtrack/ingest/n42"
	"github.com/radtrack/radtrack/internal/testutil"
	"github.com/radtrack/radtrack/localize"
	"github.com/radtrack/radtrack/store"
)

// The race-track pass as an incident: GET …/source fits the stored counts
// (the instrument's spectra) and puts the source where the pass peaked,
// with an ellipse drawn around it.
func TestIncidentSource(t *testing.T) {
	path := testutil.RequiredRadiationFile(t, "interspec_racetrack_drive_2024-10-20.n42")
	body, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	doc, err := n42.Decode(bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	h := newHarness(t, ingest.DefaultWriterConfig(), testConfig())
	if status, res := h.postN42(t, h.token, "application/xml", body); status != http.StatusOK {
		t.Fatalf("post: %d %v", status, res)
	}
	ctx := context.Background()
	start := time.Date(2024, 10, 20, 15, 35, 55, 0, time.UTC) // measurement 0; one a second
	at := func(i int) time.Time { return start.Add(time.Duration(i) * time.Second) }
	peak := doc.Samples[70]
	id, err := h.store.SaveIncident(ctx, store.Incident{State: "raised", Severity: "alarm", FirstSeen: at(67), LastSeen: at(73),
		PeakTime: at(70), PeakDeviceID: h.dev.ID, PeakDose: 0.3, PeakLat: peak.Lat, PeakLon: peak.Lon, PeakGPSValid: true})
	if err != nil {
		t.Fatal(err)
	}
	viewer := h.loginAs(t, "vic", "viewer")
	status, raw := viewer.do("GET", fmt.Sprintf("/api/v1/incidents/%d/source", id), nil)
	if status != http.StatusOK {
		t.Fatalf("%d %s", status, raw)
	}
	var got struct{ Source localize.IncidentSource }
	if err := json.Unmarshal(raw, &got); err != nil {
		t.Fatal(err)
	}
	src := got.Source
	t.Logf("source %.6f %.6f, ellipse %+v, TS %.0f, passes %+v", src.Lat, src.Lon, src.Ellipse, src.TS, src.Passes)
	// The counts came from spectra: no Cs-137 equivalent.
	if !src.Significant || src.Ellipse == nil || len(src.Ring) != 49 || src.Vehicles != 1 || len(src.Passes) != 1 || src.Passes[0].DeviceID != h.dev.ID ||
		len(src.Passes[0].Path) != src.Passes[0].Readings || src.ActivityMBq != nil {
		t.Fatalf("%s", raw)
	}
	// Where the pass peaked: the nearest fix is one of the peak's
	// (66–71), some 50 m off the road (the peak's width).
	fr := localize.NewFrame(src.Lat, src.Lon)
	nearest, nd := -1, math.Inf(1)
	for i, s := range doc.Samples {
		x, y := fr.ToXY(s.Lat, s.Lon)
		if d := math.Hypot(x, y); d < nd {
			nearest, nd = i, d
		}
	}
	if nearest < 66 || nearest > 71 || nd < 25 || nd > 75 {
		t.Errorf("nearest fix %d at %.0f m", nearest, nd)
	}
	// The ring (the region's contour) surrounds the estimate at about
	// the size of its summary ellipse.
	for _, p := range src.Ring {
		x, y := fr.ToXY(p[1], p[0])
		if r := math.Hypot(x, y); r < 0.5*src.Ellipse.SemiMinorM || r > 1.5*src.Ellipse.SemiMajorM {
			t.Fatalf("ring point at %.2f m, axes %.2f/%.2f", r, src.Ellipse.SemiMinorM, src.Ellipse.SemiMajorM)
		}
	}

	noPos, err := h.store.SaveIncident(ctx, store.Incident{State: "raised", Severity: "alarm", FirstSeen: at(67), LastSeen: at(73), PeakDeviceID: h.dev.ID})
	if err != nil {
		t.Fatal(err)
	}
	if status, raw := viewer.do("GET", fmt.Sprintf("/api/v1/incidents/%d/source", noPos), nil); status != http.StatusUnprocessableEntity {
		t.Errorf("no position: %d %s", status, raw)
	}
	far, err := h.store.SaveIncident(ctx, store.Incident{State: "raised", Severity: "alarm", FirstSeen: at(67), LastSeen: at(73), PeakDeviceID: h.dev.ID,
		PeakLat: peak.Lat + 1, PeakLon: peak.Lon, PeakGPSValid: true})
	if err != nil {
		t.Fatal(err)
	}
	if status, raw := viewer.do("GET", fmt.Sprintf("/api/v1/incidents/%d/source", far), nil); status != http.StatusNotFound {
		t.Errorf("no counts near: %d %s", status, raw)
	}
	if status, _ := viewer.do("GET", "/api/v1/incidents/999999/source", nil); status != http.StatusNotFound {
		t.Errorf("unknown incident: %d", status)
	}
	if status, _ := h.anonymous(t).do("GET", fmt.Sprintf("/api/v1/incidents/%d/source", id), nil); status != http.StatusUnauthorized {
		t.Errorf("anonymous: %d", status)
	}
}
