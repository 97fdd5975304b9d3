package geo

import "math"

// EarthRadiusM is the mean Earth radius (IUGG) used for every distance.
const EarthRadiusM = 6371008.8

const (
	degToRad = math.Pi / 180
	radToDeg = 180 / math.Pi
	// metresPerDegree is the length of one degree of latitude.
	metresPerDegree = EarthRadiusM * degToRad
)

// DistanceM is the great-circle (haversine) distance in metres between two
// lon/lat points.
func DistanceM(lon1, lat1, lon2, lat2 float64) float64 {
	sinDLat := math.Sin((lat2 - lat1) * degToRad / 2)
	sinDLon := math.Sin((lon2 - lon1) * degToRad / 2)
	h := sinDLat*sinDLat + math.Cos(lat1*degToRad)*math.Cos(lat2*degToRad)*sinDLon*sinDLon
	return 2 * EarthRadiusM * math.Asin(math.Sqrt(math.Min(1, h)))
}

// vec3 is a unit vector from the Earth's centre. Circles and corridors are
// evaluated with vectors: exact on the sphere, no special case at the poles
// or the anti-meridian, and no trigonometry per segment.
type vec3 struct{ x, y, z float64 }

func unitVector(lon, lat float64) vec3 {
	sinLat, cosLat := math.Sincos(lat * degToRad)
	sinLon, cosLon := math.Sincos(lon * degToRad)
	return vec3{cosLat * cosLon, cosLat * sinLon, sinLat}
}

func (a vec3) dot(b vec3) float64 { return a.x*b.x + a.y*b.y + a.z*b.z }

func (a vec3) cross(b vec3) vec3 {
	return vec3{a.y*b.z - a.z*b.y, a.z*b.x - a.x*b.z, a.x*b.y - a.y*b.x}
}

func (a vec3) sub(b vec3) vec3 { return vec3{a.x - b.x, a.y - b.y, a.z - b.z} }

func (a vec3) scale(s float64) vec3 { return vec3{a.x * s, a.y * s, a.z * s} }

func (a vec3) norm() float64 { return math.Sqrt(a.dot(a)) }

func (a vec3) lat() float64 { return math.Asin(math.Max(-1, math.Min(1, a.z))) * radToDeg }

// chord2 is the squared straight-line distance between two unit vectors;
// unlike the dot product it keeps full precision for points metres apart.
func chord2(a, b vec3) float64 { d := a.sub(b); return d.dot(d) }

// chordForAngle is the chord of a great-circle angle in radians.
func chordForAngle(angle float64) float64 { return 2 * math.Sin(angle/2) }

// angleForChord is the great-circle angle in radians of a chord.
func angleForChord(chord float64) float64 { return 2 * math.Asin(math.Min(1, chord/2)) }

// capLonExtent is how far in longitude (degrees) a spherical cap of
// angular radius radiusRad centred at latitude latDeg reaches; ok is false
// when the cap spans every longitude (it touches a pole).
func capLonExtent(radiusRad, latDeg float64) (deg float64, ok bool) {
	s := math.Sin(radiusRad) / math.Cos(latDeg*degToRad)
	if radiusRad >= math.Pi/2 || s >= 1 || math.Abs(latDeg)+radiusRad*radToDeg >= 90 {
		return 0, false
	}
	return math.Asin(s) * radToDeg, true
}
