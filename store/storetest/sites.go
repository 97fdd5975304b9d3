package storetest

import (
	"context"
	"encoding/json"
	"errors"
	"strconv"
	"testing"
	"time"

	"github.com/radtrack/radtrack/store"
)

func testSites(t *testing.T, s store.Store) {
	ctx := context.Background()
	sites, err := s.ListSites(ctx)
	if err != nil || len(sites) != 1 || sites[0].ID != store.RootSiteID || sites[0].ParentID != nil || sites[0].Path != "/1/" {
		t.Fatalf("fresh store sites = %+v, %v; want only the root /1/", sites, err)
	}
	// Existing and new rows without a site are in the root.
	d, _ := NewDevice(t, s, "veh-site")
	if d.SiteID != store.RootSiteID {
		t.Fatalf("new device site = %d, want root", d.SiteID)
	}
	u, err := s.CreateUser(ctx, store.User{Username: "siteuser", PasswordHash: "x", Role: "viewer"})
	if err != nil || u.SiteID != store.RootSiteID {
		t.Fatalf("new user = %+v, %v; want root site", u, err)
	}

	root := store.RootSiteID
	north, err := s.CreateSite(ctx, store.Site{ParentID: &root, Name: "north"})
	if err != nil {
		t.Fatal(err)
	}
	if north.Path != "/1/"+strconv.FormatInt(north.ID, 10)+"/" || north.ParentID == nil || *north.ParentID != root {
		t.Fatalf("north = %+v", north)
	}
	room, err := s.CreateSite(ctx, store.Site{ParentID: &north.ID, Name: "room 1"})
	if err != nil {
		t.Fatal(err)
	}
	if room.Path != store.SitePath(north.Path, room.ID) {
		t.Fatalf("room path %q, want under %q", room.Path, north.Path)
	}
	south, err := s.CreateSite(ctx, store.Site{ParentID: &root, Name: "south"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.CreateSite(ctx, store.Site{ParentID: &root, Name: "north"}); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("duplicate sibling name: %v, want ErrConflict", err)
	}
	// The same name under another parent is fine.
	if _, err := s.CreateSite(ctx, store.Site{ParentID: &south.ID, Name: "room 1"}); err != nil {
		t.Fatalf("same name elsewhere: %v", err)
	}
	missing := int64(99999)
	if _, err := s.CreateSite(ctx, store.Site{ParentID: &missing, Name: "x"}); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("unknown parent: %v, want ErrNotFound", err)
	}
	if _, err := s.CreateSite(ctx, store.Site{Name: "second root"}); err == nil {
		t.Fatal("a second root was accepted")
	}
	renamed, err := s.RenameSite(ctx, store.RootSiteID, "Provincial centre")
	if err != nil || renamed.Name != "Provincial centre" || renamed.Path != "/1/" {
		t.Fatalf("rename root = %+v, %v", renamed, err)
	}
	if _, err := s.RenameSite(ctx, missing, "x"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("rename unknown: %v", err)
	}

	sites, err = s.ListSites(ctx)
	if err != nil || len(sites) != 5 {
		t.Fatalf("sites = %+v, %v; want 5", sites, err)
	}
	tree := store.NewSiteTree(sites)
	sub := tree.Subtree(north.ID)
	if _, ok := sub[room.ID]; !ok || len(sub) != 2 {
		t.Fatalf("subtree of north = %v, want north and its room", sub)
	}
	if !tree.Within(room.ID, root) || !tree.Within(room.ID, north.ID) || tree.Within(room.ID, south.ID) || tree.Within(north.ID, room.ID) {
		t.Fatal("Within disagrees with the tree")
	}
	if len(tree.Subtree(root)) != 5 {
		t.Fatalf("root subtree = %v", tree.Subtree(root))
	}

	// Moving a device and a user.
	if err := s.SetDeviceSite(ctx, d.ID, room.ID); err != nil {
		t.Fatal(err)
	}
	if got, err := s.DeviceByID(ctx, d.ID); err != nil || got.SiteID != room.ID {
		t.Fatalf("device after move = %+v, %v", got, err)
	}
	if list, err := s.ListDevices(ctx); err != nil || len(list) != 1 || list[0].SiteID != room.ID {
		t.Fatalf("listed device = %+v, %v", list, err)
	}
	if err := s.SetDeviceSite(ctx, d.ID, missing); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("move device to unknown site: %v", err)
	}
	if err := s.SetDeviceSite(ctx, missing, north.ID); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("move unknown device: %v", err)
	}
	if err := s.SetUserSite(ctx, u.ID, north.ID); err != nil {
		t.Fatal(err)
	}
	if got, err := s.UserByUsername(ctx, u.Username); err != nil || got.SiteID != north.ID {
		t.Fatalf("user after move = %+v, %v", got, err)
	}
	if err := s.SetUserSite(ctx, u.ID, missing); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("move user to unknown site: %v", err)
	}
	// A device created in a site, a fence created in a site.
	d2, err := s.CreateDevice(ctx, store.Device{UID: "veh-south", Name: "S", SiteID: south.ID}, []byte("hash-south-device-0000000000000"))
	if err != nil || d2.SiteID != south.ID {
		t.Fatalf("device created in south = %+v, %v", d2, err)
	}
	feature := json.RawMessage(`{"type":"Feature","properties":{},"geometry":{"type":"Polygon","coordinates":[[[0,0],[1,0],[1,1],[0,0]]]}}`)
	f, err := s.CreateFence(ctx, store.Fence{Name: "zone", Kind: "restricted", Feature: feature, SiteID: north.ID})
	if err != nil || f.SiteID != north.ID {
		t.Fatalf("fence created in north = %+v, %v", f, err)
	}
	if got, err := s.Fence(ctx, f.ID); err != nil || got.SiteID != north.ID {
		t.Fatalf("fence read back = %+v, %v", got, err)
	}
	// An update keeps the fence's site.
	f.Name = "zone 2"
	if got, err := s.UpdateFence(ctx, f); err != nil || got.SiteID != north.ID {
		t.Fatalf("fence updated = %+v, %v", got, err)
	}

	// A scoped heatmap counts only the listed devices' samples.
	if err := s.WriteSamples(ctx, append(Samples(d.ID, Base, 5), Samples(d2.ID, Base, 3)...)); err != nil {
		t.Fatal(err)
	}
	hq := store.HeatmapQuery{From: Base.Add(-time.Minute), To: Base.Add(time.Hour), BBox: [4]float64{-180, -90, 180, 90}, CellLon: 1, CellLat: 1}
	count := func(q store.HeatmapQuery) int64 {
		t.Helper()
		cells, err := s.Heatmap(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		var n int64
		for _, c := range cells {
			n += c.Samples
		}
		return n
	}
	if n := count(hq); n != 8 {
		t.Fatalf("unscoped heatmap counts %d samples, want 8", n)
	}
	hq.DeviceIDs = []int64{d2.ID}
	if n := count(hq); n != 3 {
		t.Fatalf("heatmap of the south device counts %d samples, want 3", n)
	}
	hq.DeviceIDs = []int64{}
	if n := count(hq); n != 0 {
		t.Fatalf("heatmap of no device counts %d samples, want 0", n)
	}
}
