package geo

import (
	"math"
	"testing"

	"github.com/paulmach/orb"
)

// destination walks distM metres from lon, lat on the initial bearing
// (degrees from north) along a great circle: the textbook direct formula,
// independent of the code under test.
func destination(lon, lat, bearingDeg, distM float64) (float64, float64) {
	d := distM / EarthRadiusM
	th := bearingDeg * math.Pi / 180
	p1, l1 := lat*math.Pi/180, lon*math.Pi/180
	p2 := math.Asin(math.Sin(p1)*math.Cos(d) + math.Cos(p1)*math.Sin(d)*math.Cos(th))
	l2 := l1 + math.Atan2(math.Sin(th)*math.Sin(d)*math.Cos(p1), math.Cos(d)-math.Sin(p1)*math.Sin(p2))
	return wrapLon(l2 * 180 / math.Pi), p2 * 180 / math.Pi
}

func mustIndex(t testing.TB, fences ...Fence) *Index {
	t.Helper()
	ix, err := NewIndex(fences)
	if err != nil {
		t.Fatal(err)
	}
	return ix
}

func contains(ix *Index, lon, lat float64) []int64 { return ix.Containing(lon, lat, nil) }

func assertIDs(t *testing.T, what string, got []int64, want ...int64) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: got %v, want %v", what, got, want)
	}
	for i := range got {
		if got[i] != want[i] {
			t.Fatalf("%s: got %v, want %v", what, got, want)
		}
	}
}

func assertNear(t *testing.T, what string, got, want, tol float64) {
	t.Helper()
	if math.Abs(got-want) > tol {
		t.Fatalf("%s = %.4f, want %.4f ± %g", what, got, want, tol)
	}
}

// square returns a closed counter-clockwise ring of the box.
func square(minLon, minLat, maxLon, maxLat float64) orb.Ring {
	return orb.Ring{{minLon, minLat}, {maxLon, minLat}, {maxLon, maxLat}, {minLon, maxLat}, {minLon, minLat}}
}

func polygonFence(id int64, rings ...orb.Ring) Fence {
	return Fence{ID: id, Name: "p", Kind: KindRestricted, Geometry: orb.Polygon(rings)}
}
