package geo

import (
	"math"
	"math/rand/v2"

	"github.com/paulmach/orb"
	"github.com/paulmach/orb/planar"
)

// cityBox is about 20 km × 20 km around Berlin.
var cityBox = orb.Bound{Min: orb.Point{13.25, 52.43}, Max: orb.Point{13.5455, 52.6099}}

func newRand(seed uint64) *rand.Rand { return rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)) }

// starRing is a closed ring of n corners around lon, lat at random radii
// between half and all of radiusM. Corners in angle order make it simple.
func starRing(rng *rand.Rand, lon, lat, radiusM float64, n int) orb.Ring {
	r := make(orb.Ring, 0, n+1)
	mPerLon := metresPerDegree * math.Cos(lat*math.Pi/180)
	for i := range n {
		a := 2 * math.Pi * float64(i) / float64(n)
		d := radiusM * (0.5 + 0.5*rng.Float64())
		r = append(r, orb.Point{lon + d*math.Cos(a)/mPerLon, lat + d*math.Sin(a)/metresPerDegree})
	}
	return append(r, r[0])
}

// starFences are n star polygons of 20–50 corners, 100–1000 m in radius,
// centred at random in b.
func starFences(rng *rand.Rand, n int, b orb.Bound) []Fence {
	fences := make([]Fence, n)
	for i := range fences {
		lon := b.Min[0] + rng.Float64()*(b.Max[0]-b.Min[0])
		lat := b.Min[1] + rng.Float64()*(b.Max[1]-b.Min[1])
		ring := starRing(rng, lon, lat, 100+900*rng.Float64(), 20+rng.IntN(31))
		fences[i] = Fence{ID: int64(i + 1), Name: "star", Kind: KindRestricted, Geometry: orb.Polygon{ring}}
	}
	return fences
}

// vehiclePositions simulates vehicles starting at random in b, each moving
// up to 30 m per step in a random direction, and returns the positions
// step by step, all vehicles interleaved as a server would see them.
func vehiclePositions(rng *rand.Rand, vehicles, steps int, b orb.Bound) []orb.Point {
	pos := make([]orb.Point, vehicles)
	for i := range pos {
		pos[i] = orb.Point{b.Min[0] + rng.Float64()*(b.Max[0]-b.Min[0]), b.Min[1] + rng.Float64()*(b.Max[1]-b.Min[1])}
	}
	out := make([]orb.Point, 0, vehicles*steps)
	for range steps {
		for i := range pos {
			lon, lat := destination(pos[i][0], pos[i][1], 360*rng.Float64(), 30*rng.Float64())
			pos[i] = orb.Point{lon, lat}
			out = append(out, pos[i])
		}
	}
	return out
}

func orbContains(p orb.Polygon, pt orb.Point) bool { return planar.PolygonContains(p, pt) }
