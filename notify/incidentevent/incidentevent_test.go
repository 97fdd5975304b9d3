package incidentevent

import (
	"context"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/radtrack/radtrack/incidents"
	"github.com/radtrack/radtrack/notify"
	"github.com/radtrack/radtrack/rules"
	"github.com/radtrack/radtrack/store"
	"github.com/radtrack/radtrack/store/sqlitestore"
)

// An incident event becomes the notification of the same kind — a re-alarm
// pages like a raise — with its rules and vehicles once each, oldest first.
func TestIncidentEventAsNotification(t *testing.T) {
	ctx := context.Background()
	st, err := sqlitestore.Open(ctx, sqlitestore.Config{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	a, err := st.CreateDevice(ctx, store.Device{UID: "van-a", Name: "Van A"}, []byte("a"))
	if err != nil {
		t.Fatal(err)
	}
	b, err := st.CreateDevice(ctx, store.Device{UID: "van-b"}, []byte("b"))
	if err != nil {
		t.Fatal(err)
	}
	fence, err := st.CreateFence(ctx, store.Fence{Name: "Quay 7", Kind: "restricted", Feature: []byte(
		`{"type":"Feature","properties":{"name":"Quay 7","kind":"restricted"},"geometry":{"type":"Polygon","coordinates":[[[4,51.9],[4.1,51.9],[4.1,52],[4,51.9]]]}}`)})
	if err != nil {
		t.Fatal(err)
	}
	t0 := time.Date(2026, 12, 2, 10, 0, 0, 0, time.UTC)
	inc := store.Incident{ID: 7, State: rules.StateRaised, Severity: rules.Severity("critical"), FirstSeen: t0, LastSeen: t0.Add(time.Minute),
		PeakDose: 52, PeakLon: 4.05, PeakLat: 51.95, PeakGPSValid: true, PeakTime: t0.Add(30 * time.Second),
		Alarms: []rules.Episode{ // newest first
			{ID: 3, Key: rules.Key{DeviceID: b.ID}, RuleName: "OIL3"},
			{ID: 2, Key: rules.Key{DeviceID: a.ID, FenceID: fence.ID}, RuleName: "OIL3"},
			{ID: 1, Key: rules.Key{DeviceID: a.ID}, RuleName: "notice"},
		}}
	for typ, want := range types {
		ev := Of(ctx, st, incidents.Event{Type: typ, Incident: inc, Time: t0.Add(time.Minute)})
		if ev.Type != want {
			t.Errorf("%s became %s, want %s", typ, ev.Type, want)
		}
		if typ == incidents.EventRealarm && !ev.Type.Pages() {
			t.Error("a re-alarm does not page")
		}
		wantVersion := t0.Add(time.Minute).UnixMicro()
		if typ == incidents.EventRaised {
			wantVersion = t0.UnixMicro()
		}
		if ev.Incident.Version != wantVersion {
			t.Errorf("%s: version %d, want %d", typ, ev.Incident.Version, wantVersion)
		}
	}
	ev := Of(ctx, st, incidents.Event{Type: incidents.EventRaised, Incident: inc, Time: t0})
	got := ev.Incident
	if got.Title != "notice, OIL3: Van A and 1 more" || len(got.Rules) != 2 || len(got.Vehicles) != 2 ||
		got.Vehicles[0].UID != "van-a" || got.Vehicles[1].Label() != "van-b" || got.Fence == nil || got.Fence.ID != fence.ID ||
		got.Fence.Name != "Quay 7" || !strings.Contains(string(got.Fence.Geometry), `"Polygon"`) {
		t.Fatalf("incident %+v", got)
	}
	if got.Peak.DoseUSvh == nil || *got.Peak.DoseUSvh != 52 || got.Peak.LonLat != [2]float64{4.05, 51.95} {
		t.Fatalf("peak %+v", got.Peak)
	}
	inc.PeakDose = math.NaN()
	if p := Of(ctx, st, incidents.Event{Type: incidents.EventUpdated, Incident: inc, Time: t0}).Incident.Peak; p.DoseUSvh != nil {
		t.Fatalf("no dose became %v", *p.DoseUSvh)
	}
}

// An incident in the feed is its latest event: raise, re-alarm,
// acknowledgement or resolution, at that event's time.
func TestLatest(t *testing.T) {
	ctx := context.Background()
	st, err := sqlitestore.Open(ctx, sqlitestore.Config{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	t0 := time.Date(2026, 12, 2, 10, 0, 0, 0, time.UTC)
	base := store.Incident{ID: 7, State: rules.StateRaised, Severity: "alarm", FirstSeen: t0, LastSeen: t0.Add(time.Minute),
		Alarms: []rules.Episode{{ID: 1, RuleName: "OIL3"}}}
	realarmed := base
	realarmed.RealarmedAt = t0.Add(2 * time.Minute)
	acked := base
	acked.State, acked.AckedAt = rules.StateAcknowledged, t0.Add(3*time.Minute)
	resolved := base
	resolved.State, resolved.ResolvedAt = rules.StateResolved, t0.Add(4*time.Minute)
	for _, c := range []struct {
		inc  store.Incident
		typ  notify.EventType
		time time.Time
	}{
		{base, notify.EventRaised, t0},
		{realarmed, notify.EventRealarmed, t0.Add(2 * time.Minute)},
		{acked, notify.EventAcknowledged, t0.Add(3 * time.Minute)},
		{resolved, notify.EventResolved, t0.Add(4 * time.Minute)},
	} {
		ev := Latest(ctx, st, c.inc)
		if ev.Type != c.typ || !ev.Time.Equal(c.time) {
			t.Errorf("incident in state %s (realarmed %v): %s at %v, want %s at %v", c.inc.State, c.inc.RealarmedAt, ev.Type, ev.Time, c.typ, c.time)
		}
	}
}
