package geo

import (
	"math"

	"github.com/paulmach/orb"
)

// corridorShape is every point within halfWidth of a line whose segments
// are great-circle arcs. Segments are grouped in chunks, each its own index
// entry, so a long route only tests the segments near the point.
type corridorShape struct {
	arcs       []arc
	chunks     []box // unwrapped bound of each chunk of segmentsPerChunk arcs
	halfWidthM float64
	maxSine    float64 // sine of the half-width angle: distance test to an arc's plane
	maxChord2  float64 // squared chord of the half-width: distance test to an end
}

const segmentsPerChunk = 8

// arc is one segment a→b. n is the unit normal of its great circle; a point
// p projects inside the arc when toA·p >= 0 and toB·p >= 0.
type arc struct {
	a, b, n, toA, toB vec3
	degenerate        bool // a == b: the distance is to a
}

func compileCorridor(line orb.LineString, halfWidthM float64) *corridorShape {
	angle := halfWidthM / EarthRadiusM
	chord := chordForAngle(angle)
	s := &corridorShape{halfWidthM: halfWidthM, maxSine: math.Sin(angle), maxChord2: chord * chord}
	prevX := line[0][0]
	for i := 1; i < len(line); i++ {
		p, q := line[i-1], line[i]
		a, b := unitVector(p[0], p[1]), unitVector(q[0], q[1])
		ar := arc{a: a, b: b}
		n := a.cross(b)
		if l := n.norm(); l > 1e-15 {
			ar.n = n.scale(1 / l)
			ar.toA = ar.n.cross(a)
			ar.toB = b.cross(ar.n)
		} else {
			ar.degenerate = true
		}
		s.arcs = append(s.arcs, ar)

		xa := unwrapNear(p[0], prevX)
		xb := unwrapNear(q[0], xa)
		prevX = xb
		b0 := arcBound(ar, xa, p[1], xb, q[1], angle)
		if c := (i - 1) / segmentsPerChunk; c == len(s.chunks) {
			s.chunks = append(s.chunks, b0)
		} else {
			s.chunks[c] = unionUnwrapped(s.chunks[c], b0)
		}
	}
	return s
}

// unionUnwrapped joins two boxes whose longitudes may be unwrapped
// differently (a box spanning every longitude absorbs the other).
func unionUnwrapped(a, b box) box {
	if a.maxX-a.minX >= 360 || b.maxX-b.minX >= 360 {
		return box{-180, math.Min(a.minY, b.minY), 180, math.Max(a.maxY, b.maxY)}
	}
	return a.union(b)
}

// arcBound is the box of all points within angle (radians) of the arc.
// A great circle bulges poleward between its ends, so its extreme latitude
// is included when it falls inside the arc.
func arcBound(ar arc, xa, ya, xb, yb, angle float64) box {
	minLat, maxLat := math.Min(ya, yb), math.Max(ya, yb)
	if !ar.degenerate {
		// The point of the great circle nearest the north pole.
		top := vec3{-ar.n.z * ar.n.x, -ar.n.z * ar.n.y, 1 - ar.n.z*ar.n.z}
		if l := top.norm(); l > 1e-15 {
			top = top.scale(1 / l)
			if ar.toA.dot(top) >= 0 && ar.toB.dot(top) >= 0 {
				maxLat = math.Max(maxLat, top.lat())
			}
			bottom := top.scale(-1)
			if ar.toA.dot(bottom) >= 0 && ar.toB.dot(bottom) >= 0 {
				minLat = math.Min(minLat, bottom.lat())
			}
		}
	}
	dLat := angle * radToDeg
	dLon, ok := capLonExtent(angle, math.Max(math.Abs(minLat), math.Abs(maxLat)))
	if !ok {
		return box{-180, math.Max(-90, minLat-dLat), 180, math.Min(90, maxLat+dLat)}
	}
	return box{math.Min(xa, xb) - dLon, minLat - dLat, math.Max(xa, xb) + dLon, maxLat + dLat}
}

func (s *corridorShape) entries() []shapeEntry {
	var es []shapeEntry
	for i, c := range s.chunks {
		es = entriesFor(es, c, int32(i))
	}
	return es
}

// near reports whether p is within the half-width of the arc, comparing
// sines and chords so that no trigonometry is needed.
func (s *corridorShape) near(ar *arc, p vec3) bool {
	if chord2(p, ar.a) <= s.maxChord2 || chord2(p, ar.b) <= s.maxChord2 {
		return true
	}
	return !ar.degenerate && ar.toA.dot(p) >= 0 && ar.toB.dot(p) >= 0 && math.Abs(ar.n.dot(p)) <= s.maxSine
}

func (s *corridorShape) containsPart(part int32, q query) bool {
	lo := int(part) * segmentsPerChunk
	hi := min(lo+segmentsPerChunk, len(s.arcs))
	for i := lo; i < hi; i++ {
		if s.near(&s.arcs[i], q.v) {
			return true
		}
	}
	return false
}

func (s *corridorShape) contains(q query) bool {
	for i := range s.arcs {
		if s.near(&s.arcs[i], q.v) {
			return true
		}
	}
	return false
}

// axisDistance is the great-circle distance in metres to the nearest point
// of the line.
func (s *corridorShape) axisDistance(p vec3) float64 {
	best := math.Inf(1)
	for i := range s.arcs {
		ar := &s.arcs[i]
		var angle float64
		if !ar.degenerate && ar.toA.dot(p) >= 0 && ar.toB.dot(p) >= 0 {
			angle = math.Asin(math.Min(1, math.Abs(ar.n.dot(p))))
		} else {
			angle = angleForChord(math.Sqrt(math.Min(chord2(p, ar.a), chord2(p, ar.b))))
		}
		best = math.Min(best, angle)
	}
	return best * EarthRadiusM
}

func (s *corridorShape) signedDistance(q query) float64 { return s.axisDistance(q.v) - s.halfWidthM }

func (s *corridorShape) zone(q query, marginM float64) zone {
	return zoneByDistance(s.signedDistance(q), marginM)
}
