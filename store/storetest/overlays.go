package storetest

import (
	"context"
	"encoding/json"
	"errors"
	"testing"

	"github.com/radtrack/radtrack/store"
)

func testOverlays(t *testing.T, s store.Store) {
	ctx := context.Background()
	list, err := s.ListOverlays(ctx)
	if err != nil || len(list) != 0 {
		t.Fatalf("empty store: %v, %v", list, err)
	}
	plan := json.RawMessage(`{"type":"FeatureCollection","features":[{"type":"Feature","geometry":{"type":"LineString","coordinates":[[4.01,51.95],[4.02,51.95]]},"properties":{"kind":"road","name":"Quay road 码头"}}]}`)
	a, err := s.CreateOverlay(ctx, store.Overlay{Name: "Port plan", Features: plan, FeatureCount: 1, CreatedBy: "op"})
	if err != nil {
		t.Fatal(err)
	}
	if a.ID == 0 || a.Name != "Port plan" || a.FeatureCount != 1 || a.CreatedBy != "op" || a.CreatedAt.IsZero() {
		t.Fatalf("created %+v", a)
	}
	if _, err := s.CreateOverlay(ctx, store.Overlay{Name: "Port plan", Features: plan, FeatureCount: 1}); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("same name again: %v, want ErrConflict", err)
	}
	b, err := s.CreateOverlay(ctx, store.Overlay{Name: "Yard", Features: json.RawMessage(`{"type":"FeatureCollection","features":[]}`)})
	if err != nil {
		t.Fatal(err)
	}
	list, err = s.ListOverlays(ctx)
	if err != nil || len(list) != 2 || list[0].ID != a.ID || list[1].ID != b.ID {
		t.Fatalf("list %+v, %v", list, err)
	}
	var got, want any
	if err := errors.Join(json.Unmarshal(list[0].Features, &got), json.Unmarshal(plan, &want)); err != nil {
		t.Fatal(err)
	}
	if g, w := mustJSON(t, got), mustJSON(t, want); g != w {
		t.Fatalf("features %s, want %s", g, w)
	}
	if err := s.DeleteOverlay(ctx, a.ID); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteOverlay(ctx, a.ID); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("delete twice: %v, want ErrNotFound", err)
	}
	list, _ = s.ListOverlays(ctx)
	if len(list) != 1 || list[0].Name != "Yard" {
		t.Fatalf("after delete %+v", list)
	}
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
