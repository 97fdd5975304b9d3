package rules

import (
	"encoding/json"
	"reflect"
	"testing"
	"time"
)

const depot = 300

func dwellRule(id int64, f FenceParams) Rule {
	return Rule{ID: id, Name: "dwell", Kind: KindFence, Severity: SeverityWarning, Enabled: true, Fence: &f}
}

// A vehicle enters the depot fence at step 2 (the debounced enter
// transition carries the crossing time, 3 s before the sample), stays, and
// leaves at step 40; samples every 5 s. With dwell_s 120 the condition
// holds from the first sample at least 120 s after the crossing — the
// crossing is at at(2) − 3 s = t0 + 7 s, so at(25) (118 s) is short and
// at(26) (123 s) raises — continues while inside, and ends on leaving.
func TestDwellRuleFiresAfterDwellTime(t *testing.T) {
	e := newEngine(t, dwellRule(9, FenceParams{Event: Dwell, FenceKind: FenceMonitoring, DwellS: 120}))
	crossing := at(2).Add(-3 * time.Second)
	var events []Event
	var raisedAt, endedAt int
	for i := range 50 {
		in := Input{Sample: doseSample(1, at(i), 0.1, 4.5, 51.3)}
		if i >= 2 && i < 40 {
			in.Inside = []int64{depot}
		}
		if i == 2 {
			in.Transitions = []Transition{{Type: Enter, FenceID: depot, FenceKind: FenceMonitoring, Time: crossing, Lon: 4.5, Lat: 51.3}}
		}
		for _, ev := range e.Evaluate(in) {
			events = append(events, ev)
			switch ev.Type {
			case EventRaised:
				raisedAt = i
			case EventConditionEnded:
				endedAt = i
			}
		}
	}
	n := countTypes(events)
	if n[EventRaised] != 1 || n[EventUpdated] != 13 || n[EventConditionEnded] != 1 || raisedAt != 26 || endedAt != 40 {
		t.Fatalf("events %v raised at %d ended at %d; want 1 raised at 26, 13 updated (27..39), 1 condition_ended at 40", n, raisedAt, endedAt)
	}
	ep := e.OpenEpisodes()[0]
	if ep.Key != (Key{DeviceID: 1, RuleID: 9, FenceID: depot}) || !ep.FirstSeen.Equal(at(26)) || ep.Samples != 14 || ep.ConditionActive {
		t.Errorf("episode %+v", ep)
	}
}

// Leaving before dwell_s resets the stay; a fence of another kind or id
// never matches; a stay that began before the engine knew the device (no
// enter transition: kind unknown) counts for a rule naming the fence id.
func TestDwellRuleStaysAndMatching(t *testing.T) {
	byKind := dwellRule(9, FenceParams{Event: Dwell, FenceKind: FenceRestricted, DwellS: 30})
	byID := dwellRule(10, FenceParams{Event: Dwell, FenceID: depot, DwellS: 30})
	e := newEngine(t, byKind, byID)
	feed := func(i int, inside []int64, tr ...Transition) []int64 {
		var raised []int64
		for _, ev := range e.Evaluate(Input{Sample: doseSample(1, at(i), 0.1, 4.5, 51.3), Inside: inside, Transitions: tr}) {
			if ev.Type == EventRaised {
				raised = append(raised, ev.Key.RuleID)
			}
		}
		return raised
	}
	enter := Transition{Type: Enter, FenceID: 7, FenceKind: FenceRestricted, Time: at(0)}
	// In restricted fence 7 for 25 s, out, back in: the stay starts again.
	feed(0, []int64{7}, enter)
	for i := 1; i <= 5; i++ {
		if got := feed(i, []int64{7}); got != nil {
			t.Fatalf("step %d: raised %v before 30 s", i, got)
		}
	}
	feed(6, nil)
	enter.Time = at(7)
	feed(7, []int64{7}, enter)
	for i := 8; i <= 12; i++ {
		if got := feed(i, []int64{7}); got != nil {
			t.Fatalf("step %d: raised %v, the stay restarted at step 7", i, got)
		}
	}
	if got := feed(13, []int64{7}); !reflect.DeepEqual(got, []int64{9}) {
		t.Fatalf("step 13 (30 s after re-entry): raised %v, want [9]", got)
	}
	// The depot (id rule) was already "inside" when first seen, without a
	// transition: its stay starts at that sample.
	for i := 14; i <= 19; i++ {
		if got := feed(i, []int64{7, depot}); got != nil {
			t.Fatalf("step %d: raised %v", i, got)
		}
	}
	if got := feed(20, []int64{7, depot}); !reflect.DeepEqual(got, []int64{10}) {
		t.Fatalf("step 20: raised %v, want [10]", got)
	}
}

func TestDwellParamsJSON(t *testing.T) {
	var r Rule
	if err := json.Unmarshal([]byte(`{"name":"parked at the gate","kind":"fence","severity":"warning","enabled":true,
		"fence":{"event":"dwell","fence_id":4,"dwell_s":300}}`), &r); err != nil {
		t.Fatal(err)
	}
	if err := r.Validate(); err != nil || r.Fence.DwellS != 300 {
		t.Fatalf("%v %+v", err, r.Fence)
	}
}
