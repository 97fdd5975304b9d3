package app_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/radtrack/radtrack/auth"
	"github.com/radtrack/radtrack/localize"
)

// A hot pass: the background estimator fits the incident, stores the
// estimate, pushes it as a live "source" frame, a new viewer's snapshot
// carries it, the REST route answers with it, and the incident's CAP
// alert has the ellipse as an area.
func TestHotPassYieldsStoredLiveAndCAPSourceEstimate(t *testing.T) {
	n := startNode(t)
	addUser(t, n, "vera", auth.RoleViewer)
	token := addDevice(t, n, "van-src", false)
	v := connect(t, n, "vera", "")
	v.next("snapshot", 5*time.Second, func(f frame) bool { return f.Type == "snapshot" })

	// A van drives east at 10 m/s past a source 20 m north of the road:
	// one reading a second, the counts the fit's own model expects.
	const lat0, lon0 = 51.95, 4.05
	fr := localize.NewFrame(lat0, lon0)
	srcX, srcY, strength := 0.0, 20.0, 1e5
	t0 := time.Now().Add(-2 * time.Minute).Truncate(time.Second)
	var body strings.Builder
	for i := range 61 {
		x := float64(i-30) * 10
		r := localize.Reading{X0: x - 10, Y0: 0, X1: x, Y1: 0, Live: 1}
		counts := math.Round(3 + localize.SourceCounts(r, srcX, srcY, strength, localize.Config{}))
		lat, lon := fr.ToLatLon(x, 0)
		fmt.Fprintf(&body, `{"time":%q,"lon":%.7f,"lat":%.7f,"counts":%g,"count_interval":1}`+"\n",
			t0.Add(time.Duration(i)*time.Second).Format(time.RFC3339), lon, lat, counts)
	}
	postJSON(t, n.Addr(), token, body.String())

	f := v.next("source frame", 20*time.Second, func(f frame) bool { return f.Type == "source" })
	var est localize.IncidentSource
	if err := json.Unmarshal(f.Source, &est); err != nil {
		t.Fatalf("source frame %s: %v", f.Source, err)
	}
	if f.IncidentID == 0 || est.IncidentID != f.IncidentID || f.Event != "updated" || f.Offset == "" {
		t.Fatalf("source frame: incident %d, event %q, offset %q; estimate of incident %d", f.IncidentID, f.Event, f.Offset, est.IncidentID)
	}
	wantLat, wantLon := fr.ToLatLon(srcX, srcY)
	ex, ey := fr.ToXY(est.Lat, est.Lon)
	if d := math.Hypot(ex-srcX, ey-srcY); d > 5 && math.Hypot(ex-srcX, ey+srcY) > 5 {
		t.Fatalf("estimate at (%.1f, %.1f) m, want within 5 m of (%g, ±%g) (%f, %f)", ex, ey, srcX, srcY, wantLat, wantLon)
	}
	if est.Ellipse == nil || len(est.Ring) < 4 || len(est.Passes) != 1 || est.Vehicles != 1 {
		t.Fatalf("estimate without ellipse or passes: %+v", est)
	}

	// Stored, and once the alarms stop progressing the stored estimate
	// stands for the incident (fitted through its last_seen).
	var stored localize.IncidentSource
	waitFor(t, "a stored estimate that stands", func() bool {
		s, err := n.Store.IncidentSource(context.Background(), f.IncidentID)
		if err != nil {
			return false
		}
		inc, err := n.Store.Incident(context.Background(), f.IncidentID)
		if err != nil {
			t.Fatal(err)
		}
		var ok bool
		stored, ok = localize.Stored(s, inc, nil)
		return ok
	})
	est = stored

	// The REST route answers with the stored estimate.
	client := loginClient(t, n, "vera")
	resp, err := client.Get(fmt.Sprintf("http://%s/api/v1/incidents/%d/source", n.Addr(), f.IncidentID))
	if err != nil {
		t.Fatal(err)
	}
	var got struct{ Source localize.IncidentSource }
	err = json.NewDecoder(resp.Body).Decode(&got)
	resp.Body.Close()
	if err != nil || resp.StatusCode != http.StatusOK || got.Source.Lat != est.Lat || got.Source.Lon != est.Lon {
		t.Fatalf("REST source %d %+v %v, want the stored (%f, %f)", resp.StatusCode, got.Source.Located, err, est.Lat, est.Lon)
	}

	// A new viewer's snapshot carries it.
	w := connect(t, n, "vera", "")
	snap := w.next("snapshot", 5*time.Second, func(f frame) bool { return f.Type == "snapshot" })
	if len(snap.Sources) != 1 {
		t.Fatalf("snapshot sources: %d, want 1", len(snap.Sources))
	}
	var inSnap localize.IncidentSource
	if err := json.Unmarshal(snap.Sources[0], &inSnap); err != nil || inSnap.IncidentID != f.IncidentID {
		t.Fatalf("snapshot source %s: %v", snap.Sources[0], err)
	}

	// The CAP alert of the incident has the estimate's area.
	resp, err = client.Get("http://" + n.Addr() + "/api/v1/cap.atom")
	if err != nil {
		t.Fatal(err)
	}
	feed, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(feed), "Estimated source position (95 %)") {
		t.Fatalf("CAP feed without the source area:\n%s", feed)
	}
}
