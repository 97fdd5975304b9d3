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

// EllipseRing is the boundary of m's 95 % region as a closed ring of
// (lon, lat) points (GeoJSON order): its profile-likelihood contour, or
// without one its ellipse in n+1 points.
func (f Frame) EllipseRing(m Mode, n int) [][2]float64 {
	if !m.OK || n < 3 {
		return nil
	}
	if len(m.rx) >= 3 {
		ring := make([][2]float64, 0, len(m.rx)+1)
		for i := range m.rx {
			lat, lon := f.ToLatLon(m.rx[i], m.ry[i])
			ring = append(ring, [2]float64{lon, lat})
		}
		return append(ring, ring[0])
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
// to counts with the sample's calibration or cpmPerUSvH (CPM per µSv/h)
// over the time since the previous reading — then the likelihood is only
// a quasi-likelihood (the dose is not a count).
//
// The path of a reading: a bGeigie stamps the end of its count, so the
// path runs from the previous fix to the reading's own; an N42
// RadMeasurement is stamped with its StartDateTime (attribute
// "n42_measurement_id" marks one), so it runs from its own fix to the
// next. A neighbour more than two intervals away is not used (the path is
// then the fix alone).
func (f Frame) Readings(samples []sample.Sample, veh int, cpmPerUSvH float64) []Reading {
	var fixes []int
	for i := range samples {
		if samples[i].GPSValid && finite(samples[i].Lat, samples[i].Lon) {
			fixes = append(fixes, i)
		}
	}
	var out []Reading
	for k, i := range fixes {
		s := &samples[i]
		var counts, interval float64
		gap := math.Inf(1)
		if k > 0 {
			gap = s.Time.Sub(samples[fixes[k-1]].Time).Seconds()
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
				continue
			}
			interval = gap
			counts = s.DoseRate * cal / 60 * interval
		default:
			continue
		}
		live := interval
		if v, ok := s.Attributes["live_time_s"].(float64); ok && v > 0 && v <= interval {
			live = v
		}
		x, y := f.ToXY(s.Lat, s.Lon)
		r := Reading{X0: x, Y0: y, X1: x, Y1: y, Counts: counts, Live: live, Vehicle: veh}
		mid := float64(s.Time.UnixNano())/1e9 - interval/2
		if _, start := s.Attributes["n42_measurement_id"]; start {
			mid += interval
			if k+1 < len(fixes) {
				n := &samples[fixes[k+1]]
				if g := n.Time.Sub(s.Time).Seconds(); g > 0 && g <= 2*interval {
					r.X1, r.Y1 = f.ToXY(n.Lat, n.Lon)
				}
			}
		} else if gap > 0 && gap <= 2*interval {
			p := &samples[fixes[k-1]]
			r.X0, r.Y0 = f.ToXY(p.Lat, p.Lon)
		}
		r.T = mid
		out = append(out, r)
	}
	return out
}
