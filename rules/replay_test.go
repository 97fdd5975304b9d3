package rules

import (
	"testing"
	"time"
)

func importedSample(i int, dose float64) Input {
	s := doseSample(1, at(i), dose, 4.4, 51.2)
	s.Imported = true
	return Input{Sample: s}
}

// Importing the same log twice changes nothing the second time; an older
// log imported afterwards is still evaluated; after a restart the restored
// episodes' spans are not counted again.
func TestReimportIsSkipped(t *testing.T) {
	e := newEngine(t, levelRule(2, 1.0))
	dose := []float64{0.1, 3, 3, 3, 0.1, 0.1, 0.1, 0.1}
	run := func(e *Engine, offset int) []Event {
		var out []Event
		for i, d := range dose {
			out = append(out, e.Evaluate(importedSample(offset+i, d))...)
		}
		return out
	}
	first := run(e, 100)
	if n := countTypes(first); n[EventRaised] != 1 || n[EventUpdated] != 2 || n[EventConditionEnded] != 1 {
		t.Fatalf("first import: %v", n)
	}
	if again := run(e, 100); len(again) != 0 {
		t.Fatalf("re-import: %d events %v, want none", len(again), countTypes(again))
	}
	ep := e.OpenEpisodes()[0]
	if ep.Samples != 3 {
		t.Fatalf("samples %d after re-import, want 3", ep.Samples)
	}
	// An older log of the same device: its own span, evaluated. Its
	// samples are late for the stream: they add to the open episode
	// (3 updates) but neither restart nor end its condition.
	older := run(e, 0)
	if n := countTypes(older); len(older) != 3 || n[EventUpdated] != 3 {
		t.Fatalf("older log: %v", n)
	}

	// A restarted engine given the open episode skips its span.
	e2 := newEngine(t, levelRule(2, 1.0))
	if err := e2.Restore([]Episode{ep}); err != nil {
		t.Fatal(err)
	}
	if again := run(e2, 100); countTypes(again)[EventUpdated] != 0 || countTypes(again)[EventRealarm] != 0 {
		t.Fatalf("re-import after restart: %v", countTypes(again))
	}
}

func TestImportedSpans(t *testing.T) {
	d := &deviceState{curSpan: -1}
	ts := func(s int) time.Time { return t0.Add(time.Duration(s) * time.Second) }
	for _, s := range []int{10, 11, 12} {
		if d.importedSeen(ts(s)) {
			t.Fatalf("%d seen", s)
		}
	}
	for _, s := range []int{0, 1, 2} { // an older file
		if d.importedSeen(ts(s)) {
			t.Fatalf("%d seen", s)
		}
	}
	if len(d.spans) != 2 || !d.spans[0].to.Equal(ts(2)) || !d.spans[1].from.Equal(ts(10)) || !d.spans[1].to.Equal(ts(12)) {
		t.Fatalf("spans %+v", d.spans)
	}
	for _, s := range []int{0, 2, 10, 11, 12} {
		if !d.importedSeen(ts(s)) {
			t.Fatalf("%d not seen", s)
		}
	}
	if d.importedSeen(ts(5)) { // a gap between the files
		t.Fatal("5 seen")
	}
}
