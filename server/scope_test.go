package server

import (
	"testing"

	"github.com/radtrack/radtrack/rules"
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

// An incident spanning two sub-centres shows each of them its own alarms
// and a summary of those only: the other site's higher peak, its vehicle
// and its place never show.
func TestScopedIncidentSummarisesOwnAlarms(t *testing.T) {
	sites := []store.Site{{ID: 1, Path: "/1/"}, {ID: 2, ParentID: ptr(1), Path: "/1/2/"}, {ID: 3, ParentID: ptr(1), Path: "/1/3/"}}
	view := &siteIndexView{tree: store.NewSiteTree(sites), deviceSite: map[int64]int64{10: 2, 11: 3}}
	north := scope{site: 2, sites: view.tree.Subtree(2), view: view}
	inc := store.Incident{ID: 5, State: rules.StateRaised, Severity: rules.SeverityCritical, PeakDose: 40, PeakDeviceID: 11, PeakLon: 10.05, PeakLat: 45.95,
		Alarms: []rules.Episode{
			{ID: 2, Key: rules.Key{DeviceID: 11}, State: rules.StateRaised, Severity: rules.SeverityCritical, PeakDose: 40, PeakLon: 10.05, PeakLat: 45.95, PeakGPSValid: true},
			{ID: 1, Key: rules.Key{DeviceID: 10}, State: rules.StateRaised, Severity: rules.SeverityAlarm, PeakDose: 3, PeakLon: 4.05, PeakLat: 51.95, PeakGPSValid: true},
		}}
	got, in := scopeIncident(north, inc)
	if !in || len(got.Alarms) != 1 || got.Alarms[0].ID != 1 {
		t.Fatalf("north sees %v (in %v), want alarm 1 only", got.Alarms, in)
	}
	if got.PeakDeviceID != 10 || got.PeakDose != 3 || got.PeakLon != 4.05 || got.Severity != rules.SeverityAlarm {
		t.Fatalf("north's summary: peak %v µSv/h of device %d at %v, severity %s; want its own 3 µSv/h of device 10, alarm",
			got.PeakDose, got.PeakDeviceID, got.PeakLon, got.Severity)
	}
	if all, _ := scopeIncident(scope{all: true}, inc); all.PeakDeviceID != 11 || len(all.Alarms) != 2 {
		t.Fatal("the centre's view changed")
	}
}
