package geo

import "github.com/paulmach/orb"

// Kind says what crossing a fence means to the alarm rules.
type Kind string

const (
	// KindRestricted is a zone vehicles must not enter: alarm on Enter.
	KindRestricted Kind = "restricted"
	// KindPatrol is an area vehicles must stay in: alarm on Exit.
	KindPatrol Kind = "patrol"
	// KindMonitoring is a zone with its own dose levels; crossing it
	// raises no alarm by itself.
	KindMonitoring Kind = "monitoring"
)

// AlarmsOn reports whether an event of type t on a fence of this kind is
// an alarm by itself (Enter for restricted zones, Exit for patrol areas).
func (k Kind) AlarmsOn(t EventType) bool {
	return (k == KindRestricted && t == EventEnter) || (k == KindPatrol && t == EventExit)
}

func (k Kind) valid() bool {
	return k == KindRestricted || k == KindPatrol || k == KindMonitoring
}

// Fence is one geofence. Geometry is one of
//   - orb.Polygon or orb.MultiPolygon: closed rings, outer ring first, then holes;
//   - orb.Point with RadiusM > 0: a circle (great-circle distance);
//   - orb.LineString with HalfWidthM > 0: a corridor along the line.
//
// RadiusM and HalfWidthM must be zero for the other geometries.
type Fence struct {
	ID         int64
	Name       string
	Kind       Kind
	Geometry   orb.Geometry
	RadiusM    float64
	HalfWidthM float64
}

// NewCircle returns a circular fence around lon, lat.
func NewCircle(id int64, name string, kind Kind, lon, lat, radiusM float64) Fence {
	return Fence{ID: id, Name: name, Kind: kind, Geometry: orb.Point{lon, lat}, RadiusM: radiusM}
}

// NewCorridor returns a fence covering every point within halfWidthM of line.
func NewCorridor(id int64, name string, kind Kind, line orb.LineString, halfWidthM float64) Fence {
	return Fence{ID: id, Name: name, Kind: kind, Geometry: line, HalfWidthM: halfWidthM}
}
