package geo

import "math"

// wrapLon maps a finite longitude outside [-180, 180] back into it.
func wrapLon(lon float64) float64 {
	if lon >= -180 && lon <= 180 {
		return lon
	}
	l := math.Mod(lon+180, 360)
	if l < 0 {
		l += 360
	}
	return l - 180
}

// unwrapNear returns lon shifted by a multiple of 360° so that it is within
// 180° of ref. Unwrapping each vertex against the previous one turns a ring
// that crosses the anti-meridian into one continuous longitude range.
func unwrapNear(lon, ref float64) float64 {
	for lon-ref > 180 {
		lon -= 360
	}
	for lon-ref < -180 {
		lon += 360
	}
	return lon
}

// box is an axis-aligned lon/lat rectangle in degrees.
type box struct{ minX, minY, maxX, maxY float64 }

func emptyBox() box {
	return box{math.Inf(1), math.Inf(1), math.Inf(-1), math.Inf(-1)}
}

func (b box) extend(x, y float64) box {
	return box{math.Min(b.minX, x), math.Min(b.minY, y), math.Max(b.maxX, x), math.Max(b.maxY, y)}
}

func (b box) union(o box) box {
	return box{math.Min(b.minX, o.minX), math.Min(b.minY, o.minY), math.Max(b.maxX, o.maxX), math.Max(b.maxY, o.maxY)}
}

func (b box) containsPoint(x, y float64) bool {
	return x >= b.minX && x <= b.maxX && y >= b.minY && y <= b.maxY
}

func (b box) intersects(o box) bool {
	return b.minX <= o.maxX && o.minX <= b.maxX && b.minY <= o.maxY && o.minY <= b.maxY
}

// boxEpsilon pads index boxes (about 0.1 mm) so that rounding in the box
// arithmetic never drops a point the exact test would accept.
const boxEpsilon = 1e-9

func (b box) pad(d float64) box { return box{b.minX - d, b.minY - d, b.maxX + d, b.maxY + d} }

// splitAtAntimeridian cuts a box in unwrapped longitudes into the one or
// two boxes within [-180, 180] that the index stores; n says how many.
func splitAtAntimeridian(b box) (parts [2]box, n int) {
	if b.maxX-b.minX >= 360 {
		return [2]box{{-180, b.minY, 180, b.maxY}}, 1
	}
	shift := 360 * math.Floor((b.minX+180)/360)
	b.minX, b.maxX = b.minX-shift, b.maxX-shift // now minX is in [-180, 180)
	if b.maxX > 180 {
		return [2]box{{b.minX, b.minY, 180, b.maxY}, {-180, b.minY, b.maxX - 360, b.maxY}}, 2
	}
	return [2]box{b}, 1
}

// entriesFor returns the index entries of one part's unwrapped bound.
func entriesFor(dst []shapeEntry, b box, part int32) []shapeEntry {
	parts, n := splitAtAntimeridian(b.pad(boxEpsilon))
	for _, p := range parts[:n] {
		dst = append(dst, shapeEntry{p, part})
	}
	return dst
}
