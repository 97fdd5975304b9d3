package app

import (
	"testing"
	"time"

	"github.com/radtrack/radtrack/incidents"
	"github.com/radtrack/radtrack/store"
)

func incidentEvent(id int64, typ incidents.EventType, peak float64) incidents.Event {
	return incidents.Event{Type: typ, Incident: store.Incident{ID: id, PeakDose: peak}}
}

// At most one update per incident per period reaches the dispatcher; the
// newest held one goes when the period ends; a raise, re-alarm,
// acknowledgement or resolution goes at once and supersedes a held update.
func TestUpdateGate(t *testing.T) {
	g := newUpdateGate(time.Second)
	t0 := time.Unix(1_700_000_000, 0)
	if !g.admit(incidentEvent(1, incidents.EventRaised, 1), t0) {
		t.Fatal("a raise was held")
	}
	if !g.admit(incidentEvent(1, incidents.EventUpdated, 2), t0) {
		t.Fatal("the first update was held")
	}
	for i, peak := range []float64{3, 4, 5} {
		if g.admit(incidentEvent(1, incidents.EventUpdated, peak), t0.Add(time.Duration(i+1)*100*time.Millisecond)) {
			t.Fatalf("update %d within the second went through", i)
		}
	}
	if !g.admit(incidentEvent(2, incidents.EventUpdated, 7), t0.Add(300*time.Millisecond)) {
		t.Fatal("another incident's update was held")
	}
	if due := g.due(t0.Add(900 * time.Millisecond)); len(due) != 0 {
		t.Fatalf("due before the period ended: %+v", due)
	}
	due := g.due(t0.Add(time.Second))
	if len(due) != 1 || due[0].Incident.ID != 1 || due[0].Incident.PeakDose != 5 {
		t.Fatalf("due %+v, want incident 1's newest update (peak 5)", due)
	}
	if due := g.due(t0.Add(2 * time.Second)); len(due) != 0 {
		t.Fatalf("due again: %+v", due)
	}
	// A held update is dropped when a newer event of its incident goes.
	if g.admit(incidentEvent(1, incidents.EventUpdated, 6), t0.Add(1500*time.Millisecond)) {
		t.Fatal("update within the period went through")
	}
	if !g.admit(incidentEvent(1, incidents.EventAcknowledged, 6), t0.Add(1600*time.Millisecond)) {
		t.Fatal("an acknowledgement was held")
	}
	if due := g.due(t0.Add(5 * time.Second)); len(due) != 0 {
		t.Fatalf("a superseded update went: %+v", due)
	}
}
