package geo

import (
	"fmt"
	"github.com/radtrack/radtrack/internal/cputime"
	"math"
	"testing"
	"time"

	"github.com/paulmach/orb"
)

// Run with: go test -run '^$' -bench . -cpu 1 ./geo/
//
// Fences are random star polygons (20–50 corners, 100–1000 m radius) over a
// 20 km city box; points are 1000 vehicles moving up to 30 m per step.
// Each fence count runs three ways: the R-tree, a scan of every compiled
// fence (cached bounds, no tree), and a scan with orb's planar.PolygonContains.

var benchSizes = []int{10, 100, 1000, 10000}

func BenchmarkContaining(b *testing.B) {
	points := vehiclePositions(newRand(2), 1000, 100, cityBox)
	for _, n := range benchSizes {
		fences := starFences(newRand(1), n, cityBox)
		ix := mustIndex(b, fences...)
		b.Run(fmt.Sprintf("fences=%d/rtree", n), func(b *testing.B) {
			dst := make([]int64, 0, 64)
			benchPoints(b, points, func(p orb.Point) int {
				dst = ix.Containing(p[0], p[1], dst[:0])
				return len(dst)
			})
		})
		b.Run(fmt.Sprintf("fences=%d/scan", n), func(b *testing.B) {
			benchPoints(b, points, func(p orb.Point) int {
				q, hits := newQuery(p[0], p[1]), 0
				for _, s := range ix.shapes {
					if s.contains(q) {
						hits++
					}
				}
				return hits
			})
		})
		b.Run(fmt.Sprintf("fences=%d/orb-scan", n), func(b *testing.B) {
			polys := make([]orb.Polygon, n)
			for i, f := range fences {
				polys[i] = f.Geometry.(orb.Polygon)
			}
			benchPoints(b, points, func(p orb.Point) int {
				hits := 0
				for _, poly := range polys {
					if orbContains(poly, p) {
						hits++
					}
				}
				return hits
			})
		})
	}
}

// benchPoints evaluates one point per iteration and reports evaluations
// per second, the mean number of fences containing a point, and the
// process CPU time per evaluation: on a shared machine wall time also
// counts the time other processes held the core.
func benchPoints(b *testing.B, points []orb.Point, eval func(orb.Point) int) {
	i, hits := 0, 0
	cpu0 := cputime.Process()
	for b.Loop() {
		hits += eval(points[i])
		if i++; i == len(points) {
			i = 0
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "evals/s")
	b.ReportMetric(float64(hits)/float64(b.N), "hits/eval")
	b.ReportMetric(float64(cputime.Process()-cpu0)/float64(b.N), "cpu-ns/op")
}

// BenchmarkTrackerUpdate is the per-sample cost in the pipeline: 1000
// devices, 1000 fences, default hysteresis (2 samples, 5 m margin).
func BenchmarkTrackerUpdate(b *testing.B) {
	ix := mustIndex(b, starFences(newRand(1), 1000, cityBox)...)
	const devices = 1000
	points := vehiclePositions(newRand(2), devices, 100, cityBox)
	trackers := make([]*Tracker, devices)
	for i := range trackers {
		trackers[i] = NewTracker(DefaultConfig())
	}
	var events []Event
	i, n := 0, 0
	cpu0 := cputime.Process()
	for b.Loop() {
		p := points[i]
		events = trackers[i%devices].Update(ix, p[0], p[1], t0.Add(time.Duration(i)*time.Second), true, events[:0])
		n += len(events)
		if i++; i == len(points) {
			i = 0
			for d := range trackers {
				trackers[d] = NewTracker(DefaultConfig())
			}
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "samples/s")
	b.ReportMetric(float64(cputime.Process()-cpu0)/float64(b.N), "cpu-ns/op")
}

// BenchmarkEdit is the cost of an edit: building a new index with one
// fence replaced, unchanged fences keeping their compiled shapes.
func BenchmarkEdit(b *testing.B) {
	for _, n := range []int{1000, 10000} {
		fences := starFences(newRand(1), n, cityBox)
		ix := mustIndex(b, fences...)
		edited := fences[n/2]
		edited.Name = "edited"
		b.Run(fmt.Sprintf("fences=%d/apply", n), func(b *testing.B) {
			for b.Loop() {
				if _, err := ix.Apply([]Fence{edited}, nil); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(fmt.Sprintf("fences=%d/new-index", n), func(b *testing.B) {
			for b.Loop() {
				if _, err := NewIndex(fences); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// parkedPositions is bench ingest's restricted-zone scenario: each vehicle
// stays within 40 m of a point inside a fence, stepping 10 m at a time on
// a 9 × 7 grid, as a fleet parked in a cordon.
func parkedPositions(ix *Index, vehicles, steps int) []orb.Point {
	centres := make([]orb.Point, 0, vehicles)
	for _, f := range ix.fences {
		if len(centres) == vehicles {
			break
		}
		b := f.Geometry.Bound()
		if c := b.Center(); len(ix.Containing(c[0], c[1], nil)) > 0 {
			centres = append(centres, c)
		}
	}
	mPerLon := metresPerDegree * math.Cos(centres[0][1]*degToRad)
	out := make([]orb.Point, 0, len(centres)*steps)
	for i := range steps {
		for _, c := range centres {
			out = append(out, orb.Point{c[0] + float64(i%9-4)*10/mPerLon, c[1] + float64(i%7-3)*10/metresPerDegree})
		}
	}
	return out
}

// BenchmarkNearZones compares, on the same points, a search of the index
// for every sample with a tracker's cache of the fences near it: vehicles
// parked in a cordon (1000 fences) and vehicles driving up to 30 m a step.
func BenchmarkNearZones(b *testing.B) {
	ix := mustIndex(b, starFences(newRand(1), 1000, cityBox)...)
	const devices = 1000
	for _, sc := range []struct {
		name   string
		points []orb.Point
	}{
		{"parked", parkedPositions(ix, devices, 63)},
		{"driving", vehiclePositions(newRand(2), devices, 100, cityBox)},
	} {
		n := len(sc.points) / 63
		if sc.name == "driving" {
			n = devices
		}
		b.Run(sc.name+"/index", func(b *testing.B) {
			var hits []fenceHit
			i := 0
			for b.Loop() {
				p := sc.points[i]
				hits = ix.zones(p[0], p[1], 5, hits[:0])
				if i++; i == len(sc.points) {
					i = 0
				}
			}
		})
		b.Run(sc.name+"/cache", func(b *testing.B) {
			caches := make([]nearCache, n)
			var hits []fenceHit
			i := 0
			for b.Loop() {
				p := sc.points[i]
				hits = caches[i%n].zones(ix, p[0], p[1], 5, hits[:0])
				if i++; i == len(sc.points) {
					i = 0
				}
			}
		})
	}
}

// BenchmarkTrackerUpdateParked is BenchmarkTrackerUpdate for vehicles
// parked in a cordon (parkedPositions).
func BenchmarkTrackerUpdateParked(b *testing.B) {
	ix := mustIndex(b, starFences(newRand(1), 1000, cityBox)...)
	points := parkedPositions(ix, 1000, 63)
	devices := len(points) / 63
	trackers := make([]*Tracker, devices)
	for i := range trackers {
		trackers[i] = NewTracker(DefaultConfig())
	}
	var events []Event
	i, k := 0, 0
	cpu0 := cputime.Process()
	for b.Loop() {
		p := points[i]
		events = trackers[i%devices].Update(ix, p[0], p[1], t0.Add(time.Duration(k)*time.Second), true, events[:0])
		k++
		if i++; i == len(points) {
			i = 0
		}
	}
	b.ReportMetric(float64(cputime.Process()-cpu0)/float64(b.N), "cpu-ns/op")
}
