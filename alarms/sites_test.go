package alarms_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/radtrack/radtrack/internal/pgtest"
	"github.com/radtrack/radtrack/rules"
	"github.com/radtrack/radtrack/store"
	"github.com/radtrack/radtrack/store/pgstore"
	"github.com/radtrack/radtrack/store/storetest"
)

// A restricted zone of the centre applies to every vehicle below it; one
// of a sub-centre only to that sub-centre's vehicles.
func TestFencesApplyToTheirSiteSubtree(t *testing.T) {
	ctx := context.Background()
	st, err := pgstore.Open(ctx, pgstore.Config{URL: pgtest.NewDatabase(t)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(st.Close)
	root := store.RootSiteID
	north, err := st.CreateSite(ctx, store.Site{ParentID: &root, Name: "north"})
	if err != nil {
		t.Fatal(err)
	}
	south, err := st.CreateSite(ctx, store.Site{ParentID: &root, Name: "south"})
	if err != nil {
		t.Fatal(err)
	}
	room, err := st.CreateSite(ctx, store.Site{ParentID: &north.ID, Name: "room"})
	if err != nil {
		t.Fatal(err)
	}
	square := func(lon float64) json.RawMessage {
		return json.RawMessage(`{"type":"Feature","properties":{"name":"z","kind":"restricted"},"geometry":{"type":"Polygon","coordinates":[[[` +
			ftoa(lon) + `,50],[` + ftoa(lon+0.01) + `,50],[` + ftoa(lon+0.01) + `,50.01],[` + ftoa(lon) + `,50.01],[` + ftoa(lon) + `,50]]]}}`)
	}
	// A north zone at lon 1, a centre-wide zone at lon 2.
	northZone, err := st.CreateFence(ctx, store.Fence{Name: "north zone", Kind: "restricted", Feature: square(1), SiteID: north.ID})
	if err != nil {
		t.Fatal(err)
	}
	centreZone, err := st.CreateFence(ctx, store.Fence{Name: "centre zone", Kind: "restricted", Feature: square(2)})
	if err != nil {
		t.Fatal(err)
	}
	inRoom, _ := storetest.NewDevice(t, st, "van-room")
	inSouth, _ := storetest.NewDevice(t, st, "van-south")
	for dev, site := range map[int64]int64{inRoom.ID: room.ID, inSouth.ID: south.ID} {
		if err := st.SetDeviceSite(ctx, dev, site); err != nil {
			t.Fatal(err)
		}
	}
	inRoom.SiteID, inSouth.SiteID = room.ID, south.ID
	// A strict level rule of the south only.
	southRule, err := st.CreateRule(ctx, rules.Rule{Name: "south strict", Kind: rules.KindLevel, Severity: rules.SeverityWarning,
		Enabled: true, Level: &rules.LevelParams{ThresholdUSvH: 0.02}, SiteID: south.ID})
	if err != nil || southRule.SiteID != south.ID {
		t.Fatalf("south rule = %+v, %v", southRule, err)
	}
	svc := openService(t, st, &recorder{})

	// Each vehicle drives into both zones (outside first, then in for a
	// few samples: the tracker debounces).
	drive := func(dev store.Device, lon float64, start time.Time) {
		t.Helper()
		smps := storetest.Samples(dev.ID, start, 6)
		for i := range smps {
			smps[i].Lon, smps[i].Lat, smps[i].DoseRate = lon+0.005, 50.005, 0.1
			if i == 0 {
				smps[i].Lon = lon - 1
			}
		}
		if err := svc.Process(ctx, dev, smps); err != nil {
			t.Fatal(err)
		}
	}
	t0 := time.Now().UTC().Add(-time.Hour).Truncate(time.Second)
	drive(inRoom, 1, t0)
	drive(inSouth, 1, t0)
	drive(inRoom, 2, t0.Add(time.Minute))
	drive(inSouth, 2, t0.Add(time.Minute))

	list, err := st.ListAlarms(ctx, store.AlarmFilter{})
	if err != nil {
		t.Fatal(err)
	}
	got := map[[2]int64]bool{}
	strict := map[int64]bool{}
	for _, a := range list {
		if a.Kind == rules.KindFence {
			got[[2]int64{a.DeviceID, a.FenceID}] = true
		}
		if a.RuleID == southRule.ID {
			strict[a.DeviceID] = true
		}
	}
	if !strict[inSouth.ID] || strict[inRoom.ID] {
		t.Fatalf("south rule alarms by device %v: want the south van only", strict)
	}
	want := map[[2]int64]bool{
		{inRoom.ID, northZone.ID}: true, {inRoom.ID, centreZone.ID}: true, {inSouth.ID, centreZone.ID}: true,
	}
	if len(got) != len(want) {
		t.Fatalf("fence alarms (device, fence) = %v, want %v (none for the south van in the north zone)", got, want)
	}
	for k := range want {
		if !got[k] {
			t.Fatalf("fence alarms (device, fence) = %v, want %v", got, want)
		}
	}
}

func ftoa(f float64) string { b, _ := json.Marshal(f); return string(b) }
