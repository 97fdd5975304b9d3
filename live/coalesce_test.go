package live

import (
	"encoding/json"
	"fmt"
	"testing"
	"time"
)

// "updated" events coalesce per alarm until the next tick; a raise, an
// end or any other event goes out at once, after its alarm's pending
// update, so each alarm's events keep their order. The tick is an hour
// here: whatever arrives before the explicit flush was not held for one.
func TestUpdatesCoalescePerTick(t *testing.T) {
	th := startHub(t, NewMemoryBroker(1000), func(c *Config) { c.Tick = time.Hour })
	v := th.dial(t, "")
	v.nextOf("snapshot", 5*time.Second)
	publish := func(id int64, typ string, peak int) {
		th.PublishAlarm(AlarmEvent{Type: typ, AlarmID: id, DeviceID: id, Time: time.Now(),
			Payload: json.RawMessage(fmt.Sprintf(`{"id":%d,"peak_dose":%d}`, id, peak))})
	}
	publish(1, EventRaised, 1)
	if f := v.nextOf("alarm", 5*time.Second); f.AlarmID != 1 || f.Event != EventRaised {
		t.Fatalf("first frame %+v, want alarm 1 raised at once", f)
	}
	for i := 2; i <= 50; i++ {
		publish(1, EventUpdated, i)
		publish(2, EventUpdated, 100+i)
	}
	v.expectNone("alarm", 300*time.Millisecond) // held until the tick
	publish(1, EventConditionEnded, 50)
	type got struct {
		id    int64
		event string
		peak  int
	}
	read := func() got {
		f := v.nextOf("alarm", 5*time.Second)
		var ep struct {
			Peak int `json:"peak_dose"`
		}
		if err := json.Unmarshal(f.Alarm, &ep); err != nil {
			t.Fatalf("alarm payload %s: %v", f.Alarm, err)
		}
		return got{f.AlarmID, f.Event, ep.Peak}
	}
	for _, want := range []got{{1, EventUpdated, 50}, {1, EventConditionEnded, 50}} {
		if g := read(); g != want {
			t.Fatalf("got %+v, want %+v (the pending update first, then the end at once)", g, want)
		}
	}
	v.expectNone("alarm", 200*time.Millisecond) // alarm 2 waits for the tick
	th.flushCoalesced(true)
	if g := read(); g != (got{2, EventUpdated, 150}) {
		t.Fatalf("at the tick got %+v, want alarm 2's latest update (peak 150) only", g)
	}
	v.expectNone("alarm", 200*time.Millisecond)

	// An update that carries more than progress (a provisional id's stored
	// one) goes out at once, after the alarm's pending update.
	publish(3, EventUpdated, 7)
	th.PublishAlarm(AlarmEvent{Type: EventUpdated, AlarmID: 3, DeviceID: 3, Time: time.Now(), Now: true,
		Payload: json.RawMessage(`{"id":3,"peak_dose":8}`)})
	for _, want := range []got{{3, EventUpdated, 7}, {3, EventUpdated, 8}} {
		if g := read(); g != want {
			t.Fatalf("got %+v, want %+v (an urgent update does not wait for the tick)", g, want)
		}
	}

	// Progress alone (last seen, samples) waits for ProgressEvery; an
	// update whose peak rose goes at the next tick, even if progress-only
	// updates of the same alarm follow it.
	progress := func(id int64, peak int, only bool) {
		th.PublishAlarm(AlarmEvent{Type: EventUpdated, AlarmID: id, DeviceID: id, Time: time.Now(), Progress: only,
			Payload: json.RawMessage(fmt.Sprintf(`{"id":%d,"peak_dose":%d}`, id, peak))})
	}
	progress(4, 1, true)
	progress(5, 9, false)
	progress(5, 9, true)
	th.flushCoalesced(false) // a tick
	if g := read(); g != (got{5, EventUpdated, 9}) {
		t.Fatalf("at a tick got %+v, want alarm 5's update with its new peak", g)
	}
	v.expectNone("alarm", 200*time.Millisecond)
	th.flushCoalesced(true) // ProgressEvery
	if g := read(); g != (got{4, EventUpdated, 1}) {
		t.Fatalf("after ProgressEvery got %+v, want alarm 4's progress", g)
	}
}

// An incident and an alarm with the same id coalesce apart: neither's
// pending update replaces the other's.
func TestIncidentAndAlarmUpdatesCoalesceApart(t *testing.T) {
	th := startHub(t, NewMemoryBroker(1000), func(c *Config) { c.Tick = time.Hour })
	v := th.dial(t, "")
	v.nextOf("snapshot", 5*time.Second)
	th.PublishAlarm(AlarmEvent{Type: EventUpdated, AlarmID: 7, DeviceID: 1, Time: time.Now(),
		Payload: json.RawMessage(`{"id":7,"peak_dose":3}`)})
	th.PublishAlarm(AlarmEvent{Kind: KindIncident, Type: EventUpdated, AlarmID: 7, DeviceID: 1, Time: time.Now(),
		Payload: json.RawMessage(`{"id":7,"peak_dose_usvh":3}`)})
	th.flushCoalesced(true)
	alarm, incident := false, false
	for range 2 {
		f := v.next(5 * time.Second)
		switch {
		case f.Type == "alarm" && f.AlarmID == 7:
			alarm = true
		case f.Type == "incident" && f.IncidentID == 7:
			incident = true
		default:
			t.Fatalf("unexpected frame %+v", f)
		}
	}
	if !alarm || !incident {
		t.Fatalf("alarm update sent %v, incident update sent %v: want both", alarm, incident)
	}
}
