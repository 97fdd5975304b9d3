package geo

import (
	"cmp"
	"fmt"
	"math"
	"slices"

	"github.com/paulmach/orb"
)

// ValidationError names the field of a fence that is wrong and why. Field
// uses the GeoJSON names: "geometry.coordinates[0][3]", "radius_m",
// "half_width_m", "kind", "geometry".
type ValidationError struct {
	FenceID int64
	Field   string
	Reason  string
}

func (e *ValidationError) Error() string {
	if e.FenceID != 0 {
		return fmt.Sprintf("fence %d: %s: %s", e.FenceID, e.Field, e.Reason)
	}
	return e.Field + ": " + e.Reason
}

// maxRadiusM keeps circles and corridors smaller than a hemisphere, where
// "inside" would stop meaning the smaller side.
const maxRadiusM = math.Pi * EarthRadiusM / 2

// Validate checks a fence. Rings must be closed (last position equal to the
// first, as RFC 7946 requires); the Traccar importer closes its open rings
// itself. Rings must not cross themselves or each other, and holes must lie
// in their outer ring.
func (f Fence) Validate() error {
	if err := f.validate(); err != nil {
		err.FenceID = f.ID
		return err
	}
	return nil
}

func (f Fence) validate() *ValidationError {
	if !f.Kind.valid() {
		return fail("kind", fmt.Sprintf("%q is not one of restricted, patrol, monitoring", f.Kind))
	}
	if f.Geometry == nil {
		return fail("geometry", "empty")
	}
	const coords = "geometry.coordinates"
	switch g := f.Geometry.(type) {
	case orb.Point:
		if reason := positionProblem(g); reason != "" {
			return fail(coords, reason)
		}
		if err := checkLength(f.RadiusM, "radius_m"); err != nil {
			return err
		}
		return mustBeZero(f.HalfWidthM, "half_width_m", "only corridors (LineString) have a half-width")
	case orb.LineString:
		if err := validateLine(g, coords); err != nil {
			return err
		}
		if err := checkLength(f.HalfWidthM, "half_width_m"); err != nil {
			return err
		}
		return mustBeZero(f.RadiusM, "radius_m", "only circles (Point) have a radius")
	case orb.Polygon:
		if err := validatePolygon(g, coords); err != nil {
			return err
		}
	case orb.MultiPolygon:
		if len(g) == 0 {
			return fail(coords, "empty")
		}
		for i, p := range g {
			if err := validatePolygon(p, fmt.Sprintf("%s[%d]", coords, i)); err != nil {
				return err
			}
		}
	default:
		return fail("geometry.type", fmt.Sprintf("%s is not a fence geometry (Polygon, MultiPolygon, Point with radius_m, LineString with half_width_m)", f.Geometry.GeoJSONType()))
	}
	if err := mustBeZero(f.RadiusM, "radius_m", "only circles (Point) have a radius"); err != nil {
		return err
	}
	return mustBeZero(f.HalfWidthM, "half_width_m", "only corridors (LineString) have a half-width")
}

func fail(field, reason string) *ValidationError {
	return &ValidationError{Field: field, Reason: reason}
}

func finite(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }

// positionProblem says what is wrong with a position, or "" if nothing.
// Callers build the field name only on error: validation runs on every
// vertex of every fence when an index is built.
func positionProblem(p orb.Point) string {
	if !finite(p[0]) || p[0] < -180 || p[0] > 180 {
		return fmt.Sprintf("longitude %v is not in [-180, 180]", p[0])
	}
	if !finite(p[1]) || p[1] < -90 || p[1] > 90 {
		return fmt.Sprintf("latitude %v is not in [-90, 90]", p[1])
	}
	return ""
}

func checkPositions(ps []orb.Point, field string) *ValidationError {
	for i, p := range ps {
		if reason := positionProblem(p); reason != "" {
			return fail(fmt.Sprintf("%s[%d]", field, i), reason)
		}
	}
	return nil
}

func checkLength(v float64, field string) *ValidationError {
	if !finite(v) || v <= 0 {
		return fail(field, fmt.Sprintf("must be a positive number of metres, got %v", v))
	}
	if v >= maxRadiusM {
		return fail(field, fmt.Sprintf("must be less than %.0f m (a quarter of the Earth's circumference)", maxRadiusM))
	}
	return nil
}

func mustBeZero(v float64, field, why string) *ValidationError {
	if v != 0 {
		return fail(field, why)
	}
	return nil
}

func validateLine(l orb.LineString, field string) *ValidationError {
	if len(l) < 2 {
		return fail(field, fmt.Sprintf("a corridor line needs at least 2 positions, got %d", len(l)))
	}
	if err := checkPositions(l, field); err != nil {
		return err
	}
	for i := 1; i < len(l); i++ {
		// The great circle through antipodal points is undefined.
		if chord2(unitVector(l[i-1][0], l[i-1][1]), unitVector(l[i][0], l[i][1])) > 4-1e-12 {
			return fail(fmt.Sprintf("%s[%d]", field, i), "antipodal to the previous position")
		}
	}
	return nil
}

// vertex is a ring corner in unwrapped longitudes; pos is its index in the
// ring as given, for error messages.
type vertex struct {
	x, y float64
	pos  int
}

func validatePolygon(p orb.Polygon, field string) *ValidationError {
	if len(p) == 0 {
		return fail(field, "a polygon needs an outer ring")
	}
	rings := make([][]vertex, len(p))
	for i, r := range p {
		rf := fmt.Sprintf("%s[%d]", field, i)
		if len(r) < 4 {
			return fail(rf, fmt.Sprintf("a ring needs at least 4 positions (3 corners and the closing one), got %d", len(r)))
		}
		if err := checkPositions(r, rf); err != nil {
			return err
		}
		if r[0] != r[len(r)-1] {
			return fail(rf, "ring is not closed: the last position must equal the first")
		}
		ref := r[0][0]
		if i > 0 {
			ref = rings[0][0].x
		}
		vs := unwrapRing(r, ref)
		if vs[len(vs)-1].x != vs[0].x {
			return fail(rf, "ring winds around a pole; split it into rings that do not")
		}
		if len(vs) < 4 {
			return fail(rf, "a ring needs 3 distinct corners")
		}
		rings[i] = vs
	}
	if err := findCrossing(rings, field); err != nil {
		return err
	}
	for i := 1; i < len(rings); i++ {
		if !ringContains(rings[0], rings[i][0].x, rings[i][0].y) {
			return fail(fmt.Sprintf("%s[%d]", field, i), "hole is not inside the outer ring")
		}
	}
	return nil
}

// unwrapRing returns the ring's corners with longitudes made continuous
// (starting near ref) and consecutive duplicates dropped.
func unwrapRing(r orb.Ring, ref float64) []vertex {
	vs := make([]vertex, 0, len(r))
	x := ref
	for j, pt := range r {
		x = unwrapNear(pt[0], x)
		if n := len(vs); n > 0 && vs[n-1].x == x && vs[n-1].y == pt[1] {
			continue
		}
		vs = append(vs, vertex{x, pt[1], j})
	}
	return vs
}

func ringContains(vs []vertex, x, y float64) bool {
	in := false
	for i := 1; i < len(vs); i++ {
		a, b := vs[i-1], vs[i]
		if (a.y > y) != (b.y > y) && x < a.x+(y-a.y)*(b.x-a.x)/(b.y-a.y) {
			in = !in
		}
	}
	return in
}

type sweepEdge struct {
	ring, idx, edges int // edges: how many edges the ring has
	a, b             vertex
	minX, maxX       float64
	minY, maxY       float64
}

// findCrossing reports the first pair of edges that touch or cross, other
// than neighbours meeting at their shared corner. Edges are swept in order
// of their west end so only pairs that overlap in longitude are compared.
func findCrossing(rings [][]vertex, field string) *ValidationError {
	var edges []sweepEdge
	for r, vs := range rings {
		for i := 1; i < len(vs); i++ {
			a, b := vs[i-1], vs[i]
			edges = append(edges, sweepEdge{
				ring: r, idx: i - 1, edges: len(vs) - 1, a: a, b: b,
				minX: math.Min(a.x, b.x), maxX: math.Max(a.x, b.x),
				minY: math.Min(a.y, b.y), maxY: math.Max(a.y, b.y),
			})
		}
	}
	slices.SortFunc(edges, func(a, b sweepEdge) int { return cmp.Compare(a.minX, b.minX) })
	for i := range edges {
		e := &edges[i]
		for j := i + 1; j < len(edges) && edges[j].minX <= e.maxX; j++ {
			o := &edges[j]
			if o.minY > e.maxY || o.maxY < e.minY || !edgesMeet(e, o) {
				continue
			}
			if e.ring != o.ring {
				lo, hi := min(e.ring, o.ring), max(e.ring, o.ring)
				return fail(fmt.Sprintf("%s[%d]", field, hi), fmt.Sprintf("ring %d touches or crosses ring %d", hi, lo))
			}
			first, second := e, o
			if first.idx > second.idx {
				first, second = second, first
			}
			return fail(fmt.Sprintf("%s[%d]", field, e.ring), fmt.Sprintf(
				"ring intersects itself: the edge from position %d to %d meets the edge from position %d to %d",
				first.a.pos, first.b.pos, second.a.pos, second.b.pos))
		}
	}
	return nil
}

// edgesMeet reports whether two edges share a point they should not.
// Neighbouring edges of one ring share a corner; they only meet wrongly if
// they fold back over each other.
func edgesMeet(e, o *sweepEdge) bool {
	if e.ring == o.ring {
		lo, hi := min(e.idx, o.idx), max(e.idx, o.idx)
		if hi-lo == 1 || (lo == 0 && hi == e.edges-1) {
			// Name the edges so that they meet at p: u = p→q, v = p→r.
			var p, q, r vertex
			switch {
			case sameXY(e.b, o.a):
				p, q, r = e.b, e.a, o.b
			case sameXY(e.a, o.b):
				p, q, r = e.a, e.b, o.a
			default:
				return segmentsMeet(e.a, e.b, o.a, o.b)
			}
			return orient(p, q, r) == 0 && (q.x-p.x)*(r.x-p.x)+(q.y-p.y)*(r.y-p.y) > 0
		}
	}
	return segmentsMeet(e.a, e.b, o.a, o.b)
}

func sameXY(a, b vertex) bool { return a.x == b.x && a.y == b.y }

// orient is positive when c is left of a→b, negative when right, 0 on the line.
func orient(a, b, c vertex) float64 { return (b.x-a.x)*(c.y-a.y) - (b.y-a.y)*(c.x-a.x) }

func segmentsMeet(a, b, c, d vertex) bool {
	d1, d2 := orient(c, d, a), orient(c, d, b)
	d3, d4 := orient(a, b, c), orient(a, b, d)
	if ((d1 > 0 && d2 < 0) || (d1 < 0 && d2 > 0)) && ((d3 > 0 && d4 < 0) || (d3 < 0 && d4 > 0)) {
		return true
	}
	return (d1 == 0 && within(c, d, a)) || (d2 == 0 && within(c, d, b)) ||
		(d3 == 0 && within(a, b, c)) || (d4 == 0 && within(a, b, d))
}

// within reports whether p, known to be on the line a–b, lies on the segment.
func within(a, b, p vertex) bool {
	return p.x >= math.Min(a.x, b.x) && p.x <= math.Max(a.x, b.x) &&
		p.y >= math.Min(a.y, b.y) && p.y <= math.Max(a.y, b.y)
}
