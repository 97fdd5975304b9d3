package rules

import (
	"encoding/json"
	"errors"
	"math"
	"strings"
	"testing"
	"time"
)

// raiseOne returns an engine with one open OIL3 episode on device 1 (one
// dose-only reading at 3× the level raises at once: detect.go).
func raiseOne(t *testing.T) (*Engine, Key) {
	t.Helper()
	e := newEngine(t, levelRule(2, 1.0))
	ev := e.Evaluate(Input{Sample: doseSample(1, at(0), 3, 4.4, 51.2)})
	if len(ev) != 1 || ev[0].Type != EventRaised {
		t.Fatalf("setup: %+v", ev)
	}
	return e, ev[0].Key
}

func TestAcknowledgeThenResolve(t *testing.T) {
	e, key := raiseOne(t)
	if _, err := e.Resolve(key, Resolution{User: "ana", Time: at(1), Code: CodeFalseAlarm}); !errors.Is(err, ErrNotAcknowledged) {
		t.Fatalf("resolve before ack without permission: %v", err)
	}
	if _, err := e.Acknowledge(key, " ", "", at(1)); !errors.Is(err, ErrNoUser) {
		t.Fatalf("ack without user: %v", err)
	}
	if _, err := e.Acknowledge(key, "ana", "", time.Time{}); !errors.Is(err, ErrNoTime) {
		t.Fatalf("ack without time: %v", err)
	}
	ack, err := e.Acknowledge(key, "ana", "on my way", at(2))
	if err != nil {
		t.Fatal(err)
	}
	if ack.Type != EventAcknowledged || ack.User != "ana" || ack.Comment != "on my way" || !ack.Time.Equal(at(2)) ||
		ack.Episode.State != StateAcknowledged || ack.Episode.AckedBy != "ana" || ack.Episode.ImplicitAck {
		t.Errorf("ack event %+v", ack)
	}
	if _, err := e.Acknowledge(key, "bo", "", at(3)); !errors.Is(err, ErrAlreadyAcknowledged) {
		t.Errorf("second ack: %v", err)
	}
	if _, err := e.Resolve(key, Resolution{User: "ana", Time: at(4), Code: "probably_fine"}); !errors.Is(err, ErrUnknownCode) ||
		!strings.Contains(err.Error(), "probably_fine") {
		t.Errorf("unknown code: %v", err)
	}
	if _, err := e.Resolve(key, Resolution{User: "ana", Code: CodeReal}); !errors.Is(err, ErrNoTime) {
		t.Errorf("resolve without time: %v", err)
	}
	events, err := e.Resolve(key, Resolution{User: "ana", Time: at(5), Code: CodeInnocentMedical, Comment: "patient after PET scan"})
	if err != nil {
		t.Fatal(err)
	}
	if len(events) != 1 {
		t.Fatalf("%d events, want 1", len(events))
	}
	res := events[0]
	if res.Type != EventResolved || res.Code != CodeInnocentMedical || res.Comment != "patient after PET scan" ||
		res.Episode.State != StateResolved || res.Episode.ResolvedBy != "ana" || !res.Episode.ResolvedAt.Equal(at(5)) {
		t.Errorf("resolve event %+v", res)
	}
	// Resolved episodes leave the engine: no second resolve, no ack.
	if _, err := e.Resolve(key, Resolution{User: "ana", Time: at(6), Code: CodeReal}); !errors.Is(err, ErrNoOpenAlarm) {
		t.Errorf("resolve twice via engine: %v", err)
	}
	if _, err := e.Acknowledge(key, "ana", "", at(6)); !errors.Is(err, ErrNoOpenAlarm) {
		t.Errorf("ack after resolve via engine: %v", err)
	}
	// The same rules hold on a stored episode handled outside the engine.
	ep := res.Episode
	if _, err := ep.Resolve(Resolution{User: "ana", Time: at(6), Code: CodeReal}); !errors.Is(err, ErrAlreadyResolved) {
		t.Errorf("resolve twice: %v", err)
	}
	if _, err := ep.Acknowledge("ana", "", at(6)); !errors.Is(err, ErrAlreadyResolved) {
		t.Errorf("ack a resolved alarm: %v", err)
	}
}

func TestResolveWithoutAckNeedsPermissionAndIsRecorded(t *testing.T) {
	e, key := raiseOne(t)
	events, err := e.Resolve(key, Resolution{User: "chief", Time: at(3), Code: CodeTest, Comment: "drill", MaySkipAck: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(events) != 2 || events[0].Type != EventAcknowledged || events[1].Type != EventResolved {
		t.Fatalf("events %+v, want acknowledged then resolved", events)
	}
	ep := events[1].Episode
	if !ep.ImplicitAck || ep.AckedBy != "chief" || !ep.AckedAt.Equal(at(3)) || ep.Code != CodeTest || !events[0].Episode.ImplicitAck {
		t.Errorf("episode %+v", ep)
	}
}

func TestAfterResolveANewConditionRaisesANewEpisode(t *testing.T) {
	e, key := raiseOne(t)
	for i := 1; i <= 3; i++ { // three readings below end the condition (detect.go)
		e.Evaluate(Input{Sample: doseSample(1, at(i), 0.1, 4.4, 51.2)})
	}
	if _, err := e.Resolve(key, Resolution{User: "chief", Time: at(4), Code: CodeReal, MaySkipAck: true}); err != nil {
		t.Fatal(err)
	}
	ev := e.Evaluate(Input{Sample: doseSample(1, at(5), 3, 4.4, 51.2)})
	if len(ev) != 1 || ev[0].Type != EventRaised || ev[0].Episode.Samples != 1 {
		t.Fatalf("got %+v", ev)
	}
}

// Resolving beside a source that is still there must not re-raise on the
// next sample (an alarm storm); the key re-arms once the condition ends.
func TestResolveWhileConditionHoldsLatchesUntilItEnds(t *testing.T) {
	e, key := raiseOne(t)
	if _, err := e.Resolve(key, Resolution{User: "chief", Time: at(1), Code: CodeDeclaredShipment, MaySkipAck: true}); err != nil {
		t.Fatal(err)
	}
	for i := 2; i < 10; i++ {
		if ev := e.Evaluate(Input{Sample: doseSample(1, at(i), 2, 4.4, 51.2)}); ev != nil {
			t.Fatalf("sample %d re-raised: %+v", i, ev)
		}
	}
	for i := 10; i <= 12; i++ { // three readings below end the condition (detect.go)
		if ev := e.Evaluate(Input{Sample: doseSample(1, at(i), 0.1, 4.4, 51.2)}); ev != nil {
			t.Fatalf("no open episode, yet %+v", ev)
		}
	}
	if ev := e.Evaluate(Input{Sample: doseSample(1, at(13), 3, 4.4, 51.2)}); len(ev) != 1 || ev[0].Type != EventRaised {
		t.Fatalf("after the condition ended a new alarm is due: %+v", ev)
	}
}

func TestEpisodeJSONWritesAbsentDoseAsNull(t *testing.T) {
	ep := Episode{Key: Key{DeviceID: 1, RuleID: 8}, Kind: KindSilence, State: StateRaised, PeakDose: math.NaN()}
	data, err := json.Marshal(Event{Type: EventRaised, Key: ep.Key, Episode: ep})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(data), `"peak_dose_usvh":null`) || !strings.Contains(string(data), `"device_id":1`) {
		t.Fatalf("JSON %s", data)
	}
	var back Event
	if err := json.Unmarshal(data, &back); err != nil {
		t.Fatal(err)
	}
	if !math.IsNaN(back.Episode.PeakDose) || back.Episode.Key != ep.Key || back.Episode.Kind != KindSilence {
		t.Errorf("round trip: %+v", back.Episode)
	}
	ep.PeakDose = 1.25
	data, _ = json.Marshal(ep)
	var again Episode
	if err := json.Unmarshal(data, &again); err != nil || again.PeakDose != 1.25 {
		t.Errorf("round trip with dose: %v %+v (%s)", err, again, data)
	}
}
