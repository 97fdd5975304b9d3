package rules

import (
	"math/rand/v2"
	"reflect"
	"testing"
)

// EvaluateInto with its previous result passed back gives the events
// Evaluate gives, sample after sample, through a raise, the updates while
// the condition holds and its end.
func TestEvaluateIntoMatchesEvaluate(t *testing.T) {
	fresh, reuse := newEngine(t, DefaultRules()...), newEngine(t, DefaultRules()...)
	rng := rand.New(rand.NewPCG(3, 3))
	var buf []Event
	raised, updated := 0, 0
	for i := range 2000 {
		mean := bgMean
		if i >= 600 && i < 1400 {
			mean = 50 * bgMean // a source: raise, updates, then the end
		}
		s := countSample(1, at(i), poisson(rng, mean))
		s.ReceivedAt = s.Time
		want := fresh.Evaluate(Input{Sample: s})
		buf = reuse.EvaluateInto(Input{Sample: s}, buf)
		if len(want) != len(buf) || (len(want) > 0 && !reflect.DeepEqual(want, buf)) {
			t.Fatalf("sample %d:\nEvaluate     %+v\nEvaluateInto %+v", i, want, buf)
		}
		for _, ev := range buf {
			switch ev.Type {
			case EventRaised:
				raised++
			case EventUpdated:
				updated++
			}
		}
	}
	if raised == 0 || updated < 100 {
		t.Fatalf("%d raises, %d updates: the test did not exercise an episode", raised, updated)
	}
}
