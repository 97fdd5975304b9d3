package sim

import "encoding/json"

// BBox is a WGS84 bounding box.
type BBox struct{ West, South, East, North float64 }

// Contains reports whether p lies inside the box (edges included).
func (b BBox) Contains(p LonLat) bool {
	return p.Lon >= b.West && p.Lon <= b.East && p.Lat >= b.South && p.Lat <= b.North
}

// Zone is a polygon fence the demo creates through the fences API.
type Zone struct {
	Name string
	Kind string   // a fence kind: "restricted", "monitoring", "patrol"
	Ring []LonLat // exterior ring, counter-clockwise, not closed
}

// MarshalJSON renders the zone as a GeoJSON Feature (RFC 7946, [lon, lat])
// with properties.name and properties.kind, as POST /api/v1/fences takes it.
func (z Zone) MarshalJSON() ([]byte, error) {
	ring := make([][2]float64, 0, len(z.Ring)+1)
	for _, p := range z.Ring {
		ring = append(ring, [2]float64{p.Lon, p.Lat})
	}
	if len(z.Ring) > 0 {
		ring = append(ring, [2]float64{z.Ring[0].Lon, z.Ring[0].Lat})
	}
	return json.Marshal(map[string]any{
		"type":       "Feature",
		"geometry":   map[string]any{"type": "Polygon", "coordinates": [][][2]float64{ring}},
		"properties": map[string]any{"name": z.Name, "kind": z.Kind},
	})
}

// Contains reports whether p is inside the zone (even-odd rule).
func (z Zone) Contains(p LonLat) bool {
	in := false
	n := len(z.Ring)
	for i, j := 0, n-1; i < n; j, i = i, i+1 {
		a, b := z.Ring[i], z.Ring[j]
		if (a.Lat > p.Lat) != (b.Lat > p.Lat) &&
			p.Lon < (b.Lon-a.Lon)*(p.Lat-a.Lat)/(b.Lat-a.Lat)+a.Lon {
			in = !in
		}
	}
	return in
}
