package live

import (
	"context"
	"encoding/json"
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
