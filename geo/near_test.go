package geo

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/paulmach/orb"
)

// denseFences packs polygons (some with a hole, some of two parts),
// circles and corridors into a box about 2 km across around lon, lat, so
// that a vehicle is often inside several and near the borders of others.
func denseFences(rng *rand.Rand, lon, lat float64, firstID int64, n int) []Fence {
	fs := make([]Fence, 0, n)
	at := func() (float64, float64) {
		return destination(lon, lat, 360*rng.Float64(), 1000*rng.Float64())
	}
	for i := range n {
		id := firstID + int64(i)
		x, y := at()
		switch i % 5 {
		case 0:
			fs = append(fs, Fence{ID: id, Kind: KindRestricted, Geometry: orb.Polygon{starRing(rng, x, y, 50+300*rng.Float64(), 5+rng.IntN(30))}})
		case 1: // a square with a square hole
			ox, oy := destination(x, y, 45, 300)
			ix, iy := destination(x, y, 45, 120)
			fs = append(fs, polygonFence(id, square(2*x-ox, 2*y-oy, ox, oy), square(2*x-ix, 2*y-iy, ix, iy)))
		case 2:
			x2, y2 := at()
			fs = append(fs, Fence{ID: id, Kind: KindMonitoring, Geometry: orb.MultiPolygon{
				{starRing(rng, x, y, 40+100*rng.Float64(), 6)}, {starRing(rng, x2, y2, 40+100*rng.Float64(), 9)}}})
		case 3:
			fs = append(fs, NewCircle(id, "c", KindRestricted, x, y, 20+200*rng.Float64()))
		case 4:
			line := orb.LineString{{x, y}}
			for range 2 + rng.IntN(12) {
				x, y = destination(x, y, 360*rng.Float64(), 30+200*rng.Float64())
				line = append(line, orb.Point{x, y})
			}
			fs = append(fs, NewCorridor(id, "r", KindPatrol, line, 5+40*rng.Float64()))
		}
	}
	for _, f := range fs { // stars near the anti-meridian reach past it
		switch g := f.Geometry.(type) {
		case orb.Polygon:
			wrapRings(g...)
		case orb.MultiPolygon:
			for _, p := range g {
				wrapRings(p...)
			}
		}
	}
	return fs
}

func wrapRings(rs ...orb.Ring) {
	for _, r := range rs {
		for i := range r {
			r[i][0] = wrapLon(r[i][0])
		}
	}
}

// walk is a vehicle's positions: parked with GPS jitter, crawling,
// driving, and now and then a jump (a gap in the track).
func walk(rng *rand.Rand, lon, lat float64, n int) []orb.Point {
	out := make([]orb.Point, 0, n)
	x, y := destination(lon, lat, 360*rng.Float64(), 900*rng.Float64())
	step := 1.0
	for i := range n {
		if i%40 == 0 {
			step = []float64{0, 0.3, 2, 8, 30, 120}[rng.IntN(6)]
		}
		d := step * rng.Float64()
		if rng.IntN(200) == 0 {
			d = 400 + 1000*rng.Float64()
		}
		x, y = destination(x, y, 360*rng.Float64(), d)
		out = append(out, orb.Point{x, y})
	}
	return out
}

func hitsString(h []fenceHit) string { return fmt.Sprint(h) }

// checkNear feeds the walk to a cache and compares every answer with a
// fresh search of the index; it returns how many fences were retested.
func checkNear(t *testing.T, ix *Index, pts []orb.Point, marginM float64) (retests, tests int) {
	t.Helper()
	var c nearCache
	var got, want []fenceHit
	for i, p := range pts {
		before := slices.Clone(c.fences)
		got = c.zones(ix, p[0], p[1], marginM, got[:0])
		want = ix.zones(p[0], p[1], marginM, want[:0])
		if !slices.Equal(got, want) {
			t.Fatalf("margin %g, sample %d at %.8f,%.8f: cache says %s, index %s", marginM, i, p[0], p[1], hitsString(got), hitsString(want))
		}
		for _, f := range c.fences {
			tests++
			if j := slices.IndexFunc(before, func(b nearFence) bool { return b.id == f.id }); j < 0 || before[j].at != f.at {
				retests++
			}
		}
	}
	return retests, tests
}

// TestNearCacheAnswersAsTheIndex is the cache's contract: for every sample
// of vehicles parked, crawling and driving among dense fences of every
// shape, with and without a margin, the fences and zones are exactly those
// a search of the index finds. A stale zone set fails it.
func TestNearCacheAnswersAsTheIndex(t *testing.T) {
	for _, place := range []struct {
		name     string
		lon, lat float64
	}{
		{"Rotterdam", 4.1, 51.9},
		{"equator", 0, 0},
		{"south", -70.6, -33.4},
		{"near the 80th parallel", 15.6, 79.99},
	} {
		rng := newRand(19)
		ix := mustIndex(t, denseFences(rng, place.lon, place.lat, 1, 60)...)
		for _, margin := range []float64{5, 0, 25} {
			retests, tests := 0, 0
			for v := range 20 {
				r, n := checkNear(t, ix, walk(newRand(uint64(v)), place.lon, place.lat, 600), margin)
				retests, tests = retests+r, tests+n
			}
			t.Logf("%s, margin %g: %d of %d fence tests from the cache", place.name, margin, tests-retests, tests)
			if place.lat < 70 && retests*2 > tests {
				t.Errorf("%s, margin %g: %d of %d fence tests retested: the cache is hardly used", place.name, margin, retests, tests)
			}
		}
	}
}

// TestNearCacheAtTheAntimeridianAndPoles: vehicles crossing 180° and
// around a pole (where the cache stands aside) get the index's answers.
func TestNearCacheAtTheAntimeridianAndPoles(t *testing.T) {
	for _, place := range []struct {
		name     string
		lon, lat float64
	}{{"anti-meridian", 179.995, -16.5}, {"anti-meridian, west side", -179.995, 65}, {"pole", 40, 89.99}, {"80th parallel south", -60, -80.002}} {
		rng := newRand(7)
		ix := mustIndex(t, denseFences(rng, place.lon, place.lat, 1, 40)...)
		for v := range 10 {
			checkNear(t, ix, walk(newRand(uint64(100+v)), place.lon, place.lat, 400), 5)
		}
	}
}

// TestNearCacheSeesTheFenceItApproaches is the case the cache could get
// wrong: a vehicle deep inside one zone creeps towards another it is not
// inside, then into it; and a fence added where it is parked (a new index)
// counts at once.
func TestNearCacheSeesTheFenceItApproaches(t *testing.T) {
	// A: a 1 km square; B: a 20 m circle 150 m east of A's centre.
	a := polygonFence(1, square(4.09, 51.895, 4.105, 51.905))
	bLon, bLat := destination(4.0975, 51.9, 90, 150)
	b := NewCircle(2, "b", KindRestricted, bLon, bLat, 20)
	ix := mustIndex(t, a, b)
	var c nearCache
	var got []fenceHit
	var want []fenceHit
	for m := 0.0; m <= 150; m += 0.7 {
		lon, lat := destination(4.0975, 51.9, 90, m)
		got = c.zones(ix, lon, lat, 5, got[:0])
		want = want[:0]
		want = append(want, fenceHit{1, zoneIn})
		switch d := 150 - m; {
		case d < 15:
			want = append(want, fenceHit{2, zoneIn})
		case d < 25:
			want = append(want, fenceHit{2, zoneBorder})
		}
		if !slices.Equal(got, want) || !slices.Equal(got, ix.zones(lon, lat, 5, nil)) {
			t.Fatalf("%.1f m from B's centre: %v, want %v", 150-m, got, want)
		}
	}
	// Parked at B's centre; a fence C is created around it.
	c2 := NewCircle(3, "c", KindMonitoring, bLon, bLat, 50)
	ix2, err := ix.Apply([]Fence{c2}, nil)
	if err != nil {
		t.Fatal(err)
	}
	got = c.zones(ix2, bLon, bLat, 5, got[:0])
	if want := []fenceHit{{1, zoneIn}, {2, zoneIn}, {3, zoneIn}}; !slices.Equal(got, want) {
		t.Fatalf("after C was added: %v, want %v", got, want)
	}
	// B deleted: gone at once, though the vehicle did not move.
	ix3, err := ix2.Apply(nil, []int64{2})
	if err != nil {
		t.Fatal(err)
	}
	got = c.zones(ix3, bLon, bLat, 5, got[:0])
	if want := []fenceHit{{1, zoneIn}, {3, zoneIn}}; !slices.Equal(got, want) {
		t.Fatalf("after B was deleted: %v, want %v", got, want)
	}
}

// TestNearCacheSkipsWorkWhenParked: a vehicle parked deep inside a zone
// (GPS jitter of a few metres) is not retested sample after sample.
func TestNearCacheSkipsWorkWhenParked(t *testing.T) {
	ix := mustIndex(t, polygonFence(1, square(4.09, 51.895, 4.105, 51.905)), NewCircle(2, "b", KindRestricted, 4.0985, 51.9, 30))
	var c nearCache
	var got []fenceHit
	rng := newRand(3)
	var ats []anchor
	for i := range 200 {
		lon, lat := destination(4.0975, 51.9, 360*rng.Float64(), 3*rng.Float64())
		got = c.zones(ix, lon, lat, 5, got[:0])
		if want := []fenceHit{{1, zoneIn}}; !slices.Equal(got, want) {
			t.Fatalf("sample %d: %v, want %v", i, got, want)
		}
		if i == 0 {
			for _, f := range c.fences {
				ats = append(ats, f.at)
			}
		}
	}
	if len(c.fences) != 2 {
		t.Fatalf("cached fences %v, want both", c.fences)
	}
	for i, f := range c.fences {
		if f.at != ats[i] {
			t.Errorf("fence %d retested while parked", f.id)
		}
	}
}

// TestNearCacheSeesAFenceBeyondItsRadius: a fence with nothing within
// nearRadiusM of where the fences were collected comes into the margin as
// the vehicle creeps towards it.
func TestNearCacheSeesAFenceBeyondItsRadius(t *testing.T) {
	const lon0, lat0 = 4.0975, 51.9
	cLon, cLat := destination(lon0, lat0, 90, nearRadiusM+20)
	ix := mustIndex(t, NewCircle(1, "c", KindRestricted, cLon, cLat, 10))
	var c nearCache
	var got []fenceHit
	for m := 0.0; m <= nearRadiusM+20; m += 0.3 {
		lon, lat := destination(lon0, lat0, 90, m)
		got = c.zones(ix, lon, lat, 5, got[:0])
		if want := ix.zones(lon, lat, 5, nil); !slices.Equal(got, want) {
			t.Fatalf("%.1f m from the start: %v, want %v", m, got, want)
		}
	}
	if len(got) != 1 || got[0].zone != zoneIn {
		t.Fatalf("at the circle's centre: %v", got)
	}
}

// TestTrackerUsesTheIndexAnswers: what Update feeds the hysteresis is, for
// every sample, what a search of the index gives, including longitudes
// given outside [-180, 180], samples without a fix, and a fence edit.
func TestTrackerUsesTheIndexAnswers(t *testing.T) {
	const lon0, lat0 = 4.1, 51.9
	rng := newRand(5)
	fences := denseFences(rng, lon0, lat0, 1, 60)
	ix := mustIndex(t, fences...)
	for v := range 10 {
		tr := NewTracker(DefaultConfig())
		for i, p := range walk(newRand(uint64(200+v)), lon0, lat0, 500) {
			if i == 250 { // an edit: the first fence moves onto the vehicle
				moved := NewCircle(fences[0].ID, "moved", KindRestricted, p[0], p[1], 30)
				var err error
				if ix, err = ix.Apply([]Fence{moved}, nil); err != nil {
					t.Fatal(err)
				}
			}
			lon := p[0]
			if i%3 == 0 {
				lon += 360
			}
			tr.Update(ix, lon, p[1], t0.Add(time.Duration(i)*time.Second), i%17 != 0, nil)
			if i%17 == 0 {
				continue // no fix: nothing was searched
			}
			if want := ix.zones(p[0], p[1], DefaultConfig().MarginM, nil); !slices.Equal(tr.hits, want) {
				t.Fatalf("vehicle %d, sample %d: tracker used %v, index %v", v, i, tr.hits, want)
			}
		}
		ix = mustIndex(t, fences...)
	}
}
