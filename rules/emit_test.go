package rules

import (
	"reflect"
	"testing"
	"time"
)

// fillEvery sets every field of v (a struct) to a value that is not its
// zero, recursively.
func fillEvery(v reflect.Value) {
	switch v.Kind() {
	case reflect.Struct:
		if v.Type() == reflect.TypeFor[time.Time]() {
			v.Set(reflect.ValueOf(time.Date(2001, 2, 3, 4, 5, 6, 7, time.FixedZone("x", 3600))))
			return
		}
		for i := range v.NumField() {
			fillEvery(v.Field(i))
		}
	case reflect.String:
		v.SetString("stale")
	case reflect.Bool:
		v.SetBool(true)
	case reflect.Int, reflect.Int64:
		v.SetInt(-99)
	case reflect.Float64:
		v.SetFloat(99.5)
	default:
		panic("fillEvery: add kind " + v.Kind().String())
	}
}

// TestEmitEventSetsEveryField: emitEvent fills a slot of the caller's
// buffer field by field over an earlier event. With every field of that
// earlier event set, the result must still be exactly Episode.event's: a
// field added to Event and not to emitEvent fails here.
func TestEmitEventSetsEveryField(t *testing.T) {
	ep := &Episode{Key: Key{DeviceID: 1, RuleID: 2}, ID: 3, RuleName: "r", Kind: KindLevel, Severity: SeverityAlarm,
		State: StateRaised, Samples: 4, ConditionActive: true, PeakDose: 1.5, FirstSeen: at(0), LastSeen: at(3)}
	var stale Event
	fillEvery(reflect.ValueOf(&stale).Elem())
	for _, typ := range []EventType{EventUpdated, EventRaised, EventConditionEnded} {
		buf := make([]Event, 1, 2)
		buf[0] = stale
		c := evaluation{d: &deviceState{}, out: buf[:0]}
		got := *c.emitEvent(ep, typ, at(5))
		if want := ep.event(typ, at(5)); !reflect.DeepEqual(got, want) {
			t.Errorf("%s over a stale slot:\n got %+v\nwant %+v", typ, got, want)
		}
		// Growing the buffer gives the same.
		if got := *c.emitEvent(ep, typ, at(5)); !reflect.DeepEqual(got, ep.event(typ, at(5))) {
			t.Errorf("%s in a new slot: %+v", typ, got)
		}
	}
}
