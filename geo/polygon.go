package geo

import (
	"math"

	"github.com/paulmach/orb"
)

// polygonShape is a compiled polygon or multipolygon. Each part keeps its
// rings in unwrapped longitudes with their bounds cached, so a containment
// test does no allocation and no bound recomputation.
type polygonShape struct {
	parts []polygonPart
}

type polygonPart struct {
	bound   box     // unwrapped longitudes
	centreX float64 // a query longitude is unwrapped near this
	shell   ring
	holes   []ring
}

// ring is a closed ring whose edges are bucketed into horizontal bands:
// the crossing test for a point only looks at the edges of its band.
type ring struct {
	bound     box
	xs, ys    []float64 // closed: xs[len-1] == xs[0]
	bandStart []int32   // edges of band b: bandEdges[bandStart[b]:bandStart[b+1]]
	bandEdges []edge
	bandScale float64 // bands per degree of latitude
}

// edge is ready for the crossing test: x at height y is x1 + (y-y1)*slope.
type edge struct{ x1, y1, y2, slope float64 }

// edgesPerBand is the average band load that makes the crossing test cheap
// without making the band table larger than the ring.
const edgesPerBand = 4

func compilePolygons(polys []orb.Polygon) *polygonShape {
	s := &polygonShape{parts: make([]polygonPart, len(polys))}
	for i, p := range polys {
		part := &s.parts[i]
		part.shell = compileRing(p[0], p[0][0][0])
		for _, h := range p[1:] {
			part.holes = append(part.holes, compileRing(h, part.shell.xs[0]))
		}
		part.bound = part.shell.bound
		part.centreX = (part.bound.minX + part.bound.maxX) / 2
	}
	return s
}

func compileRing(r orb.Ring, ref float64) ring {
	n := len(r)
	rg := ring{xs: make([]float64, n), ys: make([]float64, n), bound: emptyBox()}
	x := ref
	for i, p := range r {
		x = unwrapNear(p[0], x)
		rg.xs[i], rg.ys[i] = x, p[1]
		rg.bound = rg.bound.extend(x, p[1])
	}
	bands := max(1, (n-1)/edgesPerBand)
	height := rg.bound.maxY - rg.bound.minY
	if height > 0 {
		rg.bandScale = float64(bands) / height
	} else {
		bands = 1
	}
	// Count, then fill: an edge goes into every band its latitude range touches.
	rg.bandStart = make([]int32, bands+1)
	for i := 1; i < n; i++ {
		lo, hi := rg.bandRange(rg.ys[i-1], rg.ys[i], bands)
		for b := lo; b <= hi; b++ {
			rg.bandStart[b+1]++
		}
	}
	for b := 0; b < bands; b++ {
		rg.bandStart[b+1] += rg.bandStart[b]
	}
	rg.bandEdges = make([]edge, rg.bandStart[bands])
	fill := append([]int32(nil), rg.bandStart[:bands]...)
	for i := 1; i < n; i++ {
		x1, y1, x2, y2 := rg.xs[i-1], rg.ys[i-1], rg.xs[i], rg.ys[i]
		e := edge{x1: x1, y1: y1, y2: y2}
		if y2 != y1 {
			e.slope = (x2 - x1) / (y2 - y1)
		}
		lo, hi := rg.bandRange(y1, y2, bands)
		for b := lo; b <= hi; b++ {
			rg.bandEdges[fill[b]] = e
			fill[b]++
		}
	}
	return rg
}

func (r *ring) band(y float64, bands int) int {
	b := int((y - r.bound.minY) * r.bandScale)
	return max(0, min(bands-1, b))
}

func (r *ring) bandRange(y1, y2 float64, bands int) (int, int) {
	return r.band(math.Min(y1, y2), bands), r.band(math.Max(y1, y2), bands)
}

// contains is the crossing-number test on the edges of y's band. A point
// exactly on an edge may count either way; the tracker's margin is the
// answer to boundary jitter, not this test.
func (r *ring) contains(x, y float64) bool {
	if !r.bound.containsPoint(x, y) {
		return false
	}
	bands := len(r.bandStart) - 1
	b := r.band(y, bands)
	in := false
	for _, e := range r.bandEdges[r.bandStart[b]:r.bandStart[b+1]] {
		if (e.y1 > y) != (e.y2 > y) && x < e.x1+(y-e.y1)*e.slope {
			in = !in
		}
	}
	return in
}

func (p *polygonPart) contains(lon, lat float64) bool {
	x := unwrapNear(lon, p.centreX)
	if !p.shell.contains(x, lat) {
		return false
	}
	for i := range p.holes {
		if p.holes[i].contains(x, lat) {
			return false
		}
	}
	return true
}

func (s *polygonShape) contains(q query) bool {
	for i := range s.parts {
		if s.parts[i].contains(q.lon, q.lat) {
			return true
		}
	}
	return false
}

func (s *polygonShape) containsPart(part int32, q query) bool {
	return s.parts[part].contains(q.lon, q.lat)
}

func (s *polygonShape) entries() []shapeEntry {
	var es []shapeEntry
	for i, p := range s.parts {
		es = entriesFor(es, p.bound, int32(i))
	}
	return es
}

// boundaryDistance is the distance in metres from the point to the nearest
// edge of any ring, or limit if that is nearer. Edges are straight in
// lon/lat, so they are measured in a plane scaled to metres at the point's
// latitude: exact to well under a metre for edges within a few kilometres
// of the point, which is where margins matter.
func (s *polygonShape) boundaryDistance(q query, limit float64) float64 {
	kx := metresPerDegree * math.Cos(q.lat*degToRad)
	best := limit
	for i := range s.parts {
		p := &s.parts[i]
		x := unwrapNear(q.lon, p.centreX)
		best = p.shell.distance(x, q.lat, kx, best)
		for h := range p.holes {
			best = p.holes[h].distance(x, q.lat, kx, best)
		}
	}
	return best
}

// distance is the metres from x, y to the ring, or best if that is nearer.
// Edges wholly farther than best in longitude or latitude are skipped
// before any arithmetic.
func (r *ring) distance(x, y, kx, best float64) float64 {
	dx := max(0, r.bound.minX-x, x-r.bound.maxX) * kx
	dy := max(0, r.bound.minY-y, y-r.bound.maxY) * metresPerDegree
	if dx*dx+dy*dy >= best*best {
		return best
	}
	reachX, reachY := best/kx, best/metresPerDegree
	for i := 1; i < len(r.xs); i++ {
		xa, ya, xb, yb := r.xs[i-1], r.ys[i-1], r.xs[i], r.ys[i]
		if min(ya, yb) > y+reachY || max(ya, yb) < y-reachY || min(xa, xb) > x+reachX || max(xa, xb) < x-reachX {
			continue
		}
		d := math.Sqrt(originToSegment2((xa-x)*kx, (ya-y)*metresPerDegree, (xb-x)*kx, (yb-y)*metresPerDegree))
		if d < best {
			best, reachX, reachY = d, d/kx, d/metresPerDegree
		}
	}
	return best
}

// originToSegment2 is the squared distance from (0,0) to the segment a–b.
func originToSegment2(ax, ay, bx, by float64) float64 {
	dx, dy := bx-ax, by-ay
	t := 0.0
	if l2 := dx*dx + dy*dy; l2 > 0 {
		t = max(0, min(1, -(ax*dx+ay*dy)/l2))
	}
	px, py := ax+t*dx, ay+t*dy
	return px*px + py*py
}

func (s *polygonShape) signedDistance(q query) float64 {
	d := s.boundaryDistance(q, math.Inf(1))
	if s.contains(q) {
		return -d
	}
	return d
}

func (s *polygonShape) zone(q query, marginM float64) zone {
	if s.boundaryDistance(q, marginM) < marginM {
		return zoneBorder
	}
	if s.contains(q) {
		return zoneIn
	}
	return zoneOut
}
