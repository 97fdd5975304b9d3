package geo

import (
	"cmp"
	"math"
	"slices"
)

// nodeCapacity is the fan-out of the R-tree: 16 boxes of 32 bytes fill
// eight cache lines, and a point query at 10 000 fences descends 4 levels.
const nodeCapacity = 16

// rtree is a static R-tree bulk-loaded with Sort-Tile-Recursive (STR).
// Fences change rarely, so the tree is rebuilt rather than updated; that
// keeps it a few flat slices with no pointers, and read-only once built.
type rtree struct {
	levels [][]rnode // levels[0] holds the items; the last level is the root
}

// rnode is a box with its children at the level below
// (levels[l-1][first:first+count]); at level 0 first is the item number.
type rnode struct {
	b            box
	first, count int32
}

func buildRTree(boxes []box) rtree {
	if len(boxes) == 0 {
		return rtree{}
	}
	level := make([]rnode, len(boxes))
	for i, b := range boxes {
		level[i] = rnode{b, int32(i), 1}
	}
	strSort(level)
	t := rtree{levels: [][]rnode{level}}
	for len(level) > 1 {
		parents := make([]rnode, 0, (len(level)+nodeCapacity-1)/nodeCapacity)
		for i := 0; i < len(level); i += nodeCapacity {
			j := min(i+nodeCapacity, len(level))
			b := level[i].b
			for _, n := range level[i+1 : j] {
				b = b.union(n.b)
			}
			parents = append(parents, rnode{b, int32(i), int32(j - i)})
		}
		strSort(parents)
		t.levels = append(t.levels, parents)
		level = parents
	}
	return t
}

// strSort orders nodes so that each run of nodeCapacity is a compact tile:
// vertical slices by centre longitude, each sorted by centre latitude.
func strSort(nodes []rnode) {
	slices.SortFunc(nodes, func(a, b rnode) int { return cmp.Compare(a.b.minX+a.b.maxX, b.b.minX+b.b.maxX) })
	pages := (len(nodes) + nodeCapacity - 1) / nodeCapacity
	sliceLen := int(math.Ceil(math.Sqrt(float64(pages)))) * nodeCapacity
	for i := 0; i < len(nodes); i += sliceLen {
		slices.SortFunc(nodes[i:min(i+sliceLen, len(nodes))], func(a, b rnode) int {
			return cmp.Compare(a.b.minY+a.b.maxY, b.b.minY+b.b.maxY)
		})
	}
}

// searchPoint calls visit with every item whose box contains x, y.
func (t *rtree) searchPoint(x, y float64, visit func(item int32)) {
	if top := len(t.levels) - 1; top >= 0 {
		t.point(top, t.levels[top], x, y, visit)
	}
}

func (t *rtree) point(level int, nodes []rnode, x, y float64, visit func(int32)) {
	for i := range nodes {
		n := &nodes[i]
		if !n.b.containsPoint(x, y) {
			continue
		}
		if level == 0 {
			visit(n.first)
		} else {
			t.point(level-1, t.levels[level-1][n.first:n.first+n.count], x, y, visit)
		}
	}
}

// searchBox calls visit with every item whose box intersects q.
func (t *rtree) searchBox(q box, visit func(item int32)) {
	if top := len(t.levels) - 1; top >= 0 {
		t.overlap(top, t.levels[top], q, visit)
	}
}

func (t *rtree) overlap(level int, nodes []rnode, q box, visit func(int32)) {
	for i := range nodes {
		n := &nodes[i]
		if !n.b.intersects(q) {
			continue
		}
		if level == 0 {
			visit(n.first)
		} else {
			t.overlap(level-1, t.levels[level-1][n.first:n.first+n.count], q, visit)
		}
	}
}
