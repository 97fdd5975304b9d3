package incidents

import (
	"testing"
	"time"

	"github.com/radtrack/radtrack/rules"
	"github.com/radtrack/radtrack/store"
)

var t0 = time.Date(2026, 3, 1, 8, 0, 0, 0, time.UTC)

func alarm(id, device int64, sev rules.Severity, state rules.State, lon float64, at time.Time) rules.Episode {
	return rules.Episode{ID: id, Key: rules.Key{DeviceID: device, RuleID: id}, Kind: rules.KindLevel, Severity: sev, State: state,
		FirstSeen: at, LastSeen: at, PeakDose: 1, PeakTime: at, PeakLon: lon, PeakLat: 51.2, PeakGPSValid: true}
}

func incidentOf(alarms ...rules.Episode) store.Incident {
	inc := store.Incident{ID: 1, Alarms: alarms}
	Summarize(&inc)
	return inc
}

func TestJoins(t *testing.T) {
	c := DefaultConfig()
	inc := incidentOf(alarm(1, 1, rules.SeverityAlarm, rules.StateRaised, 4.40, t0))
	for _, tc := range []struct {
		name string
		ep   rules.Episode
		want bool
	}{
		{"same vehicle, 5 km away, 9 min later", alarm(2, 1, rules.SeverityNotice, rules.StateRaised, 4.47, t0.Add(9*time.Minute)), true},
		{"same vehicle, 11 min later", alarm(2, 1, rules.SeverityNotice, rules.StateRaised, 4.40, t0.Add(11*time.Minute)), false},
		{"other vehicle, 700 m away", alarm(2, 2, rules.SeverityNotice, rules.StateRaised, 4.41, t0.Add(time.Minute)), true},
		{"other vehicle, 1.4 km away", alarm(2, 2, rules.SeverityNotice, rules.StateRaised, 4.42, t0.Add(time.Minute)), false},
	} {
		if got := c.Joins(inc, tc.ep); got != tc.want {
			t.Errorf("%s: joins %v, want %v", tc.name, got, tc.want)
		}
	}
	imported := alarm(2, 1, rules.SeverityNotice, rules.StateRaised, 4.40, t0)
	imported.Imported = true
	if c.Joins(inc, imported) {
		t.Error("an imported alarm joined a live incident")
	}
	resolved := incidentOf(alarm(1, 1, rules.SeverityAlarm, rules.StateResolved, 4.40, t0))
	if c.Joins(resolved, alarm(2, 1, rules.SeverityAlarm, rules.StateRaised, 4.40, t0)) {
		t.Error("an alarm joined a resolved incident")
	}
}

func TestTransition(t *testing.T) {
	notice := alarm(1, 1, rules.SeverityNotice, rules.StateAcknowledged, 4.40, t0)
	acked := incidentOf(notice)
	join := func(ep rules.Episode) (store.Incident, rules.Event) {
		after := incidentOf(notice, ep)
		return after, rules.Event{Type: rules.EventRaised, Key: ep.Key, AlarmID: ep.ID, Episode: ep}
	}
	// A more severe alarm of the same pass: pages again.
	after, ev := join(alarm(2, 1, rules.SeverityAlarm, rules.StateRaised, 4.40, t0))
	if got := transition(acked, after, false, ev); got != EventRealarm || after.State != rules.StateRaised || after.Severity != rules.SeverityAlarm {
		t.Errorf("more severe: %s, %s %s", got, after.State, after.Severity)
	}
	// Another rule of the same severity and vehicle: unacknowledged, no page.
	after, ev = join(alarm(2, 1, rules.SeverityNotice, rules.StateRaised, 4.40, t0))
	if got := transition(acked, after, false, ev); got != EventUpdated || after.State != rules.StateRaised {
		t.Errorf("same severity: %s, %s", got, after.State)
	}
	// Another vehicle: pages again.
	after, ev = join(alarm(2, 2, rules.SeverityNotice, rules.StateRaised, 4.40, t0))
	if got := transition(acked, after, false, ev); got != EventRealarm {
		t.Errorf("other vehicle: %s", got)
	}
	// A realarm of an alarm inside: pages again.
	re := notice
	re.State = rules.StateRaised
	after = incidentOf(re)
	if got := transition(acked, after, false, rules.Event{Type: rules.EventRealarm, Key: re.Key, Episode: re}); got != EventRealarm {
		t.Errorf("realarm: %s", got)
	}
	// A second rule re-alarmed by the same sample: no second page.
	again := incidentOf(re)
	again.RealarmedAt = t0
	if got := transition(again, again, false, rules.Event{Type: rules.EventRealarm, Time: t0, Key: re.Key, Episode: re}); got != EventUpdated {
		t.Errorf("second realarm of one sample: %s", got)
	}
	// The last open alarm acknowledged / resolved.
	raised := incidentOf(alarm(1, 1, rules.SeverityNotice, rules.StateRaised, 4.40, t0))
	if got := transition(raised, acked, false, rules.Event{Type: rules.EventAcknowledged}); got != EventAcknowledged {
		t.Errorf("acknowledged: %s", got)
	}
	done := incidentOf(alarm(1, 1, rules.SeverityNotice, rules.StateResolved, 4.40, t0))
	if got := transition(acked, done, false, rules.Event{Type: rules.EventResolved}); got != EventResolved || done.State != rules.StateResolved {
		t.Errorf("resolved: %s %s", got, done.State)
	}
	if got := transition(store.Incident{}, raised, true, rules.Event{Type: rules.EventRaised}); got != EventRaised {
		t.Errorf("new: %s", got)
	}
}
