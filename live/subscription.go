package live

import (
	"errors"
	"fmt"
	"math"
)

// maxSubscribedDevices bounds the device list of one subscription.
const maxSubscribedDevices = 10000

// subscription selects the positions a connection gets. The zero value
// selects everything the viewer may see; with a bbox and/or a device list,
// a vehicle must be inside the (margin-widened) box or in the list.
type subscription struct {
	hasBox  bool
	box     bbox // already widened by the margin
	devices map[int64]struct{}
}

// bbox is [west, south, east, north]; west > east crosses the antimeridian.
type bbox struct {
	w, s, e, n float64
	allLon     bool
}

func (s *subscription) matches(p *Position) bool {
	if !s.hasBox && s.devices == nil {
		return true
	}
	if s.hasBox && s.box.contains(p.Lon, p.Lat) {
		return true
	}
	_, ok := s.devices[p.DeviceID]
	return ok
}

func (b *bbox) contains(lon, lat float64) bool {
	if lat < b.s || lat > b.n {
		return false
	}
	if b.allLon {
		return true
	}
	if b.w <= b.e {
		return lon >= b.w && lon <= b.e
	}
	return lon >= b.w || lon <= b.e
}

// newSubscription validates a client's bbox and device list and widens the
// box by margin (a fraction of its size on each side) so that vehicles just
// outside the view are already there when the user pans.
func newSubscription(box []float64, devices []int64, margin float64) (subscription, error) {
	var sub subscription
	if len(box) > 0 {
		b, err := parseBBox(box, margin)
		if err != nil {
			return subscription{}, err
		}
		sub.hasBox, sub.box = true, b
	}
	if devices != nil {
		if len(devices) > maxSubscribedDevices {
			return subscription{}, fmt.Errorf("devices: at most %d", maxSubscribedDevices)
		}
		sub.devices = make(map[int64]struct{}, len(devices))
		for _, id := range devices {
			sub.devices[id] = struct{}{}
		}
	}
	return sub, nil
}

func parseBBox(v []float64, margin float64) (bbox, error) {
	if len(v) != 4 {
		return bbox{}, errors.New("bbox: want [west, south, east, north]")
	}
	w, s, e, n := v[0], v[1], v[2], v[3]
	for _, x := range v {
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return bbox{}, errors.New("bbox: not a number")
		}
	}
	if w < -180 || w > 180 || e < -180 || e > 180 || s < -90 || n > 90 || s > n {
		return bbox{}, errors.New("bbox: out of range (lon -180..180, lat -90..90, south <= north)")
	}
	width := e - w
	if width < 0 {
		width += 360
	}
	dx, dy := width*margin, (n-s)*margin
	b := bbox{s: max(s-dy, -90), n: min(n+dy, 90)}
	if width+2*dx >= 360 {
		b.allLon = true
		return b, nil
	}
	b.w, b.e = wrapLon(w-dx), wrapLon(e+dx)
	return b, nil
}

func wrapLon(x float64) float64 {
	switch {
	case x < -180:
		return x + 360
	case x > 180:
		return x - 360
	}
	return x
}
