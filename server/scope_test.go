package server

import (
	"testing"

	"github.com/radtrack/radtrack/store"
)

func ptr(v int64) *int64 { return &v }

// A live socket's filter follows the node's site index: a device moved or
// created after the socket opened, and a room added under the viewer's
// site later, apply without reconnecting.
func TestLiveFilterFollowsTheIndex(t *testing.T) {
	sites := []store.Site{
		{ID: 1, Path: "/1/"},
		{ID: 2, ParentID: ptr(1), Path: "/1/2/"},
		{ID: 3, ParentID: ptr(1), Path: "/1/3/"},
	}
	var idx siteIndex
	v1 := &siteIndexView{tree: store.NewSiteTree(sites), deviceSite: map[int64]int64{10: 2, 11: 3}}
	idx.view.Store(v1)
	sc := scope{site: 2, sites: v1.tree.Subtree(2), view: v1}
	sees := sc.deviceFilter(&idx)
	if !sees(10) || sees(11) || sees(12) {
		t.Fatal("first index: want device 10 only")
	}
	// Device 11 moves into a new room 4 under site 2; device 12 appears there.
	sites = append(sites, store.Site{ID: 4, ParentID: ptr(2), Path: "/1/2/4/"})
	idx.view.Store(&siteIndexView{tree: store.NewSiteTree(sites), deviceSite: map[int64]int64{10: 2, 11: 4, 12: 4}})
	if !sees(10) || !sees(11) || !sees(12) {
		t.Fatal("after the reload: want 10, 11 and 12")
	}
	// Device 10 leaves for site 3.
	idx.view.Store(&siteIndexView{tree: store.NewSiteTree(sites), deviceSite: map[int64]int64{10: 3, 11: 4, 12: 4}})
	if sees(10) || !sees(11) {
		t.Fatal("after the move out: want 11, not 10")
	}
	if (scope{all: true}).deviceFilter(&idx) != nil {
		t.Fatal("a root scope must not filter")
	}
}
