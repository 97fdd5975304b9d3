package app

import (
	"testing"

	"github.com/radtrack/radtrack/notify"
	"github.com/radtrack/radtrack/rules"
)

// An alarm raised during a database outage reaches the dispatcher as an
// update carrying its provisional id when the journal drain stores it; it
// was never notified, so it must page then.
func TestEventTypeOfJournaledRaise(t *testing.T) {
	for _, c := range []struct {
		typ         rules.EventType
		state       rules.State
		provisional int64
		want        notify.EventType
	}{
		{rules.EventRaised, rules.StateRaised, 0, notify.EventRaised},
		{rules.EventUpdated, rules.StateRaised, 0, notify.EventUpdated},
		{rules.EventConditionEnded, rules.StateRaised, 0, notify.EventUpdated},
		{rules.EventUpdated, rules.StateRaised, -3, notify.EventRaised},
		{rules.EventUpdated, rules.StateAcknowledged, -3, notify.EventUpdated},
		{rules.EventAcknowledged, rules.StateAcknowledged, 0, notify.EventAcknowledged},
		{rules.EventResolved, rules.StateResolved, 0, notify.EventResolved},
	} {
		ev := rules.Event{Type: c.typ, Episode: rules.Episode{State: c.state, ProvisionalID: c.provisional}}
		if got := eventType(ev); got != c.want {
			t.Errorf("%s in state %s (provisional %d): %s, want %s", c.typ, c.state, c.provisional, got, c.want)
		}
	}
}
