package geo

import (
	"math"
	"testing"

	"github.com/paulmach/orb"
)

func TestDistanceMatchesKnownValues(t *testing.T) {
	// One degree of latitude, and one of longitude on the equator.
	assertNear(t, "1° lat", DistanceM(10, 50, 10, 51), EarthRadiusM*math.Pi/180, 1e-6)
	assertNear(t, "1° lon at equator", DistanceM(0, 0, 1, 0), EarthRadiusM*math.Pi/180, 1e-6)
	// Across the anti-meridian the short way round.
	assertNear(t, "179.9 to -179.9", DistanceM(179.9, 0, -179.9, 0), 0.2*EarthRadiusM*math.Pi/180, 1e-6)
	lon, lat := destination(37.6204, 55.75414, 33, 1234.5)
	assertNear(t, "destination round trip", DistanceM(37.6204, 55.75414, lon, lat), 1234.5, 1e-6)
}

func TestPolygonHoles(t *testing.T) {
	outer := square(10, 50, 10.1, 50.1)
	hole := square(10.04, 50.04, 10.06, 50.06)
	ix := mustIndex(t, polygonFence(1, outer, hole))
	assertIDs(t, "in the ring", contains(ix, 10.02, 50.02), 1)
	assertIDs(t, "in the hole", contains(ix, 10.05, 50.05))
	assertIDs(t, "outside", contains(ix, 10.15, 50.05))
	// The hole's edge is a boundary too: 10 m inside the hole is 10 m out.
	lon, lat := destination(10.05, 50.06, 180, 10)
	d, _ := ix.SignedDistance(1, lon, lat)
	assertNear(t, "distance inside the hole", d, 10, 0.01)
}

func TestMultiPolygon(t *testing.T) {
	f := Fence{ID: 9, Kind: KindPatrol, Geometry: orb.MultiPolygon{
		{square(0, 0, 1, 1)},
		{square(5, 5, 6, 6), square(5.4, 5.4, 5.6, 5.6)},
	}}
	ix := mustIndex(t, f)
	assertIDs(t, "first part", contains(ix, 0.5, 0.5), 9)
	assertIDs(t, "second part", contains(ix, 5.2, 5.2), 9)
	assertIDs(t, "second part's hole", contains(ix, 5.5, 5.5))
	assertIDs(t, "between parts", contains(ix, 3, 3))
}

func TestCircleAtHighLatitude(t *testing.T) {
	// Longyearbyen, Svalbard: a degree of longitude is only 22.7 km here.
	const lon, lat, r = 15.6356, 78.2232, 500.0
	ix := mustIndex(t, NewCircle(1, "svalbard", KindMonitoring, lon, lat, r))
	for _, bearing := range []float64{0, 90, 180, 270, 45} {
		inLon, inLat := destination(lon, lat, bearing, 450)
		outLon, outLat := destination(lon, lat, bearing, 550)
		assertIDs(t, "450 m", contains(ix, inLon, inLat), 1)
		assertIDs(t, "550 m", contains(ix, outLon, outLat))
		d, _ := ix.SignedDistance(1, outLon, outLat)
		assertNear(t, "signed distance at 550 m", d, 50, 1e-6)
	}
	// 450 m east is 0.0197° of longitude: a box of r in latitude degrees
	// (0.0045°) would have dropped it before the exact test.
	eastLon, _ := destination(lon, lat, 90, 450)
	assertNear(t, "longitude offset of 450 m east", eastLon-lon, 0.01974, 1e-4)
}

func TestCircleOverThePole(t *testing.T) {
	ix := mustIndex(t, NewCircle(1, "pole", KindRestricted, 0, 89.995, 1000))
	// The centre is 556 m from the pole; 0.002° beyond it on the opposite
	// meridian is 778 m away, 0.01° beyond is 1668 m.
	assertIDs(t, "across the pole", contains(ix, 180, 89.998), 1)
	assertIDs(t, "any longitude near the pole", contains(ix, -97.3, 89.9999), 1)
	assertIDs(t, "too far", contains(ix, 180, 89.99))
	d, _ := ix.SignedDistance(1, 180, 89.998)
	assertNear(t, "distance across the pole", d, 0.007*metresPerDegree-1000, 1e-6)
}

func TestCorridorAtHighLatitude(t *testing.T) {
	// A 2 km road due north at 80° N, and one due east.
	north := NewCorridor(1, "north", KindPatrol, orb.LineString{{20, 80}, {20, 80.018}}, 25)
	east := NewCorridor(2, "east", KindPatrol, orb.LineString{{30, 80}, {30.1, 80}}, 25)
	ix := mustIndex(t, north, east)
	midLon, midLat := 20.0, 80.009
	lon, lat := destination(midLon, midLat, 90, 20)
	assertIDs(t, "20 m east of the north road", contains(ix, lon, lat), 1)
	lon, lat = destination(midLon, midLat, 270, 30)
	assertIDs(t, "30 m west of the north road", contains(ix, lon, lat))
	d, _ := ix.SignedDistance(1, lon, lat)
	assertNear(t, "signed distance 30 m west", d, 5, 0.01)
	// Beyond the end the distance is to the end point.
	lon, lat = destination(20, 80.018, 0, 20)
	d, _ = ix.SignedDistance(1, lon, lat)
	assertNear(t, "20 m past the end", d, -5, 0.01)

	// For the east road compare with a densely sampled great circle.
	for _, probe := range [][2]float64{{30.05, 80.0002}, {30.02, 79.9997}, {30.11, 80}, {29.99, 80.0001}} {
		got, _ := ix.SignedDistance(2, probe[0], probe[1])
		want := densifiedDistance(orb.Point{30, 80}, orb.Point{30.1, 80}, probe) - 25
		assertNear(t, "east road distance", got, want, 0.01)
	}
}

// densifiedDistance samples the great circle a→b at 20 000 points by
// spherical interpolation and returns the least haversine distance to p.
func densifiedDistance(a, b orb.Point, p [2]float64) float64 {
	va, vb := unitVector(a[0], a[1]), unitVector(b[0], b[1])
	omega := math.Acos(va.dot(vb))
	best := math.Inf(1)
	for i := 0; i <= 20000; i++ {
		f := float64(i) / 20000
		s1, s2 := math.Sin((1-f)*omega)/math.Sin(omega), math.Sin(f*omega)/math.Sin(omega)
		v := vec3{va.x*s1 + vb.x*s2, va.y*s1 + vb.y*s2, va.z*s1 + vb.z*s2}
		lon, lat := math.Atan2(v.y, v.x)*180/math.Pi, math.Asin(v.z)*180/math.Pi
		best = math.Min(best, DistanceM(p[0], p[1], lon, lat))
	}
	return best
}

func TestAntimeridian(t *testing.T) {
	poly := polygonFence(1, orb.Ring{{179.9, -10}, {-179.9, -10}, {-179.9, -9}, {179.9, -9}, {179.9, -10}})
	circle := NewCircle(2, "c", KindRestricted, 179.9995, 0, 200)
	corridor := NewCorridor(3, "r", KindPatrol, orb.LineString{{179.99, 5}, {-179.99, 5}}, 30)
	ix := mustIndex(t, poly, circle, corridor)
	assertIDs(t, "polygon east of the line", contains(ix, -179.95, -9.5), 1)
	assertIDs(t, "polygon west of the line", contains(ix, 179.95, -9.5), 1)
	assertIDs(t, "polygon at exactly 180", contains(ix, 180, -9.5), 1)
	assertIDs(t, "polygon at exactly -180", contains(ix, -180, -9.5), 1)
	assertIDs(t, "not the polygon at 0", contains(ix, 0, -9.5))
	assertIDs(t, "circle across the line (111 m)", contains(ix, -179.9995, 0), 2)
	assertIDs(t, "corridor across the line", contains(ix, -179.995, 5.0002), 3)
	assertIDs(t, "longitude given as 180.005", contains(ix, 180.005, 5.0001), 3)
	d, _ := ix.SignedDistance(3, 180, 5.0009)
	assertNear(t, "corridor distance at 180", d, 0.0009*metresPerDegree-30, 0.01)
}

// TestIndexMatchesOrb cross-checks the compiled polygons and the R-tree
// against orb's planar.PolygonContains on random star polygons with holes.
func TestIndexMatchesOrb(t *testing.T) {
	rng := newRand(7)
	fences := starFences(rng, 300, cityBox)
	for i := range fences[:50] {
		// Replace some with a star that has a hole: shells reach at least
		// half their 200 m radius, holes at most 80 m.
		lon := cityBox.Min[0] + rng.Float64()*(cityBox.Max[0]-cityBox.Min[0])
		lat := cityBox.Min[1] + rng.Float64()*(cityBox.Max[1]-cityBox.Min[1])
		fences[i].Geometry = orb.Polygon{starRing(rng, lon, lat, 200, 30), reversed(starRing(rng, lon, lat, 80, 24))}
	}
	ix := mustIndex(t, fences...)
	var got []int64
	checked, hits := 0, 0
	for range 3000 {
		lon := cityBox.Min[0] + rng.Float64()*(cityBox.Max[0]-cityBox.Min[0])
		lat := cityBox.Min[1] + rng.Float64()*(cityBox.Max[1]-cityBox.Min[1])
		got = ix.Containing(lon, lat, got[:0])
		var want []int64
		for _, f := range fences {
			if orbContains(f.Geometry.(orb.Polygon), orb.Point{lon, lat}) {
				want = append(want, f.ID)
			}
		}
		assertIDs(t, "index vs orb", got, want...)
		checked++
		hits += len(want)
	}
	if hits < 500 {
		t.Fatalf("only %d hits in %d points: the test is not exercising containment", hits, checked)
	}
}

func reversed(r orb.Ring) orb.Ring {
	out := make(orb.Ring, len(r))
	for i := range r {
		out[len(r)-1-i] = r[i]
	}
	return out
}

func TestContainingDoesNotAllocate(t *testing.T) {
	rng := newRand(3)
	fences := starFences(rng, 1000, cityBox)
	fences = append(fences, NewCircle(5000, "c", KindMonitoring, 13.4, 52.5, 3000),
		NewCorridor(5001, "r", KindPatrol, orb.LineString{{13.3, 52.45}, {13.5, 52.55}}, 500))
	ix := mustIndex(t, fences...)
	dst := make([]int64, 0, 64)
	allocs := testing.AllocsPerRun(1000, func() { dst = ix.Containing(13.4, 52.5, dst[:0]) })
	if allocs != 0 {
		t.Fatalf("Containing allocates %.1f times per call", allocs)
	}
	if len(dst) < 2 {
		t.Fatalf("expected the circle and corridor at the centre, got %v", dst)
	}
}

func TestApply(t *testing.T) {
	ix := mustIndex(t, polygonFence(1, square(0, 0, 1, 1)), polygonFence(2, square(0.5, 0.5, 2, 2)))
	assertIDs(t, "before", contains(ix, 0.7, 0.7), 1, 2)
	next, err := ix.Apply([]Fence{polygonFence(2, square(3, 3, 4, 4)), NewCircle(3, "c", KindPatrol, 0.7, 0.7, 100)}, []int64{1})
	if err != nil {
		t.Fatal(err)
	}
	assertIDs(t, "after", contains(next, 0.7, 0.7), 3)
	assertIDs(t, "moved fence", contains(next, 3.5, 3.5), 2)
	assertIDs(t, "old index untouched", contains(ix, 0.7, 0.7), 1, 2)
	if next.Len() != 2 {
		t.Fatalf("Len = %d, want 2", next.Len())
	}
	if _, err := ix.Apply([]Fence{polygonFence(4, square(0, 0, 1, 1)), polygonFence(4, square(0, 0, 1, 1))}, nil); err == nil {
		t.Fatal("duplicate ids accepted")
	}
}

func TestEmptyIndex(t *testing.T) {
	var nilIndex *Index
	assertIDs(t, "nil index", contains(nilIndex, 0, 0))
	assertIDs(t, "empty index", contains(mustIndex(t), 0, 0))
	assertIDs(t, "NaN", contains(mustIndex(t, polygonFence(1, square(0, 0, 1, 1))), math.NaN(), 0.5))
}

// TestPolygonDistanceMatchesDensifiedEdges checks the polygon's signed
// distance against haversine distances to points sampled every few
// centimetres along each edge, and its sign against orb.
func TestPolygonDistanceMatchesDensifiedEdges(t *testing.T) {
	rng := newRand(5)
	ring := starRing(rng, 13.4, 52.5, 400, 25)
	ix := mustIndex(t, polygonFence(1, ring))
	for range 40 {
		lon, lat := destination(13.4, 52.5, 360*rng.Float64(), 150+350*rng.Float64())
		want := math.Inf(1)
		for i := 1; i < len(ring); i++ {
			a, b := ring[i-1], ring[i]
			for k := 0; k <= 2000; k++ {
				f := float64(k) / 2000
				want = math.Min(want, DistanceM(lon, lat, a[0]+f*(b[0]-a[0]), a[1]+f*(b[1]-a[1])))
			}
		}
		if orbContains(orb.Polygon{ring}, orb.Point{lon, lat}) {
			want = -want
		}
		got, _ := ix.SignedDistance(1, lon, lat)
		assertNear(t, "signed distance", got, want, 0.1)
	}
}
