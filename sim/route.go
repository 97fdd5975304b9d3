package sim

import (
	"fmt"
	"math"
	"sort"
	"time"
)

// LonLat is a WGS84 position in GeoJSON order.
type LonLat struct{ Lon, Lat float64 }

// XY is a point of a local plane: metres east and north of a Frame's origin.
type XY struct{ X, Y float64 }

// earthRadius is the mean Earth radius (IUGG), metres.
const earthRadius = 6_371_008.8

// Frame maps a local east/north plane in metres to WGS84 around Origin. Over
// a port (a few km) this equirectangular projection is off by far less than
// GPS noise, and it lets the models think in plain metres.
type Frame struct{ Origin LonLat }

// LonLat converts a local point to WGS84.
func (f Frame) LonLat(p XY) LonLat {
	lat0 := f.Origin.Lat * math.Pi / 180
	return LonLat{
		Lon: f.Origin.Lon + p.X/(earthRadius*math.Cos(lat0))*180/math.Pi,
		Lat: f.Origin.Lat + p.Y/earthRadius*180/math.Pi,
	}
}

// XY converts a WGS84 position to the local plane.
func (f Frame) XY(p LonLat) XY {
	lat0 := f.Origin.Lat * math.Pi / 180
	return XY{
		X: (p.Lon - f.Origin.Lon) * math.Pi / 180 * earthRadius * math.Cos(lat0),
		Y: (p.Lat - f.Origin.Lat) * math.Pi / 180 * earthRadius,
	}
}

// Stop makes vehicles halt at a waypoint of a route (a gate, a crane) for
// a duration drawn uniformly from [Min, Max].
type Stop struct {
	Waypoint int
	Name     string
	Min, Max time.Duration
}

// Route is a closed loop of waypoints along roads: after the last waypoint
// the road leads back to the first.
type Route struct {
	Name  string
	pts   []XY
	cum   []float64 // cum[i]: distance from pts[0] to pts[i]; cum[n] is the loop length
	turn  []float64 // turn at each waypoint, degrees (0 straight on, 180 U-turn)
	stops map[int]Stop
}

// NewRoute builds a loop through at least three distinct waypoints.
func NewRoute(name string, pts []XY, stops ...Stop) (*Route, error) {
	n := len(pts)
	if n < 3 {
		return nil, fmt.Errorf("route %q: %d waypoints, need at least 3", name, n)
	}
	r := &Route{Name: name, pts: append([]XY(nil), pts...), cum: make([]float64, n+1), turn: make([]float64, n), stops: map[int]Stop{}}
	for i := range n {
		a, b := pts[i], pts[(i+1)%n]
		seg := math.Hypot(b.X-a.X, b.Y-a.Y)
		if seg == 0 {
			return nil, fmt.Errorf("route %q: waypoints %d and %d coincide", name, i, (i+1)%n)
		}
		r.cum[i+1] = r.cum[i] + seg
	}
	for i := range n {
		in := bearing(pts[(i+n-1)%n], pts[i])
		out := bearing(pts[i], pts[(i+1)%n])
		d := math.Abs(math.Mod(out-in+540, 360) - 180)
		r.turn[i] = d
	}
	for _, s := range stops {
		if s.Waypoint < 0 || s.Waypoint >= n || s.Min < 0 || s.Max < s.Min {
			return nil, fmt.Errorf("route %q: bad stop %+v", name, s)
		}
		r.stops[s.Waypoint] = s
	}
	return r, nil
}

// mustRoute is for the built-in layout, whose routes are known to be valid.
func mustRoute(name string, pts []XY, stops ...Stop) *Route {
	r, err := NewRoute(name, pts, stops...)
	if err != nil {
		panic(err)
	}
	return r
}

// Length is the loop length in metres.
func (r *Route) Length() float64 { return r.cum[len(r.pts)] }

// Waypoints returns the loop's waypoints in the local plane.
func (r *Route) Waypoints() []XY { return append([]XY(nil), r.pts...) }

// At returns the position and heading (degrees from north) at distance d
// along the loop; d may exceed one lap or be negative.
func (r *Route) At(d float64) (XY, float64) {
	seg, frac := r.locate(d)
	a, b := r.pts[seg], r.pts[(seg+1)%len(r.pts)]
	return XY{a.X + (b.X-a.X)*frac, a.Y + (b.Y-a.Y)*frac}, bearing(a, b)
}

// wrap splits an unwrapped distance into whole laps and the distance
// within the lap, computed together so that rounding cannot disagree.
func (r *Route) wrap(d float64) (lap, w float64) {
	l := r.Length()
	lap = math.Floor(d / l)
	w = d - lap*l
	if w < 0 {
		lap, w = lap-1, w+l
	}
	if w >= l {
		lap, w = lap+1, max(w-l, 0)
	}
	return lap, w
}

// locate finds the segment holding distance d and the fraction along it.
func (r *Route) locate(d float64) (int, float64) {
	_, w := r.wrap(d)
	return r.locateInLap(w)
}

func (r *Route) locateInLap(w float64) (int, float64) {
	n := len(r.pts)
	seg := min(sort.SearchFloat64s(r.cum[1:], w), n-1) // first cum[i+1] >= w
	if r.cum[seg+1] == w {
		return (seg + 1) % n, 0 // exactly on a waypoint: the next segment starts here
	}
	return seg, (w - r.cum[seg]) / (r.cum[seg+1] - r.cum[seg])
}

// nextWaypoint returns the unwrapped distance of the first waypoint
// strictly ahead of d, and that waypoint's index.
func (r *Route) nextWaypoint(d float64) (float64, int) {
	lap, w := r.wrap(d)
	seg, _ := r.locateInLap(w) // cum[seg] <= w < cum[seg+1]
	return lap*r.Length() + r.cum[seg+1], (seg + 1) % len(r.pts)
}

// bearing is the compass direction from a to b, degrees in [0, 360).
func bearing(a, b XY) float64 {
	deg := math.Atan2(b.X-a.X, b.Y-a.Y) * 180 / math.Pi
	if deg < 0 {
		deg += 360
	}
	return deg
}
