package geo

import (
	"cmp"
	"math"
	"slices"
)

// A vehicle parked in a cordon, or crawling through one, sends sample after
// sample from the same few metres: searching the R-tree and measuring every
// nearby fence again for each of them is most of a tracker's work in an
// emergency (issue 19). nearCache remembers the fences around the vehicle
// and, for each, its zone and how far its boundary was from where that was
// found; a fence is tested again only when the vehicle may have come within
// the margin of its boundary. The answer is always what Index.zones gives:
//
//   - A fence the cache does not hold had no index entry within
//     nearRadiusM of the anchor; while the vehicle is closer to the anchor
//     than nearRadiusM less the margin, its margin box stays inside the
//     anchor's search box, so the tree search would not find that fence.
//   - A fence the cache holds keeps its zone while the distance moved since
//     it was measured is less than its clearance less the margin: the
//     vehicle cannot have crossed its boundary (containment unchanged) nor
//     come within the margin of it. Distances are bounded in the metric the
//     fence's own test uses (great circle for circles and corridors, the
//     plane at the vehicle's latitude for polygons), with nearSlackM to
//     spare for rounding.
//
// Anything else (a new index, a long move, the polar caps) tests afresh.
const (
	nearRadiusM = 250  // fences collected around the anchor
	nearSlackM  = 1e-3 // metres kept to spare in every comparison
	nearMaxLat  = 80   // beyond it: no cache (longitudes converge)
	nearMaxDLon = 0.5  // degrees: a larger move (or the anti-meridian) is not bounded
)

// nearCache is one tracker's cache of the fences near its vehicle.
type nearCache struct {
	of     *indexID // the index the fences are from; nil: nothing cached
	margin float64
	at     anchor      // where the fences were collected
	fences []nearFence // every fence with an entry within nearRadiusM of at, ascending id
}

// nearFence is a fence's zone where it was last tested.
type nearFence struct {
	id     int64
	shape  int32
	zone   zone
	planar bool    // polygon: its test measures in the plane at the point's latitude
	at     anchor  // where zone and clear were found
	clear  float64 // metres from at to the boundary, at most nearRadiusM; 0: test every time
}

// anchor is a point with what bounding a move from it takes.
type anchor struct {
	lon, lat float64 // lon within [-180, 180]
	kx       float64 // metres per degree of longitude at lat
	ky       float64 // metresPerDegree × |sin(lat)|: how fast kx changes per radian of latitude
	tan      float64 // |tan(lat)|
}

func newAnchor(lon, lat float64) anchor {
	sin, cos := math.Sincos(lat * degToRad)
	return anchor{lon: lon, lat: lat, kx: metresPerDegree * cos, ky: metresPerDegree * math.Abs(sin), tan: math.Abs(sin / cos)}
}

// moved bounds the move from a to lon, lat.
//
// m is at least the great-circle distance: the path straight in lon/lat
// is at most √(Δφ² + c²Δλ²) long (times the radius), c the largest cosine
// of a latitude on it, and c ≤ cos φa + |sin φa| |Δφ|. It is also at
// least the distance in a's plane (the same with c = cos φa).
//
// rho is at most cos(lat)/cos(a.lat) and at most 1: distances in the plane
// at lat are at least rho times those in a's plane
// (cos(φ+δ) ≥ cos φ (1−δ²/2) − |sin φ| |δ|).
//
// ok is false for a move too long for these bounds, or across the
// anti-meridian.
func (a *anchor) moved(lon, lat float64) (m, rho float64, ok bool) {
	dLon, dLat := math.Abs(lon-a.lon), math.Abs(lat-a.lat)
	if !(dLon <= nearMaxDLon && dLat <= nearMaxDLon) {
		return 0, 0, false
	}
	d := dLat * degToRad
	x, y := (a.kx+a.ky*d)*dLon, metresPerDegree*dLat
	return math.Sqrt(x*x + y*y), 1 - a.tan*d - d*d/2, true
}

// holds reports whether the fence's zone is unchanged at a point moved m
// (with rho, see anchor.moved) from f.at.
func (f *nearFence) holds(m, rho, marginM float64) bool {
	spare := f.clear - m
	if f.planar {
		spare *= rho
	}
	return spare >= marginM+nearSlackM
}

// zones is ix.zones(lon, lat, marginM, dst) for a vehicle that moves from
// call to call. lon, lat must be finite, lat within [-90, 90].
func (c *nearCache) zones(ix *Index, lon, lat, marginM float64, dst []fenceHit) []fenceHit {
	if ix.Len() == 0 {
		c.of = nil
		return dst
	}
	lon = wrapLon(lon)
	m, _, ok := c.at.moved(lon, lat)
	if c.of != ix.id || c.margin != marginM || !ok || m+marginM+nearSlackM > nearRadiusM {
		if math.Abs(lat) > nearMaxLat {
			c.of = nil
			return ix.zones(lon, lat, marginM, dst)
		}
		c.collect(ix, lon, lat, marginM)
	}
	var t tester
	for i := range c.fences {
		f := &c.fences[i]
		if m, rho, ok := f.at.moved(lon, lat); !ok || !f.holds(m, rho, marginM) {
			t.retest(ix, f, lon, lat, marginM)
		}
		if f.zone != zoneOut {
			dst = append(dst, fenceHit{f.id, f.zone})
		}
	}
	return dst
}

// collect anchors the cache at lon, lat: every fence with an index entry
// within nearRadiusM, tested there.
func (c *nearCache) collect(ix *Index, lon, lat, marginM float64) {
	c.of, c.margin, c.at = ix.id, marginM, newAnchor(lon, lat)
	c.fences = c.fences[:0]
	boxes, n := splitAtAntimeridian(capBound(lon, lat, nearRadiusM/EarthRadiusM).pad(boxEpsilon))
	for _, b := range boxes[:n] {
		ix.tree.searchBox(b, func(item int32) {
			s := ix.refs[item].shape
			if !slices.ContainsFunc(c.fences, func(f nearFence) bool { return f.shape == s }) {
				_, planar := ix.shapes[s].(*polygonShape)
				c.fences = append(c.fences, nearFence{id: ix.ids[s], shape: s, planar: planar})
			}
		})
	}
	slices.SortFunc(c.fences, func(a, b nearFence) int { return cmp.Compare(a.id, b.id) })
	var t tester
	for i := range c.fences {
		t.retest(ix, &c.fences[i], lon, lat, marginM)
	}
}

// tester tests fences at one point, preparing what the tests need once.
type tester struct {
	ready      bool
	q          query
	here       anchor
	haveVector bool
	boxes      [2]box // the margin's boxes, as zones searches
	nBoxes     int
}

// retest finds f's zone at lon, lat as Index.zones would, and its
// clearance there.
func (t *tester) retest(ix *Index, f *nearFence, lon, lat, marginM float64) {
	if !t.ready {
		t.ready, t.q, t.here = true, newQuery(lon, lat), newAnchor(lon, lat)
		if marginM > 0 {
			t.boxes, t.nBoxes = splitAtAntimeridian(capBound(lon, lat, marginM/EarthRadiusM).pad(boxEpsilon))
		}
	}
	if !f.planar && !t.haveVector {
		t.q.withVector()
		t.haveVector = true
	}
	f.zone, f.at, f.clear = ix.exactZone(f.shape, t.q, marginM, t.boxes[:t.nBoxes]), t.here, 0
	if f.zone != zoneBorder {
		f.clear = ix.clearance(f.shape, t.q, nearRadiusM)
	}
}

// exactZone is what zones finds for shape i alone at q: with a margin, the
// shape's zone if one of its entries meets the margin's boxes, else
// outside; without, inside if an entry holding the point has a part
// containing it. q must have its vector for a circle or corridor.
func (ix *Index) exactZone(i int32, q query, marginM float64, marginBoxes []box) zone {
	s := ix.shapes[i]
	for _, e := range ix.entries[i] {
		if marginM > 0 {
			for _, b := range marginBoxes {
				if e.bound.intersects(b) {
					return s.zone(q, marginM)
				}
			}
		} else if e.bound.containsPoint(q.lon, q.lat) && s.containsPart(e.part, q) {
			return zoneIn
		}
	}
	return zoneOut
}

// clearance is how far q is from the boundary of shape i, at most limit,
// as its zone test measures distance: in the plane at q's latitude for a
// polygon, along great circles otherwise. It is 0 (no bound) for a polygon
// with a part nearly half the world away in longitude, whose unwrapping of
// the point may change as it moves.
func (ix *Index) clearance(i int32, q query, limit float64) float64 {
	switch s := ix.shapes[i].(type) {
	case *polygonShape:
		for p := range s.parts {
			if math.Abs(unwrapNear(q.lon, s.parts[p].centreX)-s.parts[p].centreX) > 179 {
				return 0
			}
		}
		return s.boundaryDistance(q, limit)
	default:
		return math.Min(limit, math.Abs(s.signedDistance(q)))
	}
}
