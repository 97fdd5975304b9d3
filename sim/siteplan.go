package sim

import "encoding/json"

// PlanItem is a drawn element of a layout's site plan besides its roads:
// the ground, a quay, a container stack, the customs yard, an inspection bay.
type PlanItem struct {
	Name string
	Kind string // a site-plan kind: land, quay, stack, yard, bay, building, gate, water
	Ring []XY   // polygon in the layout's plane, not closed
}

// SitePlanName is the name the demo stores its layout's plan under.
func (l Layout) SitePlanName() string { return l.Name + " — site plan" }

// SitePlan is the layout as a GeoJSON FeatureCollection for the overlays
// API: every route as a road (so the vehicles, which drive exactly these
// segments, are seen driving on roads), and the layout's drawn items.
func (l Layout) SitePlan() ([]byte, error) {
	type feature struct {
		Type       string         `json:"type"`
		Geometry   map[string]any `json:"geometry"`
		Properties map[string]any `json:"properties"`
	}
	var fs []feature
	lonlat := func(p XY) [2]float64 {
		q := l.Frame.LonLat(p)
		return [2]float64{q.Lon, q.Lat}
	}
	for _, r := range l.Routes {
		pts := r.Waypoints()
		line := make([][2]float64, 0, len(pts)+1)
		for _, p := range pts {
			line = append(line, lonlat(p))
		}
		line = append(line, lonlat(pts[0])) // a loop: back to the start
		fs = append(fs, feature{"Feature", map[string]any{"type": "LineString", "coordinates": line},
			map[string]any{"kind": "road", "name": r.Name}})
	}
	for _, it := range l.Plan {
		ring := make([][2]float64, 0, len(it.Ring)+1)
		for _, p := range it.Ring {
			ring = append(ring, lonlat(p))
		}
		ring = append(ring, lonlat(it.Ring[0]))
		fs = append(fs, feature{"Feature", map[string]any{"type": "Polygon", "coordinates": [][][2]float64{ring}},
			map[string]any{"kind": it.Kind, "name": it.Name}})
	}
	return json.Marshal(map[string]any{"type": "FeatureCollection", "features": fs})
}

// rect is an axis-aligned rectangle in the layout's plane.
func rect(minX, minY, maxX, maxY float64) []XY {
	return []XY{{minX, minY}, {maxX, minY}, {maxX, maxY}, {minX, maxY}}
}

// defaultPlan draws the stylised Maasvlakte port around DefaultLayout's
// roads: the harbour basin between the quay and the perimeter (breakwater)
// road, the quay apron, container stacks inside the terminal loop (the
// hidden source lies by the south-west corner of the third), the customs
// yard with its two inspection bays beside the customs loop's stop, and
// the land-side gate.
func defaultPlan() []PlanItem {
	items := []PlanItem{
		// The reclaimed land the terminal stands on (drawn first, under the rest).
		{Name: "", Kind: "land", Ring: rect(-3150, -2150, 3150, 2150)},
		{Name: "Yangtzehaven basin", Kind: "water", Ring: rect(-2900, -1960, 2900, -1790)},
		{Name: "Quay 1–4 apron", Kind: "quay", Ring: rect(-2800, -1790, 2600, -1700)},
		{Name: "Customs inspection yard", Kind: "yard", Ring: rect(1450, 450, 2150, 1050)},
		{Name: "Inspection bay 1", Kind: "bay", Ring: rect(1830, 700, 1900, 800)},
		{Name: "Inspection bay 2", Kind: "bay", Ring: rect(1700, 700, 1770, 800)},
		{Name: "Land-side gate", Kind: "gate", Ring: rect(2850, 850, 2950, 950)},
		{Name: "Terminal office", Kind: "building", Ring: rect(800, -200, 950, -120)},
		{Name: "Reefer rack", Kind: "building", Ring: rect(-700, 930, -500, 990)},
	}
	// Container stacks inside the terminal loop, two rows of six.
	names := []string{"A", "B", "C", "D", "E", "F"}
	for i, x := 0, -1900.0; x+300 <= 650; i, x = i+1, x+420 {
		items = append(items,
			PlanItem{Name: "Stack " + names[i%len(names)] + "1", Kind: "stack", Ring: rect(x, -620, x+300, -120)},
			PlanItem{Name: "Stack " + names[i%len(names)] + "2", Kind: "stack", Ring: rect(x, 220, x+300, 820)})
	}
	return items
}
