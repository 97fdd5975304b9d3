package geo

import (
	"math"

	"github.com/paulmach/orb"
)

// query is one point being tested. v, the unit vector, is filled only when
// a circle or corridor is among the candidates (it costs two sincos).
type query struct {
	lon, lat float64
	v        vec3
}

func newQuery(lon, lat float64) query { return query{lon: lon, lat: lat} }

func (q *query) withVector() { q.v = unitVector(q.lon, q.lat) }

// zone is where a point is relative to a fence given a margin.
type zone int8

const (
	zoneOut    zone = iota // at least the margin outside
	zoneBorder             // closer to the boundary than the margin
	zoneIn                 // at least the margin inside
)

// shape is a fence compiled for fast tests. A shape may have several parts
// (polygons of a multipolygon, chunks of a corridor); each part has its own
// index entries so that a point near one part does not test the others.
type shape interface {
	entries() []shapeEntry
	containsPart(part int32, q query) bool
	contains(q query) bool
	signedDistance(q query) float64 // metres, negative inside
	zone(q query, marginM float64) zone
}

type shapeEntry struct {
	bound box // within [-180, 180]
	part  int32
}

// compile turns a valid fence into its shape.
func compile(f Fence) shape {
	switch g := f.Geometry.(type) {
	case orb.Polygon:
		return compilePolygons([]orb.Polygon{g})
	case orb.MultiPolygon:
		return compilePolygons(g)
	case orb.Point:
		return compileCircle(g, f.RadiusM)
	case orb.LineString:
		return compileCorridor(g, f.HalfWidthM)
	}
	panic("geo: compile called on an invalid fence")
}

// zoneByDistance classifies a signed distance against a margin.
func zoneByDistance(d, marginM float64) zone {
	switch {
	case math.Abs(d) < marginM:
		return zoneBorder
	case d <= 0:
		return zoneIn
	}
	return zoneOut
}
