package incidents_test

import (
	"context"
	"fmt"
	"math"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/radtrack/radtrack/incidents"
	"github.com/radtrack/radtrack/rules"
	"github.com/radtrack/radtrack/sample"
	"github.com/radtrack/radtrack/store"
	"github.com/radtrack/radtrack/store/storetest"
)

// rising is a parked vehicle whose dose rate climbs from 2 to 8 µSv/h
// over 5 minutes (a source brought closer): every sample a new peak.
func rising(deviceID int64, start time.Time) []sample.Sample {
	return risingAt(deviceID, start, 4.40, 51.2)
}

func risingAt(deviceID int64, start time.Time, lon, lat float64) []sample.Sample {
	var out []sample.Sample
	for i := range 60 {
		dose := 2 + 0.1*float64(i)
		s := sample.New()
		s.DeviceID, s.Time = deviceID, start.Add(time.Duration(i)*5*time.Second)
		s.ReceivedAt = s.Time
		s.Lon, s.Lat, s.GPSValid = lon, lat, true
		s.Counts, s.CountInterval, s.RadValid = math.Round(dose*cpmPerUSvH/60*5), 5, true
		s.FillDose(cpmPerUSvH)
		out = append(out, s)
	}
	return out
}

// countingStore counts incident writes.
type countingStore struct {
	store.Store
	saves atomic.Int64
}

func (c *countingStore) SaveIncident(ctx context.Context, inc store.Incident, add ...int64) (int64, error) {
	c.saves.Add(1)
	return c.Store.SaveIncident(ctx, inc, add...)
}

// While the filer runs, alarm events wait for it instead of filing on the
// ingest path, and rising peaks are stored once per flush instead of once
// per sample; after the flush the incident holds exactly the summary of
// its stored alarms, raised once, and its last event says so.
func TestProgressWaitsForFlush(t *testing.T) {
	eachStore(t, func(t *testing.T, st store.Store) {
		ctx := context.Background()
		cs := &countingStore{Store: st}
		r := newRig(t, cs)
		start := time.Now().UTC().Add(-5 * time.Hour).Truncate(time.Second)

		immediate, _ := storetest.NewDevice(t, st, "veh-immediate")
		if err := r.alarms.Process(ctx, immediate, rising(immediate.ID, start)); err != nil {
			t.Fatal(err)
		}
		savesImmediate := cs.saves.Swap(0)

		r.inc.StartDeferring()
		deferred, _ := storetest.NewDevice(t, st, "veh-deferred")
		later := start.Add(2 * time.Hour) // a separate incident
		if err := r.alarms.Process(ctx, deferred, rising(deferred.ID, later)); err != nil {
			t.Fatal(err)
		}
		savesBeforeFlush := cs.saves.Load()
		r.inc.Flush(ctx)
		savesDeferred := cs.saves.Load()
		if savesBeforeFlush != 0 || savesDeferred >= savesImmediate/4 || savesDeferred == 0 {
			t.Fatalf("incident writes: immediate %d, deferred %d before the flush and %d after", savesImmediate, savesBeforeFlush, savesDeferred)
		}

		list, err := st.ListIncidents(ctx, store.IncidentFilter{Since: later.Add(-time.Minute)})
		if err != nil || len(list) != 1 {
			t.Fatalf("incidents of the deferred pass: %d, %v", len(list), err)
		}
		got := list[0]
		want := got
		incidents.Summarize(&want)
		var maxPeak float64
		for _, a := range got.Alarms {
			if a.DeviceID != deferred.ID {
				t.Fatalf("alarm of device %d in the deferred pass's incident", a.DeviceID)
			}
			ep, err := st.Alarm(ctx, a.ID)
			if err != nil {
				t.Fatal(err)
			}
			maxPeak = max(maxPeak, ep.PeakDose)
		}
		if got.PeakDose != maxPeak || want.PeakDose != got.PeakDose || !want.LastSeen.Equal(got.LastSeen) {
			t.Fatalf("incident peak %v last seen %v; its alarms' peak %v, summary %v %v", got.PeakDose, got.LastSeen, maxPeak, want.PeakDose, want.LastSeen)
		}
		if got.State != rules.StateRaised {
			t.Fatalf("incident state %s, want raised", got.State)
		}
		r.mu.Lock()
		last := r.events[len(r.events)-1]
		raised := 0
		for _, ev := range r.events {
			if ev.Incident.ID == got.ID && ev.Type == incidents.EventRaised {
				raised++
			}
		}
		r.mu.Unlock()
		if last.Incident.ID != got.ID || last.Incident.PeakDose != maxPeak || raised != 1 {
			t.Fatalf("last incident event %s of incident %d with peak %v, %d raised events; want incident %d's peak %v, raised once",
				last.Type, last.Incident.ID, last.Incident.PeakDose, raised, got.ID, maxPeak)
		}
		t.Logf("incident writes for one pass: %d immediate, %d deferred (%d at the flush)", savesImmediate, savesDeferred, savesDeferred-savesBeforeFlush)
	})
}

// The candidates an alarm may join are read by device and by a box around
// its peak, not by reading every open incident.
func TestIncidentsNear(t *testing.T) {
	eachStore(t, func(t *testing.T, st store.Store) {
		ctx := context.Background()
		r := newRig(t, st)
		start := time.Now().UTC().Add(-time.Hour).Truncate(time.Second)
		a, _ := storetest.NewDevice(t, st, "veh-near-a")
		b, _ := storetest.NewDevice(t, st, "veh-near-b")
		if err := r.alarms.Process(ctx, a, risingAt(a.ID, start, 4.40, 51.2)); err != nil {
			t.Fatal(err)
		}
		if err := r.alarms.Process(ctx, b, risingAt(b.ID, start, 4.50, 51.2)); err != nil { // 7 km east
			t.Fatal(err)
		}
		all, err := st.ListIncidents(ctx, store.IncidentFilter{})
		if err != nil || len(all) != 2 {
			t.Fatalf("%d incidents, %v; want 2", len(all), err)
		}
		of := func(dev int64) int64 {
			for _, inc := range all {
				if inc.Alarms[0].DeviceID == dev {
					return inc.ID
				}
			}
			t.Fatalf("no incident of device %d", dev)
			return 0
		}
		box := func(lon, lat float64) *[4]float64 { b := store.BoxAround(lon, lat, 1000); return &b }
		for _, c := range []struct {
			name string
			near store.IncidentNear
			want []int64
		}{
			{"a's device", store.IncidentNear{DeviceID: a.ID}, []int64{of(a.ID)}},
			{"another device 500 m from a's peak", store.IncidentNear{DeviceID: -1, Box: box(4.407, 51.2)}, []int64{of(a.ID)}},
			{"another device between them", store.IncidentNear{DeviceID: -1, Box: box(4.45, 51.2)}, nil},
			{"b's device near a's peak", store.IncidentNear{DeviceID: b.ID, Box: box(4.40, 51.2)}, []int64{of(a.ID), of(b.ID)}},
		} {
			got, err := st.ListIncidents(ctx, store.IncidentFilter{Near: &c.near})
			if err != nil {
				t.Fatal(err)
			}
			var ids []int64
			for _, inc := range got {
				ids = append(ids, inc.ID)
			}
			slices.Sort(ids)
			want := slices.Sorted(slices.Values(c.want))
			if !slices.Equal(ids, want) {
				t.Errorf("%s: incidents %v, want %v", c.name, ids, want)
			}
		}
	})
}

func TestBoxAround(t *testing.T) {
	b := store.BoxAround(4.40, 51.2, 1000)
	if b[1] > 51.2-0.0089 || b[3] < 51.2+0.0089 || b[0] > 4.4-0.0143 || b[2] < 4.4+0.0143 {
		t.Fatalf("box %v does not hold 1 km around (4.40, 51.2)", b)
	}
	if w := store.BoxAround(179.999, 0, 1000); w[0] != -180 || w[2] != 180 {
		t.Fatalf("box across the antimeridian %v, want every longitude", w)
	}
}

// Alarms whose events were still queued when a node stopped abruptly are
// filed when the next filer starts: stored alarms always reach an
// incident, and the incident pages.
func TestUnfiledAlarmsAreFiledAtStart(t *testing.T) {
	eachStore(t, func(t *testing.T, st store.Store) {
		ctx := context.Background()
		crashed := newRig(t, st)
		crashed.inc.StartDeferring() // queues, and is never flushed
		dev, _ := storetest.NewDevice(t, st, "veh-unfiled")
		start := time.Now().UTC().Add(-30 * time.Minute).Truncate(time.Second)
		if err := crashed.alarms.Process(ctx, dev, rising(dev.ID, start)); err != nil {
			t.Fatal(err)
		}
		if list, _ := st.ListIncidents(ctx, store.IncidentFilter{}); len(list) != 0 {
			t.Fatalf("%d incidents before the restart, want none (the events were queued)", len(list))
		}
		restarted := newRig(t, st)
		restarted.inc.FileUnfiled(ctx)
		list, err := st.ListIncidents(ctx, store.IncidentFilter{})
		if err != nil || len(list) != 1 {
			t.Fatalf("%d incidents after the restart, %v; want 1", len(list), err)
		}
		alarms, err := st.ListAlarms(ctx, store.AlarmFilter{DeviceID: dev.ID})
		if err != nil {
			t.Fatal(err)
		}
		if len(list[0].Alarms) != len(alarms) || len(alarms) == 0 {
			t.Fatalf("incident holds %d alarms, the device has %d", len(list[0].Alarms), len(alarms))
		}
		if n := restarted.eventTypes()[incidents.EventRaised]; n != 1 {
			t.Fatalf("%d raised incident events after the restart, want 1", n)
		}
	})
}

// Vehicles of two sub-centres at the same source make one incident per
// sub-centre: an incident is one site's, so neither sub-centre sees the
// other's alarms inside it. Vehicles of one site there make one.
func TestIncidentsStayInTheirSite(t *testing.T) {
	eachStore(t, func(t *testing.T, st store.Store) {
		ctx := context.Background()
		r := newRig(t, st)
		root := store.RootSiteID
		north, err := st.CreateSite(ctx, store.Site{ParentID: &root, Name: "north"})
		if err != nil {
			t.Fatal(err)
		}
		south, err := st.CreateSite(ctx, store.Site{ParentID: &root, Name: "south"})
		if err != nil {
			t.Fatal(err)
		}
		start := time.Now().UTC().Add(-time.Hour).Truncate(time.Second)
		for i, site := range []int64{north.ID, north.ID, south.ID} {
			dev, _ := storetest.NewDevice(t, st, fmt.Sprintf("veh-site-%d", i))
			if err := st.SetDeviceSite(ctx, dev.ID, site); err != nil {
				t.Fatal(err)
			}
			if err := r.alarms.Process(ctx, dev, risingAt(dev.ID, start.Add(time.Duration(i)*time.Minute), 4.40+0.0001*float64(i), 51.2)); err != nil {
				t.Fatal(err)
			}
		}
		list, err := st.ListIncidents(ctx, store.IncidentFilter{})
		if err != nil || len(list) != 2 {
			t.Fatalf("%d incidents, %v; want 2 (north's two vehicles together, south's apart)", len(list), err)
		}
		var sizes []int
		for _, inc := range list {
			devices := map[int64]bool{}
			for _, a := range inc.Alarms {
				devices[a.DeviceID] = true
			}
			sizes = append(sizes, len(devices))
		}
		if slices.Sort(sizes); !slices.Equal(sizes, []int{1, 2}) {
			t.Fatalf("vehicles per incident %v, want one of 2 (north) and one of 1 (south)", sizes)
		}
	})
}
