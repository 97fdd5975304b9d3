package rules

import (
	"testing"
	"time"
)

func silenceRule(id int64, after time.Duration) Rule {
	return Rule{ID: id, Name: "silent", Kind: KindSilence, Severity: SeverityWarning, Enabled: true,
		Silence: &SilenceParams{AfterS: after.Seconds()}}
}

func TestSilenceRaisedOnceByTickAndEndedByAReport(t *testing.T) {
	e := newEngine(t, silenceRule(8, 10*time.Minute))
	s := doseSample(1, t0, 0.1, 4.4, 51.2)
	s.ReceivedAt = t0.Add(2 * time.Second) // liveness follows the server clock
	if ev := e.Evaluate(Input{Sample: s}); ev != nil {
		t.Fatal(ev)
	}
	if ev := e.Tick(t0.Add(10 * time.Minute)); ev != nil {
		t.Fatalf("raised before the full 10 min since receipt: %+v", ev)
	}
	now := t0.Add(10*time.Minute + 2*time.Second)
	ev := e.Tick(now)
	if len(ev) != 1 || ev[0].Type != EventRaised || ev[0].Key != (Key{DeviceID: 1, RuleID: 8}) || !ev[0].Time.Equal(now) {
		t.Fatalf("tick: %+v", ev)
	}
	if ep := ev[0].Episode; ep.PeakLon != 4.4 || ep.PeakLat != 51.2 || ep.PeakGPSValid {
		t.Errorf("silence episode should point at the last known fix: %+v", ep)
	}
	for i := 1; i <= 5; i++ {
		if ev := e.Tick(now.Add(time.Duration(i) * time.Minute)); ev != nil {
			t.Fatalf("tick %d repeated the alarm: %+v", i, ev)
		}
	}
	back := doseSample(1, t0.Add(20*time.Minute), 0.1, 4.4, 51.2)
	ev = e.Evaluate(Input{Sample: back})
	if len(ev) != 1 || ev[0].Type != EventConditionEnded || !ev[0].Episode.ConditionEndedAt.Equal(back.ReceivedAt) {
		t.Fatalf("report after silence: %+v", ev)
	}
	// Silent again before anyone resolved it: the same episode continues.
	ev = e.Tick(t0.Add(31 * time.Minute))
	if len(ev) != 1 || ev[0].Type != EventUpdated || ev[0].Episode.Samples != 2 || !ev[0].Episode.ConditionActive {
		t.Fatalf("second silence: %+v", ev)
	}
}

func TestSilenceWatchUnwatchAndImports(t *testing.T) {
	e := newEngine(t, silenceRule(8, 10*time.Minute))
	imp := doseSample(2, t0, 0.1, 4.4, 51.2)
	imp.Imported = true
	e.Evaluate(Input{Sample: imp})
	if ev := e.Tick(t0.Add(time.Hour)); ev != nil {
		t.Fatalf("an imported log does not make a device active: %+v", ev)
	}
	// Seeded at start-up from storage: a device that went quiet while the
	// server was down is noticed on the first tick.
	e.Watch(3, t0)
	ev := e.Tick(t0.Add(time.Hour))
	if len(ev) != 1 || ev[0].Key.DeviceID != 3 || ev[0].Type != EventRaised {
		t.Fatalf("watched device: %+v", ev)
	}
	e.Watch(4, t0.Add(time.Hour))
	e.Unwatch(4)
	if ev := e.Tick(t0.Add(3 * time.Hour)); ev != nil {
		t.Fatalf("unwatched device alarmed: %+v", ev)
	}
}

func TestSilenceResolvedWhileStillSilentDoesNotReRaise(t *testing.T) {
	e := newEngine(t, silenceRule(8, time.Minute))
	e.Watch(1, t0)
	ev := e.Tick(t0.Add(2 * time.Minute))
	if len(ev) != 1 {
		t.Fatalf("%+v", ev)
	}
	if _, err := e.Resolve(ev[0].Key, Resolution{User: "ops", Time: t0.Add(3 * time.Minute), Code: CodeFalseAlarm, MaySkipAck: true}); err != nil {
		t.Fatal(err)
	}
	if ev := e.Tick(t0.Add(4 * time.Minute)); ev != nil {
		t.Fatalf("re-raised on the next tick: %+v", ev)
	}
	e.Evaluate(Input{Sample: doseSample(1, t0.Add(5*time.Minute), 0.1, 4.4, 51.2)})
	if ev := e.Tick(t0.Add(7 * time.Minute)); len(ev) != 1 || ev[0].Type != EventRaised {
		t.Fatalf("a new silence after a report is a new alarm: %+v", ev)
	}
}
