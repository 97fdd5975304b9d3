package storetest

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/radtrack/radtrack/store"
)

func testIncidentSources(t *testing.T, s store.Store) {
	ctx := context.Background()
	d, _ := NewDevice(t, s, "src-1")
	newIncident := func() int64 {
		id, err := s.SaveIncident(ctx, store.Incident{State: "raised", Severity: "alarm", FirstSeen: Base, LastSeen: Base.Add(time.Minute),
			PeakTime: Base, PeakLon: 4.05, PeakLat: 51.95, PeakGPSValid: true, PeakDeviceID: d.ID})
		if err != nil {
			t.Fatal(err)
		}
		return id
	}
	a, b, none := newIncident(), newIncident(), newIncident()
	if _, err := s.IncidentSource(ctx, a); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("before any estimate: %v, want ErrNotFound", err)
	}
	first := store.IncidentSource{IncidentID: a, FittedAt: Base.Add(2 * time.Minute), Through: Base.Add(time.Minute),
		Estimate: json.RawMessage(`{"lat":51.95,"lon":4.05,"passes":[{"device_id":1}]}`)}
	if err := s.SaveIncidentSource(ctx, first); err != nil {
		t.Fatal(err)
	}
	// A refit replaces the estimate.
	second := first
	second.FittedAt, second.Through = Base.Add(3*time.Minute), Base.Add(90*time.Second)
	second.Estimate = json.RawMessage(`{"lat":51.951,"lon":4.049,"passes":[]}`)
	if err := s.SaveIncidentSource(ctx, second); err != nil {
		t.Fatal(err)
	}
	other := store.IncidentSource{IncidentID: b, FittedAt: Base.Add(time.Minute + 123456*time.Microsecond), Through: Base, Estimate: json.RawMessage(`{"x":1}`)}
	if err := s.SaveIncidentSource(ctx, other); err != nil {
		t.Fatal(err)
	}
	same := func(got, want store.IncidentSource) bool {
		var g, w any
		if json.Unmarshal(got.Estimate, &g) != nil || json.Unmarshal(want.Estimate, &w) != nil {
			return false
		}
		gj, _ := json.Marshal(g)
		wj, _ := json.Marshal(w)
		return got.IncidentID == want.IncidentID && got.FittedAt.Equal(want.FittedAt) && got.FittedAt.Location() == time.UTC &&
			got.Through.Equal(want.Through) && string(gj) == string(wj)
	}
	got, err := s.IncidentSource(ctx, a)
	if err != nil || !same(got, second) {
		t.Fatalf("IncidentSource = %+v (%s), %v; want %+v", got, got.Estimate, err, second)
	}
	list, err := s.IncidentSourcesOf(ctx, []int64{none, b, a, 1 << 40})
	if err != nil {
		t.Fatal(err)
	}
	slices.SortFunc(list, func(x, y store.IncidentSource) int { return int(x.IncidentID - y.IncidentID) })
	if len(list) != 2 || !same(list[0], second) || !same(list[1], other) {
		t.Fatalf("IncidentSourcesOf = %+v", list)
	}
	if list, err := s.IncidentSourcesOf(ctx, nil); err != nil || len(list) != 0 {
		t.Fatalf("IncidentSourcesOf(nil) = %v, %v", list, err)
	}
	// Open incidents' estimates: only those fitted through the incident's
	// present last_seen, of unresolved incidents.
	fresh := store.IncidentSource{IncidentID: none, FittedAt: Base.Add(5 * time.Minute), Through: Base.Add(time.Minute), Estimate: json.RawMessage(`{"y":2}`)}
	if err := s.SaveIncidentSource(ctx, fresh); err != nil {
		t.Fatal(err)
	}
	open, err := s.OpenIncidentSources(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(open) != 1 || !same(open[0].IncidentSource, fresh) || open[0].PeakDeviceID != d.ID {
		t.Fatalf("OpenIncidentSources = %+v, want only incident %d's (the others were fitted for another last_seen)", open, none)
	}
	inc, err := s.Incident(ctx, none)
	if err != nil {
		t.Fatal(err)
	}
	inc.State, inc.ResolvedAt = "resolved", Base.Add(10*time.Minute)
	if _, err := s.SaveIncident(ctx, inc); err != nil {
		t.Fatal(err)
	}
	if open, err := s.OpenIncidentSources(ctx); err != nil || len(open) != 0 {
		t.Fatalf("after the resolution: %+v, %v", open, err)
	}

	// No estimate of an incident that does not exist.
	missing := store.IncidentSource{IncidentID: 1 << 40, FittedAt: Base, Through: Base, Estimate: json.RawMessage(`{}`)}
	if err := s.SaveIncidentSource(ctx, missing); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("estimate of a missing incident: %v, want ErrNotFound", err)
	}
}
