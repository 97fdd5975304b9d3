package geo

import (
	"cmp"
	"fmt"
	"slices"

	"github.com/paulmach/orb"
)

// Index answers which fences contain a point. It is immutable once built
// and safe for any number of concurrent readers. To change fences, build a
// new Index (NewIndex or Apply) and swap it in, e.g. with atomic.Pointer.
type Index struct {
	fences []Fence
	ids    []int64 // ids[i] == fences[i].ID, kept apart for the hot path
	shapes []shape
	byID   map[int64]int32
	refs   []entryRef // tree item → shape part
	tree   rtree
	// entries[i] are shape i's index entries, for testing one fence as
	// the tree search would without searching (exactZone).
	entries [][]shapeEntry
	// id tells this index from any other for as long as someone holds
	// it; a tracker's cache holds it rather than the index, so that an
	// idle vehicle does not keep a replaced index alive.
	id *indexID
}

// indexID is not zero-sized: distinct allocations have distinct addresses.
type indexID struct{ _ byte }

type entryRef struct {
	shape, part int32
	// polygon is set for polygon parts: the hot path calls it directly, and
	// only circles and corridors need the point's unit vector.
	polygon *polygonPart
}

// NewIndex validates and compiles fences. Fence IDs must be unique. The
// geometries are copied: the caller may reuse its fences afterwards.
func NewIndex(fences []Fence) (*Index, error) {
	shapes := make([]shape, len(fences))
	copied := make([]Fence, len(fences))
	for i, f := range fences {
		if err := f.Validate(); err != nil {
			return nil, fmt.Errorf("fences[%d]: %w", i, err)
		}
		f.Geometry = orb.Clone(f.Geometry)
		copied[i], shapes[i] = f, compile(f)
	}
	return assemble(copied, shapes)
}

// Apply returns a new index with upserts added or replaced (by ID) and the
// fences with the deleted IDs removed. Unchanged fences keep their compiled
// shapes, so an edit costs one compile and an R-tree rebuild.
func (ix *Index) Apply(upserts []Fence, deletes []int64) (*Index, error) {
	drop := make(map[int64]bool, len(upserts)+len(deletes))
	for _, id := range deletes {
		drop[id] = true
	}
	for _, f := range upserts {
		drop[f.ID] = true
	}
	var fences []Fence
	var shapes []shape
	if ix != nil {
		for i, f := range ix.fences {
			if !drop[f.ID] {
				fences, shapes = append(fences, f), append(shapes, ix.shapes[i])
			}
		}
	}
	added, err := NewIndex(upserts)
	if err != nil {
		return nil, err
	}
	return assemble(append(fences, added.fences...), append(shapes, added.shapes...))
}

func assemble(fences []Fence, shapes []shape) (*Index, error) {
	ix := &Index{fences: fences, shapes: shapes, ids: make([]int64, len(fences)), byID: make(map[int64]int32, len(fences)),
		entries: make([][]shapeEntry, len(fences)), id: new(indexID)}
	var boxes []box
	for i, f := range fences {
		if _, dup := ix.byID[f.ID]; dup {
			return nil, fmt.Errorf("fences[%d]: %w", i, &ValidationError{FenceID: f.ID, Field: "id", Reason: "used by another fence"})
		}
		ix.byID[f.ID] = int32(i)
		ix.ids[i] = f.ID
		ix.entries[i] = shapes[i].entries()
		for _, e := range ix.entries[i] {
			boxes = append(boxes, e.bound)
			ref := entryRef{shape: int32(i), part: e.part}
			if p, ok := shapes[i].(*polygonShape); ok {
				ref.polygon = &p.parts[e.part]
			}
			ix.refs = append(ix.refs, ref)
		}
	}
	ix.tree = buildRTree(boxes)
	return ix, nil
}

// Len is the number of fences.
func (ix *Index) Len() int {
	if ix == nil {
		return 0
	}
	return len(ix.fences)
}

// Fence returns the fence with the given ID.
func (ix *Index) Fence(id int64) (Fence, bool) {
	if ix == nil {
		return Fence{}, false
	}
	i, ok := ix.byID[id]
	if !ok {
		return Fence{}, false
	}
	return ix.fences[i], true
}

func (ix *Index) has(id int64) bool {
	if ix == nil {
		return false
	}
	_, ok := ix.byID[id]
	return ok
}

// Fences returns all fences in the order they were given.
func (ix *Index) Fences() []Fence {
	if ix == nil {
		return nil
	}
	return slices.Clone(ix.fences)
}

// Containing appends to dst the IDs, ascending, of the fences containing
// the point. Longitudes outside [-180, 180] are wrapped. It allocates only
// if dst has to grow.
func (ix *Index) Containing(lon, lat float64, dst []int64) []int64 {
	if ix == nil || !finite(lon) || !finite(lat) {
		return dst
	}
	q := newQuery(wrapLon(lon), lat)
	haveVector := false
	start := len(dst)
	ix.tree.searchPoint(q.lon, q.lat, func(item int32) {
		ref := &ix.refs[item]
		var in bool
		if ref.polygon != nil {
			in = ref.polygon.contains(q.lon, q.lat)
		} else {
			if !haveVector {
				q.withVector()
				haveVector = true
			}
			in = ix.shapes[ref.shape].containsPart(ref.part, q)
		}
		if in {
			dst = appendUnique(dst, start, ix.ids[ref.shape])
		}
	})
	sortIDs(dst[start:])
	return dst
}

// SignedDistance is the distance in metres from the point to the boundary
// of fence id: negative inside, positive outside. ok is false for an
// unknown id.
func (ix *Index) SignedDistance(id int64, lon, lat float64) (metres float64, ok bool) {
	if ix == nil {
		return 0, false
	}
	i, ok := ix.byID[id]
	if !ok {
		return 0, false
	}
	q := newQuery(wrapLon(lon), lat)
	q.withVector()
	return ix.shapes[i].signedDistance(q), true
}

// fenceHit is a fence the tracker must consider for one sample.
type fenceHit struct {
	id   int64
	zone zone
}

// zones appends the fences for which the point is inside or within
// marginM of the boundary, sorted by id; every fence not listed is at least
// marginM outside (or, with no margin, does not contain the point).
func (ix *Index) zones(lon, lat, marginM float64, dst []fenceHit) []fenceHit {
	if ix.Len() == 0 || !finite(lon) || !finite(lat) {
		return dst
	}
	q := newQuery(wrapLon(lon), lat)
	// Only circles and corridors need the unit vector (two sincos).
	haveVector := false
	vectorFor := func(ref *entryRef) {
		if ref.polygon == nil && !haveVector {
			q.withVector()
			haveVector = true
		}
	}
	start := len(dst)
	if marginM <= 0 {
		ix.tree.searchPoint(q.lon, q.lat, func(item int32) {
			ref := &ix.refs[item]
			vectorFor(ref)
			if id := ix.ids[ref.shape]; !hasHit(dst[start:], id) && ix.shapes[ref.shape].containsPart(ref.part, q) {
				dst = append(dst, fenceHit{id, zoneIn})
			}
		})
	} else {
		// Every box entry within the margin is a candidate; outside ones are
		// kept until the end so that a fence with several parts is
		// classified once.
		visit := func(item int32) {
			ref := &ix.refs[item]
			if id := ix.ids[ref.shape]; !hasHit(dst[start:], id) {
				vectorFor(ref)
				dst = append(dst, fenceHit{id, ix.shapes[ref.shape].zone(q, marginM)})
			}
		}
		boxes, n := splitAtAntimeridian(capBound(q.lon, q.lat, marginM/EarthRadiusM).pad(boxEpsilon))
		for _, b := range boxes[:n] {
			ix.tree.searchBox(b, visit)
		}
		kept := slices.DeleteFunc(dst[start:], func(h fenceHit) bool { return h.zone == zoneOut })
		dst = dst[:start+len(kept)]
	}
	hits := dst[start:]
	slices.SortFunc(hits, func(a, b fenceHit) int { return cmp.Compare(a.id, b.id) })
	return dst
}

func hasHit(hits []fenceHit, id int64) bool {
	for _, h := range hits {
		if h.id == id {
			return true
		}
	}
	return false
}

// appendUnique appends id unless dst[start:] has it: a point can fall in
// the boxes of several parts of one fence.
func appendUnique(dst []int64, start int, id int64) []int64 {
	if slices.Contains(dst[start:], id) {
		return dst
	}
	return append(dst, id)
}

// sortIDs is an insertion sort: the result of one query is a handful of ids.
func sortIDs(ids []int64) {
	for i := 1; i < len(ids); i++ {
		for j := i; j > 0 && ids[j] < ids[j-1]; j-- {
			ids[j], ids[j-1] = ids[j-1], ids[j]
		}
	}
}
