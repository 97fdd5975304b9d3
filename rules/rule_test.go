package rules

import (
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
)

func TestDefaultRulesAreValidAndRoundTripJSON(t *testing.T) {
	rules := DefaultRules()
	if err := ValidateRules(rules); err != nil {
		t.Fatal(err)
	}
	levels := map[float64]Severity{}
	for _, r := range rules {
		if r.Kind == KindLevel {
			levels[r.Level.ThresholdUSvH] = r.Severity
		}
	}
	want := map[float64]Severity{0.5: SeverityNotice, 1: SeverityAlarm, 100: SeverityCritical, 1000: SeverityCritical}
	if !reflect.DeepEqual(levels, want) {
		t.Errorf("default levels %v, want %v (design.md §6)", levels, want)
	}
	data, err := json.Marshal(rules)
	if err != nil {
		t.Fatal(err)
	}
	var back []Rule
	if err := json.Unmarshal(data, &back); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(back, rules) {
		t.Errorf("JSON round trip changed the rules:\n%s", data)
	}
	if !strings.Contains(string(data), `"level":{"threshold_usvh":0.5}`) {
		t.Errorf("unexpected JSON shape: %s", data)
	}
}

func TestRuleValidationNamesTheField(t *testing.T) {
	base := func(k Kind) Rule {
		for _, r := range DefaultRules() {
			if r.Kind == k {
				return r
			}
		}
		return Rule{ID: 9, Name: "zone", Kind: KindZone, Severity: SeverityAlarm, Zone: &ZoneParams{FenceID: 4, ThresholdUSvH: 0.3}}
	}
	cases := []struct {
		field  string
		mutate func(*Rule)
	}{
		{"name", func(r *Rule) { r.Name = " " }},
		{"severity", func(r *Rule) { r.Severity = "loud" }},
		{"kind", func(r *Rule) { r.Kind = "smell"; r.Level = nil }},
		{"level", func(r *Rule) { r.Level = nil }},
		{"zone", func(r *Rule) { r.Zone = &ZoneParams{FenceID: 1, ThresholdUSvH: 1} }},
		{"level.threshold_usvh", func(r *Rule) { r.Level.ThresholdUSvH = 0 }},
		{"level.threshold_usvh", func(r *Rule) { r.Level.ThresholdUSvH = -1 }},
	}
	for _, c := range cases {
		r := base(KindLevel)
		r.Level = &LevelParams{ThresholdUSvH: r.Level.ThresholdUSvH}
		c.mutate(&r)
		assertField(t, r.Validate(), c.field)
	}
	more := []struct {
		kind   Kind
		field  string
		mutate func(*Rule)
	}{
		{KindZone, "zone.fence_id", func(r *Rule) { r.Zone.FenceID = 0 }},
		{KindZone, "zone.threshold_usvh", func(r *Rule) { r.Zone.ThresholdUSvH = 0 }},
		{KindFence, "fence.event", func(r *Rule) { r.Fence.Event = "linger" }},
		{KindFence, "fence.fence_kind", func(r *Rule) { r.Fence.FenceKind = "parking" }},
		{KindFence, "fence.fence_id", func(r *Rule) { r.Fence.FenceKind, r.Fence.FenceID = "", 0 }},
		{KindFence, "fence.dwell_s", func(r *Rule) { r.Fence.Event = Dwell }},
		{KindFence, "fence.dwell_s", func(r *Rule) { r.Fence.Event, r.Fence.DwellS = Dwell, -5 }},
		{KindFence, "fence.dwell_s", func(r *Rule) { r.Fence.DwellS = 60 }}, // only for event dwell
		{KindBackground, "background.p_value", func(r *Rule) { r.Background.PValue = 0 }},
		{KindBackground, "background.exclude_p_value", func(r *Rule) { r.Background.ExcludePValue = 1e-7 }},
		{KindBackground, "background.time_constant_s", func(r *Rule) { r.Background.TimeConstantS = 0 }},
		{KindBackground, "background.fast_time_constant_s", func(r *Rule) { r.Background.FastTimeConstantS = 600 }},
		{KindBackground, "background.margin_fraction", func(r *Rule) { r.Background.MarginFraction = -0.1 }},
		{KindBackground, "background.warmup_s", func(r *Rule) { r.Background.WarmupS = 0 }},
		{KindBackground, "background.rebaseline_s", func(r *Rule) { r.Background.RebaselineS = 0 }},
		{KindBackground, "background.dose_ratio", func(r *Rule) { r.Background.DoseRatio = 1 }},
		{KindBackground, "background.min_dose_delta_usvh", func(r *Rule) { r.Background.MinDoseDeltaUSvH = -1 }},
		{KindSilence, "silence.after_s", func(r *Rule) { r.Silence.AfterS = 0 }},
	}
	for _, c := range more {
		r := base(c.kind)
		r.Zone, r.Fence, r.Background, r.Silence = clonePtr(r.Zone), clonePtr(r.Fence), clonePtr(r.Background), clonePtr(r.Silence)
		if err := r.Validate(); err != nil {
			t.Fatalf("base %s rule invalid: %v", c.kind, err)
		}
		c.mutate(&r)
		assertField(t, r.Validate(), c.field)
	}
}

func TestValidateRulesChecksIDsAndIndexes(t *testing.T) {
	rules := DefaultRules()
	rules[3].ID = rules[1].ID
	err := ValidateRules(rules)
	assertField(t, err, "id")
	var fe *FieldError
	if errors.As(err, &fe); fe.Index != 3 || err.Error() != "rules[3].id: 2 already used by rules[1]" {
		t.Errorf("got %q (index %d)", err, fe.Index)
	}
	rules = DefaultRules()
	rules[0].ID = 0
	assertField(t, ValidateRules(rules), "id")
	rules = DefaultRules()
	rules[6].Background.PValue = 2
	err = ValidateRules(rules)
	assertField(t, err, "background.p_value")
	if errors.As(err, &fe); fe.Index != 6 {
		t.Errorf("index %d, want 6", fe.Index)
	}
}

func assertField(t *testing.T, err error, field string) {
	t.Helper()
	var fe *FieldError
	if !errors.As(err, &fe) {
		t.Errorf("want a FieldError on %s, got %v", field, err)
		return
	}
	if fe.Field != field {
		t.Errorf("error names %q (%v), want %q", fe.Field, err, field)
	}
}
