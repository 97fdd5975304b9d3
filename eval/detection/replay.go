package detection

import (
	"fmt"
	"time"

	"github.com/radtrack/radtrack/rules"
	"github.com/radtrack/radtrack/sample"
)

// Onset is the start of an alarm condition: what pages a person. Counting
// onsets rather than episodes keeps the measure independent of anyone
// resolving alarms (an unresolved episode spans many conditions).
type Onset struct {
	RuleID int64
	Time   time.Time
	// Justified: the condition was true for the data. For a level rule the
	// reference dose (the device's counts over a centred 60-s window, or its
	// own dose) reached the level within ReferenceSlackS of the onset; the
	// other rules have no reference on these logs, so none is justified.
	Justified bool
}

// RuleCount is one rule's onsets on one or more logs.
type RuleCount struct {
	Rule   rules.Rule
	Onsets int
	False  int // onsets not justified
}

// Replay is the result of running the rules over one log.
type Replay struct {
	Track  string
	Hours  float64
	Rules  []RuleCount // in the order of the rule set
	Onsets []Onset
}

// ReferenceSlackS: a level onset is justified when the reference dose is at
// or above the level this close to it in time.
const ReferenceSlackS = 60

// referenceWindowS is the width of the centred counting window of the
// reference dose: the bGeigie's own CPM minute, centred instead of lagging.
const referenceWindowS = 60

// ReplayTrack runs rs over t's samples through a fresh engine, exactly as
// the pipeline evaluates a device (no fences: fence and zone rules cannot
// fire; no ticks: silence rules are not exercised).
func ReplayTrack(t Track, rs []rules.Rule) (Replay, error) {
	onsets, err := runRules(t.Samples, rs)
	if err != nil {
		return Replay{}, err
	}
	ref := referenceDose(t.Samples)
	byID := map[int64]*rules.Rule{}
	for i := range rs {
		byID[rs[i].ID] = &rs[i]
	}
	for i := range onsets {
		o := &onsets[i]
		if r := byID[o.RuleID]; r.Kind == rules.KindLevel {
			o.Justified = referenceReaches(t.Samples, ref, o.Time, r.Level.ThresholdUSvH)
		}
	}
	rep := Replay{Track: t.Name, Hours: t.Hours, Onsets: onsets}
	for _, r := range rs {
		rc := RuleCount{Rule: r}
		for _, o := range onsets {
			if o.RuleID == r.ID {
				rc.Onsets++
				if !o.Justified {
					rc.False++
				}
			}
		}
		rep.Rules = append(rep.Rules, rc)
	}
	return rep, nil
}

// runRules evaluates samples in order and returns the condition onsets.
func runRules(samples []sample.Sample, rs []rules.Rule) ([]Onset, error) {
	e, err := rules.NewEngine(rs)
	if err != nil {
		return nil, fmt.Errorf("eval: rules: %w", err)
	}
	active := map[rules.Key]bool{}
	var out []Onset
	for _, s := range samples {
		for _, ev := range e.Evaluate(rules.Input{Sample: s}) {
			if ev.Episode.ConditionActive && !active[ev.Key] {
				out = append(out, Onset{RuleID: ev.Key.RuleID, Time: ev.Time})
			}
			active[ev.Key] = ev.Episode.ConditionActive
		}
	}
	return out, nil
}

// referenceDose is, per sample, the best after-the-fact estimate of the
// true dose: the counts over a centred referenceWindowS window with the
// sample's calibration, or the device's own dose without counts.
func referenceDose(samples []sample.Sample) []float64 {
	ref := make([]float64, len(samples))
	lo, hi := 0, 0
	var k, tsum float64
	half := time.Duration(referenceWindowS / 2 * float64(time.Second))
	for i, s := range samples {
		if !(s.CPMPerUSvH > 0) {
			ref[i] = s.DoseRate
			continue
		}
		for hi < len(samples) && !samples[hi].Time.After(s.Time.Add(half)) {
			if c := samples[hi]; c.CPMPerUSvH > 0 {
				k += c.Counts
				tsum += c.CountInterval
			}
			hi++
		}
		for lo < hi && samples[lo].Time.Before(s.Time.Add(-half)) {
			if c := samples[lo]; c.CPMPerUSvH > 0 {
				k -= c.Counts
				tsum -= c.CountInterval
			}
			lo++
		}
		ref[i] = k / tsum * 60 / s.CPMPerUSvH
	}
	return ref
}

func referenceReaches(samples []sample.Sample, ref []float64, at time.Time, level float64) bool {
	slack := time.Duration(ReferenceSlackS * float64(time.Second))
	for i, s := range samples {
		if s.Time.Before(at.Add(-slack)) || s.Time.After(at.Add(slack)) {
			continue
		}
		if ref[i] >= level {
			return true
		}
	}
	return false
}

// Totals adds up replays per rule.
func Totals(reps []Replay) (hours float64, perRule []RuleCount) {
	for _, r := range reps {
		hours += r.Hours
		for i, rc := range r.Rules {
			if i >= len(perRule) {
				perRule = append(perRule, RuleCount{Rule: rc.Rule})
			}
			perRule[i].Onsets += rc.Onsets
			perRule[i].False += rc.False
		}
	}
	return hours, perRule
}
