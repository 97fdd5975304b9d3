package geo

import (
	"math"

	"github.com/paulmach/orb"
)

// circleShape is a spherical cap: every point within radius of the centre
// along the great circle (the haversine distance).
type circleShape struct {
	c         vec3
	radiusM   float64
	maxChord2 float64 // squared chord of the radius: containment without trigonometry
	bound     box     // unwrapped longitudes
}

func compileCircle(centre orb.Point, radiusM float64) *circleShape {
	chord := chordForAngle(radiusM / EarthRadiusM)
	return &circleShape{
		c:         unitVector(centre[0], centre[1]),
		radiusM:   radiusM,
		maxChord2: chord * chord,
		bound:     capBound(centre[0], centre[1], radiusM/EarthRadiusM),
	}
}

// capBound is the lon/lat box of a spherical cap; a cap over a pole spans
// every longitude.
func capBound(lon, lat, radiusRad float64) box {
	dLat := radiusRad * radToDeg
	dLon, ok := capLonExtent(radiusRad, lat)
	if !ok {
		return box{-180, math.Max(-90, lat-dLat), 180, math.Min(90, lat+dLat)}
	}
	return box{lon - dLon, lat - dLat, lon + dLon, lat + dLat}
}

func (s *circleShape) entries() []shapeEntry {
	return entriesFor(nil, s.bound, 0)
}

func (s *circleShape) contains(q query) bool { return chord2(q.v, s.c) <= s.maxChord2 }

func (s *circleShape) containsPart(_ int32, q query) bool { return s.contains(q) }

func (s *circleShape) signedDistance(q query) float64 {
	return angleForChord(math.Sqrt(chord2(q.v, s.c)))*EarthRadiusM - s.radiusM
}

func (s *circleShape) zone(q query, marginM float64) zone {
	return zoneByDistance(s.signedDistance(q), marginM)
}
