package sim

import (
	"encoding/json"
	"testing"

	"github.com/radtrack/radtrack/siteplan"
)

// The demo's plan is a valid site plan, and every segment a patrol drives
// is a segment of one of its roads: the vehicles drive on drawn roads.
func TestDefaultSitePlanDrawsTheRoadsThePatrolsDrive(t *testing.T) {
	l := DefaultLayout()
	data, err := l.SitePlan()
	if err != nil {
		t.Fatal(err)
	}
	plan, err := siteplan.ParseGeoJSON(data)
	if err != nil {
		t.Fatalf("the demo plan is not a valid site plan: %v", err)
	}
	roads := map[string][][]float64{}
	kinds := map[string]int{}
	for _, f := range plan.Features {
		kinds[f.Properties["kind"].(string)]++
		if f.Properties["kind"] == "road" {
			roads[f.Properties["name"].(string)] = f.Geometry.Coordinates.([][]float64)
		}
	}
	for _, k := range []string{"road", "quay", "stack", "yard", "bay", "water"} {
		if kinds[k] == 0 {
			t.Errorf("the plan has no %s", k)
		}
	}
	for _, r := range l.Routes {
		line, ok := roads[r.Name]
		if !ok {
			t.Fatalf("route %q has no road", r.Name)
		}
		pts := r.Waypoints()
		if len(line) != len(pts)+1 {
			t.Fatalf("road %q has %d positions, want %d (the loop closed)", r.Name, len(line), len(pts)+1)
		}
		for i, p := range append(pts, pts[0]) {
			want := l.Frame.LonLat(p)
			if line[i][0] != want.Lon || line[i][1] != want.Lat {
				t.Fatalf("road %q position %d = %v, want the route's waypoint %v", r.Name, i, line[i], want)
			}
		}
		// A position the simulator puts a vehicle at lies on the road.
		for d := 0.0; d < r.Length(); d += r.Length() / 37 {
			xy, _ := r.At(d)
			if !onLine(l, line, xy) {
				t.Fatalf("route %q at %.0f m (%v) is off its road", r.Name, d, xy)
			}
		}
	}
	if _, err := json.Marshal(plan); err != nil {
		t.Fatal(err)
	}
}

// onLine reports whether p is within 0.5 m of the polyline (lon/lat).
func onLine(l Layout, line [][]float64, p XY) bool {
	for i := 1; i < len(line); i++ {
		a := l.Frame.XY(LonLat{line[i-1][0], line[i-1][1]})
		b := l.Frame.XY(LonLat{line[i][0], line[i][1]})
		dx, dy := b.X-a.X, b.Y-a.Y
		t := ((p.X-a.X)*dx + (p.Y-a.Y)*dy) / (dx*dx + dy*dy)
		t = max(0, min(1, t))
		ex, ey := a.X+t*dx-p.X, a.Y+t*dy-p.Y
		if ex*ex+ey*ey < 0.25 {
			return true
		}
	}
	return false
}
