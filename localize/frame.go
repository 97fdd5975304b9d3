package localize

import (
	"math"

	"github.com/radtrack/radtrack/sample"
)

// Frame is a local east–north plane tangent at an origin: good to well
// under a metre over the few kilometres a fit spans.
type Frame struct {
	Lat0, Lon0 float64
	mLat, mLon float64 // metres per degree
}

// NewFrame is the frame at (lat0, lon0); metres per degree from the WGS84
// ellipsoid's series (meridian and parallel arc lengths).
func NewFrame(lat0, lon0 float64) Frame {
	p := lat0 * math.Pi / 180
	return Frame{
		Lat0: lat0, Lon0: lon0,
		mLat: 111132.92 - 559.82*math.Cos(2*p) + 1.175*math.Cos(4*p),
		mLon: 111412.84*math.Cos(p) - 93.5*math.Cos(3*p),
	}
}

// ToXY is (lat, lon) in metres east and north of the origin.
func (f Frame) ToXY(lat, lon float64) (x, y float64) {
	return (lon - f.Lon0) * f.mLon, (lat - f.Lat0) * f.mLat
}

// ToLatLon inverts ToXY.
func (f Frame) ToLatLon(x, y float64) (lat, lon float64) {
	return f.Lat0 + y/f.mLat, f.Lon0 + x/f.mLon
}

// EllipseRing is the ellipse of m as a closed ring of n+1 (lon, lat)
// points (GeoJSON order).
func (f Frame) EllipseRing(m Mode, n int) [][2]float64 {
	if !m.OK || n < 3 {
		return nil
	}
	e := m.Ellipse
	az := e.AzimuthDeg * math.Pi / 180
	// Unit vectors of the major (azimuth from north) and minor axes.
	ux, uy := math.Sin(az), math.Cos(az)
	vx, vy := -uy, ux
	ring := make([][2]float64, 0, n+1)
	for i := 0; i <= n; i++ {
		t := 2 * math.Pi * float64(i%n) / float64(n)
		a, b := e.SemiMajorM*math.Cos(t), e.SemiMinorM*math.Sin(t)
		lat, lon := f.ToLatLon(m.X+a*ux+b*vx, m.Y+a*uy+b*vy)
		ring = append(ring, [2]float64{lon, lat})
	}
	return ring
}

// maxIntervalS bounds the counting interval a dose-only reading is taken
// to cover (the time since the previous reading).
const maxIntervalS = 60

// Readings turns one detector's samples (time order) into readings of
// vehicle veh. A sample counts when it has a GPS fix and either counts
// over a counting interval (live time from the "live_time_s" attribute
// when the instrument sent one) or, failing those, a dose rate, converted
// to counts with the sample's calibration or cpmPerUSvH (CPM per µSv/h) over
// the time since the previous reading — then the likelihood is only a
// quasi-likelihood (the dose is not a count). The path of a reading runs
// from the previous fix to its own when they are at most two intervals
// apart (a bGeigie stamps the end of its 5-s count).
func (f Frame) Readings(samples []sample.Sample, veh int, cpmPerUSvH float64) []Reading {
	var out []Reading
	var prev *sample.Sample
	for i := range samples {
		s := &samples[i]
		if !s.GPSValid || !finite(s.Lat, s.Lon) {
			continue
		}
		x1, y1 := f.ToXY(s.Lat, s.Lon)
		var counts, interval float64
		gap := math.Inf(1)
		if prev != nil {
			gap = s.Time.Sub(prev.Time).Seconds()
		}
		switch {
		case sample.Has(s.Counts) && sample.Has(s.CountInterval) && s.CountInterval > 0 && s.Counts >= 0:
			counts, interval = s.Counts, s.CountInterval
		case sample.Has(s.DoseRate) && s.DoseRate >= 0 && gap > 0 && gap <= maxIntervalS:
			cal := s.CPMPerUSvH
			if !(cal > 0) {
				cal = cpmPerUSvH
			}
			if !(cal > 0) {
				prev = s
				continue
			}
			interval = gap
			counts = s.DoseRate * cal / 60 * interval
		default:
			prev = s
			continue
		}
		live := interval
		if v, ok := s.Attributes["live_time_s"].(float64); ok && v > 0 && v <= interval {
			live = v
		}
		x0, y0 := x1, y1
		if prev != nil && gap > 0 && gap <= 2*interval {
			x0, y0 = f.ToXY(prev.Lat, prev.Lon)
		}
		out = append(out, Reading{X0: x0, Y0: y0, X1: x1, Y1: y1, Counts: counts, Live: live, Vehicle: veh})
		prev = s
	}
	return out
}
