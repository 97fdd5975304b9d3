package rules

import (
	"testing"
	"time"
)

// The scenario of issue 13: OIL3 acknowledged (not resolved), its condition
// ended; an hour later the same vehicle reads 50 µSv/h somewhere else. That
// must page again like a raise, not only update.
func TestRealarmAfterConditionEnded(t *testing.T) {
	e := newEngine(t, levelRule(2, 1.0))
	ev := e.Evaluate(Input{Sample: doseSample(1, at(0), 3, 4.40, 51.20)})
	if len(ev) != 1 || ev[0].Type != EventRaised {
		t.Fatalf("raise: %+v", ev)
	}
	key := ev[0].Key
	if _, err := e.Acknowledge(key, "ana", "on it", at(1)); err != nil {
		t.Fatal(err)
	}
	var ended []Event
	for i := 2; i <= 4; i++ {
		ended = append(ended, e.Evaluate(Input{Sample: doseSample(1, at(i), 0.1, 4.40, 51.20)})...)
	}
	if len(ended) != 1 || ended[0].Type != EventConditionEnded || ended[0].Episode.State != StateAcknowledged {
		t.Fatalf("condition end: %+v", ended)
	}
	later := at(4).Add(time.Hour)
	// 50 µSv/h about 6.9 km east of the first peak.
	ev = e.Evaluate(Input{Sample: doseSample(1, later, 50, 4.50, 51.20)})
	if len(ev) != 1 {
		t.Fatalf("%d events, want 1: %+v", len(ev), ev)
	}
	got := ev[0]
	ep := got.Episode
	if got.Type != EventRealarm || got.Reason != ReasonConditionReturned || !got.NewPeak || got.Key != key ||
		ep.State != StateRaised || ep.AckedBy != "" || !ep.AckedAt.IsZero() || ep.AckComment != "" ||
		!ep.ConditionActive || !ep.ConditionEndedAt.IsZero() || !ep.RealarmedAt.Equal(later) ||
		ep.PeakDose != 50 || ep.PeakLon != 4.50 || ep.Samples != 2 || !ep.FirstSeen.Equal(at(0)) {
		t.Fatalf("realarm event %+v", got)
	}
	// It can be acknowledged again, and the next reading only updates.
	if _, err := e.Acknowledge(key, "bo", "", later.Add(time.Second)); err != nil {
		t.Fatalf("acknowledge after realarm: %v", err)
	}
	ev = e.Evaluate(Input{Sample: doseSample(1, later.Add(5*time.Second), 40, 4.5001, 51.20)})
	if len(ev) != 1 || ev[0].Type != EventUpdated || ev[0].Reason != "" || ev[0].Episode.State != StateAcknowledged {
		t.Fatalf("next reading: %+v", ev)
	}
}

func TestRealarmPeakMoved(t *testing.T) {
	e := newEngine(t, levelRule(2, 1.0))
	ev := e.Evaluate(Input{Sample: doseSample(1, at(0), 3, 4.40, 51.20)})
	key := ev[0].Key
	if _, err := e.Acknowledge(key, "ana", "", at(0)); err != nil {
		t.Fatal(err)
	}
	// A higher peak 0.0040° of longitude (≈ 280 m) away: the same source.
	ev = e.Evaluate(Input{Sample: doseSample(1, at(1), 4, 4.404, 51.20)})
	if len(ev) != 1 || ev[0].Type != EventUpdated || !ev[0].NewPeak || ev[0].Episode.State != StateAcknowledged {
		t.Fatalf("near peak: %+v", ev)
	}
	// Still above the level but no new peak, far away: an update.
	ev = e.Evaluate(Input{Sample: doseSample(1, at(2), 3.5, 4.44, 51.20)})
	if len(ev) != 1 || ev[0].Type != EventUpdated || ev[0].NewPeak {
		t.Fatalf("far, lower: %+v", ev)
	}
	// A peak less than twice as high ≈ 700 m from the last peak: an update.
	ev = e.Evaluate(Input{Sample: doseSample(1, at(3), 7.9, 4.414, 51.20)})
	if len(ev) != 1 || ev[0].Type != EventUpdated || !ev[0].NewPeak {
		t.Fatalf("far, < 2x: %+v", ev)
	}
	// Twice the peak ≈ 700 m from it: pages again.
	ev = e.Evaluate(Input{Sample: doseSample(1, at(4), 15.8, 4.424, 51.20)})
	if len(ev) != 1 || ev[0].Type != EventRealarm || ev[0].Reason != ReasonPeakMoved || ev[0].Episode.State != StateRaised {
		t.Fatalf("far peak: %+v", ev)
	}
	// With the distance raised to 1 km the same move is an update.
	e2 := newEngine(t, levelRule(2, 1.0))
	e2.SetRealarmDistance(1000)
	e2.Evaluate(Input{Sample: doseSample(1, at(0), 3, 4.404, 51.20)})
	ev = e2.Evaluate(Input{Sample: doseSample(1, at(1), 6, 4.414, 51.20)})
	if len(ev) != 1 || ev[0].Type != EventUpdated {
		t.Fatalf("1 km distance: %+v", ev)
	}
}

func TestRealarmSeverityRose(t *testing.T) {
	e := newEngine(t, levelRule(2, 1.0))
	ev := e.Evaluate(Input{Sample: doseSample(1, at(0), 3, 4.40, 51.20)})
	key := ev[0].Key
	if _, err := e.Acknowledge(key, "ana", "", at(0)); err != nil {
		t.Fatal(err)
	}
	r := levelRule(2, 1.0)
	r.Severity = SeverityCritical
	if err := e.SetRules([]Rule{r}); err != nil {
		t.Fatal(err)
	}
	ev = e.Evaluate(Input{Sample: doseSample(1, at(1), 2, 4.40, 51.20)})
	if len(ev) != 1 || ev[0].Type != EventRealarm || ev[0].Reason != ReasonSeverityRose ||
		ev[0].Episode.Severity != SeverityCritical || ev[0].Episode.State != StateRaised {
		t.Fatalf("severity rose: %+v", ev)
	}
}

// A silent vehicle that reports and parks again is device health, not new
// danger: its open silence alarm is only updated.
func TestSilenceDoesNotRealarm(t *testing.T) {
	sil := Rule{ID: 8, Name: "silent", Kind: KindSilence, Severity: SeverityWarning, Enabled: true, Silence: &SilenceParams{AfterS: 60}}
	e := newEngine(t, sil)
	e.Evaluate(Input{Sample: doseSample(1, at(0), 0.1, 4.4, 51.2)})
	ev := e.Tick(at(0).Add(2 * time.Minute))
	if len(ev) != 1 || ev[0].Type != EventRaised {
		t.Fatalf("silence: %+v", ev)
	}
	e.Evaluate(Input{Sample: doseSample(1, at(30), 0.1, 4.4, 51.2)})
	ev = e.Tick(at(30).Add(2 * time.Minute))
	if len(ev) != 1 || ev[0].Type != EventUpdated {
		t.Fatalf("silence again: %+v", ev)
	}
}

// A condition that ends and returns within RealarmMinGap is the same
// occurrence: an update, no new page; after the gap it pages again.
func TestRealarmNeedsTheGap(t *testing.T) {
	e := newEngine(t, levelRule(2, 1.0))
	e.Evaluate(Input{Sample: doseSample(1, at(0), 3, 4.40, 51.20)})
	for i := 1; i <= 3; i++ {
		e.Evaluate(Input{Sample: doseSample(1, at(i), 0.1, 4.40, 51.20)}) // ends at at(3)
	}
	// at(14) is 55 s after the end.
	ev := e.Evaluate(Input{Sample: doseSample(1, at(14), 3, 4.40, 51.20)})
	if len(ev) != 1 || ev[0].Type != EventUpdated {
		t.Fatalf("back after 55 s: %+v", ev)
	}
	for i := 15; i <= 17; i++ {
		e.Evaluate(Input{Sample: doseSample(1, at(i), 0.1, 4.40, 51.20)}) // ends at at(17)
	}
	// at(29) is 60 s after the end.
	ev = e.Evaluate(Input{Sample: doseSample(1, at(29), 3, 4.40, 51.20)})
	if len(ev) != 1 || ev[0].Type != EventRealarm || ev[0].Reason != ReasonConditionReturned {
		t.Fatalf("back after 60 s: %+v", ev)
	}
}
