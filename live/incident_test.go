package live

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/radtrack/radtrack/incidents"
	"github.com/radtrack/radtrack/rules"
	"github.com/radtrack/radtrack/store"
)

// Incidents reach viewers in the snapshot and as "incident" frames through
// the alarm log (offsets after the snapshot's, on both brokers); a client
// resuming across an incident event gets it again as an incident frame;
// alarm frames stay as they were.
func TestIncidentFrames(t *testing.T) {
	brokerKinds(t, func(t *testing.T, newBroker func(*testing.T) Broker) {
		th := startHub(t, newBroker(t), func(c *Config) {
			c.OpenIncidents = func(context.Context, Viewer) ([]json.RawMessage, error) {
				return []json.RawMessage{json.RawMessage(`{"id":7,"state":"raised"}`)}, nil
			}
		})
		c := th.dial(t, "")
		snap := c.nextOf("snapshot", 5*time.Second)
		if len(snap.Incidents) != 1 || string(snap.Incidents[0]) != `{"id":7,"state":"raised"}` {
			t.Fatalf("snapshot incidents %s", snap.Incidents)
		}
		snapOff := snap.offset(t)

		th.publishAlarm(t, 101, 2, EventRaised)
		a := c.nextOf("alarm", 5*time.Second)
		if a.AlarmID != 101 || a.Event != EventRaised {
			t.Fatalf("alarm frame %+v", a)
		}
		inc := store.Incident{ID: 8, State: rules.StateRaised, Severity: rules.SeverityAlarm, PeakDose: math.NaN(),
			PeakDeviceID: 2, Alarms: []rules.Episode{}}
		if err := (IncidentPublisher{Hub: th.Hub}).PublishIncident(context.Background(),
			incidents.Event{Type: incidents.EventRealarm, Incident: inc, Time: time.Now()}); err != nil {
			t.Fatal(err)
		}
		f := c.nextOf("incident", 5*time.Second)
		if f.IncidentID != 8 || f.Event != "realarm" || f.DeviceID != 2 || f.AlarmID != 0 || f.Alarm != nil ||
			f.offset(t) <= a.offset(t) || !strings.Contains(string(f.Incident), `"peak_dose_usvh":null`) {
			t.Fatalf("incident frame %+v (%s)", f, f.Incident)
		}

		// Resume from the snapshot: both events again, each as its kind.
		c2 := th.dial(t, "offset="+snap.Offset)
		if s := c2.nextOf("snapshot", 5*time.Second); s.Recovered == nil || !*s.Recovered || s.offset(t) != snapOff {
			t.Fatalf("resume snapshot %+v", s)
		}
		if a2 := c2.nextOf("alarm", 5*time.Second); a2.AlarmID != 101 {
			t.Fatalf("replayed alarm %+v", a2)
		}
		if f2 := c2.nextOf("incident", 5*time.Second); f2.IncidentID != 8 || f2.Event != "realarm" {
			t.Fatalf("replayed incident %+v", f2)
		}
	})
}

// A resolved incident event in the log is not an alarm's resolution.
func TestResolvedEpisodesSkipsIncidents(t *testing.T) {
	var got []int64
	ResolvedEpisodes([]AlarmEvent{
		{Kind: KindIncident, Type: EventResolved, AlarmID: 8, Payload: json.RawMessage(`{"id":8}`)},
		{Type: EventResolved, AlarmID: 9, Payload: json.RawMessage(`{"id":9,"peak_dose_usvh":null}`)},
	}, func(ep rules.Episode) { got = append(got, ep.ID) }, func(ev AlarmEvent, err error) { t.Errorf("%+v: %v", ev, err) })
	if len(got) != 1 || got[0] != 9 {
		t.Fatalf("resolved episodes %v, want [9]", got)
	}
}

// An event that changed some alarms of a larger incident goes out with only
// those (changed_alarms, no alarms) and the incident's alarm count, its
// summary whole;
// two such updates in a row both arrive (neither holds the other's alarms,
// so they are not coalesced). An event without Changed carries every alarm.
func TestPartialIncidentFrames(t *testing.T) {
	th := startHub(t, NewMemoryBroker(1000), nil)
	c := th.dial(t, "")
	c.nextOf("snapshot", 5*time.Second)
	alarm := func(id int64) rules.Episode {
		return rules.Episode{ID: id, Key: rules.Key{DeviceID: id}, State: rules.StateRaised, PeakDose: float64(id)}
	}
	inc := store.Incident{ID: 9, State: rules.StateRaised, Severity: rules.SeverityAlarm, PeakDose: 3, PeakDeviceID: 2,
		Alarms: []rules.Episode{alarm(3), alarm(2), alarm(1)}}
	pub := IncidentPublisher{Hub: th.Hub}
	type frameIncident struct {
		PeakDose float64         `json:"peak_dose_usvh"`
		Alarms   []rules.Episode `json:"alarms"`
		Changed  []rules.Episode `json:"changed_alarms"`
		Count    *int            `json:"alarm_count"`
	}
	for _, tc := range []struct{ changed, want []int64 }{{[]int64{2}, []int64{2}}, {[]int64{1, 3}, []int64{3, 1}}, {nil, []int64{3, 2, 1}}} {
		changed := tc.changed
		if err := pub.PublishIncident(context.Background(), incidents.Event{Type: incidents.EventUpdated, Incident: inc,
			Time: time.Now(), Changed: changed}); err != nil {
			t.Fatal(err)
		}
		f := c.nextOf("incident", 5*time.Second)
		var got frameIncident
		if err := json.Unmarshal(f.Incident, &got); err != nil {
			t.Fatal(err)
		}
		list := got.Alarms
		if partial := changed != nil; partial {
			if got.Alarms != nil || got.Count == nil || *got.Count != 3 {
				t.Errorf("changed %v: frame %s, want no alarms and a count of 3", changed, f.Incident)
			}
			list = got.Changed
		}
		var ids []int64
		for _, a := range list {
			ids = append(ids, a.ID)
		}
		if got.PeakDose != 3 || fmt.Sprint(ids) != fmt.Sprint(tc.want) { // in the incident's order
			t.Errorf("changed %v: frame %s, want alarms %v", changed, f.Incident, tc.want)
		}
	}
}
