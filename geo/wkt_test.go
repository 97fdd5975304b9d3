package geo

import (
	"errors"
	"strings"
	"testing"

	"github.com/paulmach/orb"
)

// Vectors from Traccar's Geofence{Circle,Polygon,Polyline}Test: its WKT is
// latitude first, and so are its test points (lat, lon).

func traccarIndex(t *testing.T, area string, distance float64) (*Index, Fence) {
	t.Helper()
	f, err := FromTraccar(TraccarGeofence{ID: 1, Name: "t", Area: area, PolylineDistance: distance}, KindRestricted)
	if err != nil {
		t.Fatal(err)
	}
	return mustIndex(t, f), f
}

func assertTraccarPoint(t *testing.T, ix *Index, lat, lon float64, inside bool) {
	t.Helper()
	got := len(ix.Containing(lon, lat, nil)) == 1
	if got != inside {
		t.Fatalf("lat %v lon %v: inside = %v, want %v", lat, lon, got, inside)
	}
}

func TestTraccarCircle(t *testing.T) {
	const area = "CIRCLE (55.75414 37.6204, 100)"
	ix, f := traccarIndex(t, area, 0)
	if f.Geometry != (orb.Point{37.6204, 55.75414}) || f.RadiusM != 100 {
		t.Fatalf("parsed %v r=%v, want [37.6204 55.75414] r=100", f.Geometry, f.RadiusM)
	}
	assertTraccarPoint(t, ix, 55.75477, 37.62025, true)
	assertTraccarPoint(t, ix, 55.75545, 37.61921, false)
	for _, bearing := range []float64{0, 90, 200, 315} {
		lon, lat := destination(37.6204, 55.75414, bearing, 50)
		assertTraccarPoint(t, ix, lat, lon, true)
		lon, lat = destination(37.6204, 55.75414, bearing, 150)
		assertTraccarPoint(t, ix, lat, lon, false)
	}
	assertRoundTrip(t, f, area, 0)
}

func assertRoundTrip(t *testing.T, f Fence, wantArea string, wantDistance float64) {
	t.Helper()
	g, err := ToTraccar(f)
	if err != nil {
		t.Fatal(err)
	}
	if g.Area != wantArea || g.PolylineDistance != wantDistance || g.ID != f.ID || g.Name != f.Name {
		t.Fatalf("ToTraccar = %+v, want area %q distance %v", g, wantArea, wantDistance)
	}
}

func TestTraccarPolygon(t *testing.T) {
	const area = "POLYGON ((55.75474 37.61823, 55.75513 37.61888, 55.7535 37.6222, 55.75315 37.62165))"
	ix, f := traccarIndex(t, area, 0)
	ring := f.Geometry.(orb.Polygon)[0]
	if len(ring) != 5 || ring[0] != ring[4] || ring[1] != (orb.Point{37.61888, 55.75513}) {
		t.Fatalf("ring %v: want 4 corners in [lon, lat], closed", ring)
	}
	assertTraccarPoint(t, ix, 55.75476, 37.61915, true)
	assertTraccarPoint(t, ix, 55.75545, 37.61921, false)
	assertRoundTrip(t, f, area, 0)
}

func TestTraccarPolygonAcrossAntimeridian(t *testing.T) {
	ix, f := traccarIndex(t, "POLYGON ((66.9494 179.838, 66.9508 -179.8496, 66.8406 -180.0014))", 0)
	assertTraccarPoint(t, ix, 66.9015, -180.0096, true)
	assertTraccarPoint(t, ix, 66.9015, 179.991, true)
	assertTraccarPoint(t, ix, 66.8368, -179.8792, false)
	// -180.0014 is read as 179.9986.
	assertRoundTrip(t, f, "POLYGON ((66.9494 179.838, 66.9508 -179.8496, 66.8406 179.9986))", 0)
}

func TestTraccarPolygonAcrossPrimeMeridian(t *testing.T) {
	ix, _ := traccarIndex(t, "POLYGON ((51.1966 -0.6207, 51.1897 0.4147, 50.9377 0.5136, 50.8675 -0.6082))", 0)
	assertTraccarPoint(t, ix, 51.0466, -0.0165, true)
	assertTraccarPoint(t, ix, 51.0466, 0.018, true)
	assertTraccarPoint(t, ix, 50.9477, 0.5836, false)
}

func TestTraccarSelfCrossingPolygonIsRejected(t *testing.T) {
	// Traccar evaluates this bow-tie with the even-odd rule; we refuse it.
	_, err := FromTraccar(TraccarGeofence{ID: 4, Area: "POLYGON ((50.0000 50.000, -50.0000 50.0000, 0.0000 100.0000, 0.0000 0.0000))"}, KindPatrol)
	var verr *ValidationError
	if !errors.As(err, &verr) || verr.Field != "area" || verr.FenceID != 4 ||
		verr.Reason != "ring intersects itself: the edge from position 0 to 1 meets the edge from position 2 to 3" {
		t.Fatalf("err = %v", err)
	}
}

func TestTraccarCorridor(t *testing.T) {
	const line = "LINESTRING (56.83777 60.59833, 56.83766 60.5968)"
	ix, f := traccarIndex(t, line, 35)
	if f.HalfWidthM != 35 {
		t.Fatalf("half-width %v, want 35", f.HalfWidthM)
	}
	assertTraccarPoint(t, ix, 56.83801, 60.59748, true)
	ix, _ = traccarIndex(t, line, 15)
	assertTraccarPoint(t, ix, 56.83801, 60.59748, false)

	ix, _ = traccarIndex(t, "LINESTRING (56.836 60.6126, 56.8393 60.6114, 56.83887 60.60811, 56.83782 60.5988)", 15)
	assertTraccarPoint(t, ix, 56.83847, 60.60458, true)
	assertTraccarPoint(t, ix, 56.83764, 60.59725, false)
	assertTraccarPoint(t, ix, 56.83861, 60.60822, false)

	ix, _ = traccarIndex(t, "LINESTRING (66.9494 179.838, 66.9508 -179.8496)", 25)
	assertTraccarPoint(t, ix, 66.95, 180.0, true)
	assertTraccarPoint(t, ix, 66.96, 180.0, false)
	assertTraccarPoint(t, ix, 66.9509, -179.83, false)

	const wkt = "LINESTRING (55.75474 37.61823, 55.75513 37.61888, 55.7535 37.6222, 55.75315 37.62165)"
	_, f = traccarIndex(t, wkt, 20)
	assertRoundTrip(t, f, wkt, 20)
}

func TestTraccarErrors(t *testing.T) {
	for _, c := range []struct {
		area     string
		distance float64
		field    string
		reason   string
	}{
		{"CIRCLE (55.75414 37.6204, -5)", 0, "area", "must be a positive number of metres"},
		{"CIRCLE (95 37.6204, 5)", 0, "area", "latitude 95 is not in [-90, 90]"},
		{"CIRCLE (55.75414, 5)", 0, "area", `want "lat lon"`},
		{"TRIANGLE ((1 2, 3 4, 5 6))", 0, "area", "is not CIRCLE, POLYGON or LINESTRING"},
		{"POLYGON ((1 2, 3 4))", 0, "area", "at least 4 positions"},
		{"POLYGON ((1 2, 3 4, 5 6), (1 1, 2 2, 3 1))", 0, "area", "no holes"},
		{"POLYGON ((1 2, 3 4, 5 6)", 0, "area", "unbalanced parentheses"},
		{"LINESTRING (1 2, 3 x)", 10, "area", "is not two numbers"},
		{"LINESTRING (1 2, 3 4)", 0, "polylineDistance", "must be a positive number of metres"},
	} {
		_, err := FromTraccar(TraccarGeofence{ID: 7, Area: c.area, PolylineDistance: c.distance}, KindRestricted)
		var verr *ValidationError
		if !errors.As(err, &verr) || verr.Field != c.field || !strings.Contains(verr.Reason, c.reason) || verr.FenceID != 7 {
			t.Errorf("%s: err = %v, want field %s reason containing %q", c.area, err, c.field, c.reason)
		}
	}
	hole := polygonFence(3, square(0, 0, 1, 1), square(0.2, 0.2, 0.4, 0.4))
	if _, err := ToTraccar(hole); err == nil || !strings.Contains(err.Error(), "holes") {
		t.Fatalf("ToTraccar with a hole: %v", err)
	}
}
