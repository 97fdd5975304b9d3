package geo

import (
	"errors"
	"math"
	"strings"
	"testing"

	"github.com/paulmach/orb"
)

func TestValidate(t *testing.T) {
	unit := square(0, 0, 1, 1)
	line := orb.LineString{{0, 0}, {0.01, 0.01}}
	for _, c := range []struct {
		name   string
		fence  Fence
		field  string
		reason string // substring; empty means the fence is valid
	}{
		{"valid polygon", polygonFence(1, unit), "", ""},
		{"valid with repeated corner", polygonFence(1, orb.Ring{{0, 0}, {1, 0}, {1, 0}, {1, 1}, {0, 0}}), "", ""},
		{"valid across the anti-meridian", polygonFence(1, orb.Ring{{179, 0}, {-179, 0}, {-179, 1}, {179, 1}, {179, 0}}), "", ""},
		{"valid circle", NewCircle(1, "c", KindMonitoring, 10, 50, 100), "", ""},
		{"valid corridor", NewCorridor(1, "r", KindPatrol, line, 10), "", ""},
		{"unknown kind", Fence{ID: 1, Kind: "danger", Geometry: orb.Polygon{unit}}, "kind", `"danger" is not one of`},
		{"no geometry", Fence{ID: 1, Kind: KindPatrol}, "geometry", "empty"},
		{"no rings", polygonFence(1), "geometry.coordinates", "needs an outer ring"},
		{"short ring", polygonFence(1, orb.Ring{{0, 0}, {1, 0}, {0, 0}}), "geometry.coordinates[0]", "at least 4 positions"},
		{"open ring", polygonFence(1, orb.Ring{{0, 0}, {1, 0}, {1, 1}, {0, 1}}), "geometry.coordinates[0]", "not closed"},
		{"two distinct corners", polygonFence(1, orb.Ring{{0, 0}, {1, 0}, {0, 0}, {0, 0}}), "geometry.coordinates[0]", "3 distinct corners"},
		{"longitude out of range", polygonFence(1, orb.Ring{{0, 0}, {1, 0}, {181, 1}, {0, 0}}), "geometry.coordinates[0][2]", "longitude 181 is not in [-180, 180]"},
		{"latitude out of range", polygonFence(1, orb.Ring{{0, 0}, {1, -91}, {1, 1}, {0, 0}}), "geometry.coordinates[0][1]", "latitude -91"},
		{"NaN", polygonFence(1, orb.Ring{{0, 0}, {math.NaN(), 0}, {1, 1}, {0, 0}}), "geometry.coordinates[0][1]", "longitude NaN"},
		{"bow-tie", polygonFence(1, orb.Ring{{0, 0}, {1, 1}, {1, 0}, {0, 1}, {0, 0}}), "geometry.coordinates[0]",
			"ring intersects itself: the edge from position 0 to 1 meets the edge from position 2 to 3"},
		{"bow-tie across the anti-meridian", polygonFence(1, orb.Ring{{179.5, 0}, {-179.5, 1}, {-179.5, 0}, {179.5, 1}, {179.5, 0}}), "geometry.coordinates[0]", "intersects itself"},
		{"spike folding back", polygonFence(1, orb.Ring{{0, 0}, {2, 0}, {2, 2}, {2, 1}, {0, 0}}), "geometry.coordinates[0]", "intersects itself"},
		{"corner touching an edge", polygonFence(1, orb.Ring{{0, 0}, {2, 0}, {2, 2}, {1, 0}, {0, 2}, {0, 0}}), "geometry.coordinates[0]", "intersects itself"},
		{"hole crossing the shell", polygonFence(1, unit, square(0.5, 0.5, 1.5, 0.8)), "geometry.coordinates[1]", "ring 1 touches or crosses ring 0"},
		{"hole outside", polygonFence(1, unit, square(2, 2, 3, 3)), "geometry.coordinates[1]", "hole is not inside the outer ring"},
		{"ring around the pole", polygonFence(1, orb.Ring{{0, 80}, {90, 80}, {180, 80}, {-90, 80}, {0, 80}}), "geometry.coordinates[0]", "winds around a pole"},
		{"empty multipolygon", Fence{ID: 1, Kind: KindPatrol, Geometry: orb.MultiPolygon{}}, "geometry.coordinates", "empty"},
		{"bad second part", Fence{ID: 1, Kind: KindPatrol, Geometry: orb.MultiPolygon{{unit}, {orb.Ring{{0, 0}, {1, 0}, {0, 0}}}}}, "geometry.coordinates[1][0]", "at least 4"},
		{"polygon with a radius", Fence{ID: 1, Kind: KindPatrol, Geometry: orb.Polygon{unit}, RadiusM: 5}, "radius_m", "only circles"},
		{"zero radius", NewCircle(1, "c", KindPatrol, 10, 50, 0), "radius_m", "must be a positive number of metres, got 0"},
		{"NaN radius", NewCircle(1, "c", KindPatrol, 10, 50, math.NaN()), "radius_m", "positive"},
		{"huge radius", NewCircle(1, "c", KindPatrol, 10, 50, 2e7), "radius_m", "must be less than"},
		{"circle centre out of range", NewCircle(1, "c", KindPatrol, 10, 95, 10), "geometry.coordinates", "latitude 95"},
		{"circle with a half-width", Fence{ID: 1, Kind: KindPatrol, Geometry: orb.Point{1, 1}, RadiusM: 5, HalfWidthM: 5}, "half_width_m", "only corridors"},
		{"one-point corridor", NewCorridor(1, "r", KindPatrol, orb.LineString{{0, 0}}, 10), "geometry.coordinates", "at least 2 positions, got 1"},
		{"negative half-width", NewCorridor(1, "r", KindPatrol, line, -1), "half_width_m", "got -1"},
		{"antipodal corridor", NewCorridor(1, "r", KindPatrol, orb.LineString{{0, 10}, {180, -10}}, 10), "geometry.coordinates[1]", "antipodal"},
		{"corridor with a radius", Fence{ID: 1, Kind: KindPatrol, Geometry: line, HalfWidthM: 5, RadiusM: 5}, "radius_m", "only circles"},
		{"multilinestring", Fence{ID: 1, Kind: KindPatrol, Geometry: orb.MultiLineString{line}}, "geometry.type", "MultiLineString is not a fence geometry"},
	} {
		err := c.fence.Validate()
		if c.reason == "" {
			if err != nil {
				t.Errorf("%s: unexpected error %v", c.name, err)
			}
			continue
		}
		var verr *ValidationError
		if !errors.As(err, &verr) || verr.Field != c.field || !strings.Contains(verr.Reason, c.reason) || verr.FenceID != 1 {
			t.Errorf("%s: err = %v, want field %q reason containing %q", c.name, err, c.field, c.reason)
		}
	}
}

func TestValidationErrorMessage(t *testing.T) {
	err := NewCircle(5, "c", KindRestricted, 10, 50, -3).Validate()
	if err.Error() != "fence 5: radius_m: must be a positive number of metres, got -3" {
		t.Fatalf("message %q", err)
	}
	_, err = NewIndex([]Fence{polygonFence(1, square(0, 0, 1, 1)), NewCircle(5, "c", KindRestricted, 10, 50, -3)})
	var verr *ValidationError
	if !errors.As(err, &verr) || err.Error() != "fences[1]: fence 5: radius_m: must be a positive number of metres, got -3" {
		t.Fatalf("NewIndex error %q", err)
	}
	_, err = NewIndex([]Fence{polygonFence(1, square(0, 0, 1, 1)), polygonFence(1, square(0, 0, 1, 1))})
	if !errors.As(err, &verr) || verr.Field != "id" || err.Error() != "fences[1]: fence 1: id: used by another fence" {
		t.Fatalf("duplicate id error %q", err)
	}
}
