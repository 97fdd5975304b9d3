package rules

import (
	"errors"
	"fmt"
	"math"
	"strings"
)

// Kind names what a rule watches.
type Kind string

const (
	KindLevel      Kind = "level"      // dose ≥ threshold anywhere
	KindZone       Kind = "zone"       // dose ≥ threshold while inside one fence
	KindFence      Kind = "fence"      // a fence transition (restricted entered, patrol left, …)
	KindBackground Kind = "background" // counts (or dose) improbably high for the local background
	KindSilence    Kind = "silence"    // no report from a watched device for a while
)

// Severity orders how urgently an alarm needs a person.
type Severity string

const (
	SeverityInfo     Severity = "info"
	SeverityNotice   Severity = "notice"
	SeverityWarning  Severity = "warning"
	SeverityAlarm    Severity = "alarm"
	SeverityCritical Severity = "critical"
)

// Fence kinds as the geo package names them.
const (
	FenceRestricted = "restricted"
	FencePatrol     = "patrol"
	FenceMonitoring = "monitoring"
)

// Rule is one configured alarm rule. Exactly the parameter block matching
// Kind is set; the others are nil.
type Rule struct {
	ID       int64    `json:"id"`
	Name     string   `json:"name"`
	Kind     Kind     `json:"kind"`
	Severity Severity `json:"severity"`
	Enabled  bool     `json:"enabled"`

	Level      *LevelParams      `json:"level,omitempty"`
	Zone       *ZoneParams       `json:"zone,omitempty"`
	Fence      *FenceParams      `json:"fence,omitempty"`
	Background *BackgroundParams `json:"background,omitempty"`
	Silence    *SilenceParams    `json:"silence,omitempty"`

	// SiteID is the site whose subtree's vehicles the rule applies to
	// (0 or 1: the root, every vehicle); Input.RuleApplies decides.
	SiteID int64 `json:"site_id,omitempty"`
}

// LevelParams: dose rate at or above ThresholdUSvH anywhere.
type LevelParams struct {
	ThresholdUSvH float64 `json:"threshold_usvh"`
}

// ZoneParams: dose rate at or above ThresholdUSvH while inside FenceID.
type ZoneParams struct {
	FenceID       int64   `json:"fence_id"`
	ThresholdUSvH float64 `json:"threshold_usvh"`
}

// FenceParams: a fence transition of type Event, for one fence (FenceID) or
// every fence of a kind (FenceKind), or both narrowed together. Event
// "dwell" holds once the device has been inside such a fence for DwellS
// seconds without leaving (dwell.go); DwellS is required for it and only
// for it.
type FenceParams struct {
	Event     TransitionType `json:"event"`
	FenceID   int64          `json:"fence_id,omitempty"`
	FenceKind string         `json:"fence_kind,omitempty"`
	DwellS    float64        `json:"dwell_s,omitempty"`
}

// BackgroundParams configures the local-background test (see background.go).
type BackgroundParams struct {
	// PValue: alarm when P(X ≥ k | λ) < PValue for the latest interval.
	PValue float64 `json:"p_value"`
	// ExcludePValue: samples below this (looser) tail probability do not
	// feed the background, so a source does not inflate its own background.
	ExcludePValue float64 `json:"exclude_p_value"`
	// TimeConstantS is the memory of the slow exponentially weighted
	// background; FastTimeConstantS that of the fast one which lets the
	// background follow a rise (see background.go).
	TimeConstantS     float64 `json:"time_constant_s"`
	FastTimeConstantS float64 `json:"fast_time_constant_s"`
	// MarginFraction: λ is taken this fraction above the estimate.
	MarginFraction float64 `json:"margin_fraction"`
	// WarmupS is the counting time needed before the first test.
	WarmupS float64 `json:"warmup_s"`
	// RebaselineS: after this long with every sample excluded the new level
	// is accepted as background (the vehicle has entered a higher area).
	RebaselineS float64 `json:"rebaseline_s"`
	// Dose fallback for devices without counts: alarm when the dose is at
	// least DoseRatio × background and MinDoseDeltaUSvH above it.
	DoseRatio        float64 `json:"dose_ratio"`
	MinDoseDeltaUSvH float64 `json:"min_dose_delta_usvh"`
}

// SilenceParams: no report from a watched device for AfterS seconds.
type SilenceParams struct {
	AfterS float64 `json:"after_s"`
}

// DefaultBackground returns the background parameters used by DefaultRules.
func DefaultBackground() BackgroundParams {
	return BackgroundParams{
		PValue:            1e-5,
		ExcludePValue:     1e-3,
		TimeConstantS:     60,
		FastTimeConstantS: 15,
		MarginFraction:    0.1,
		WarmupS:           60,
		RebaselineS:       120,
		DoseRatio:         3,
		MinDoseDeltaUSvH:  0.1,
	}
}

// DefaultRules returns the rule set of design.md §6: a notice level, the
// IAEA operational intervention levels for ambient dose rate, restricted and
// patrol fences, the local-background test and a silence watch.
func DefaultRules() []Rule {
	level := func(id int64, name string, sev Severity, usvh float64) Rule {
		return Rule{ID: id, Name: name, Kind: KindLevel, Severity: sev, Enabled: true,
			Level: &LevelParams{ThresholdUSvH: usvh}}
	}
	bg := DefaultBackground()
	return []Rule{
		level(1, "Dose rate notice (0.5 µSv/h)", SeverityNotice, 0.5),
		level(2, "IAEA OIL3 (1 µSv/h)", SeverityAlarm, 1),
		level(3, "IAEA OIL2 (100 µSv/h), first-responder safety perimeter", SeverityCritical, 100),
		level(4, "IAEA OIL1 (1000 µSv/h)", SeverityCritical, 1000),
		{ID: 5, Name: "Restricted zone entered", Kind: KindFence, Severity: SeverityAlarm, Enabled: true,
			Fence: &FenceParams{Event: Enter, FenceKind: FenceRestricted}},
		{ID: 6, Name: "Patrol area left", Kind: KindFence, Severity: SeverityWarning, Enabled: true,
			Fence: &FenceParams{Event: Exit, FenceKind: FencePatrol}},
		{ID: 7, Name: "Local background anomaly", Kind: KindBackground, Severity: SeverityAlarm, Enabled: true,
			Background: &bg},
		{ID: 8, Name: "Device silent for 10 minutes", Kind: KindSilence, Severity: SeverityWarning, Enabled: true,
			Silence: &SilenceParams{AfterS: 600}},
	}
}

// FieldError names the rule field that is invalid. Index is the rule's
// position in the list given to ValidateRules, or -1 for a single rule.
type FieldError struct {
	Index  int
	Field  string
	Reason string
}

func (e *FieldError) Error() string {
	if e.Index < 0 {
		return e.Field + ": " + e.Reason
	}
	return fmt.Sprintf("rules[%d].%s: %s", e.Index, e.Field, e.Reason)
}

// Validate checks one rule. It does not require an ID, so a rule can be
// validated before persistence assigns one.
func (r *Rule) Validate() error {
	bad := func(field, reason string) error { return &FieldError{Index: -1, Field: field, Reason: reason} }
	if strings.TrimSpace(r.Name) == "" {
		return bad("name", "must not be empty")
	}
	switch r.Severity {
	case SeverityInfo, SeverityNotice, SeverityWarning, SeverityAlarm, SeverityCritical:
	default:
		return bad("severity", fmt.Sprintf("unknown severity %q", r.Severity))
	}
	blocks := []struct {
		kind Kind
		set  bool
	}{
		{KindLevel, r.Level != nil}, {KindZone, r.Zone != nil}, {KindFence, r.Fence != nil},
		{KindBackground, r.Background != nil}, {KindSilence, r.Silence != nil},
	}
	known := false
	for _, b := range blocks {
		switch {
		case b.kind == r.Kind && !b.set:
			return bad(string(b.kind), "required for kind "+string(r.Kind))
		case b.kind != r.Kind && b.set:
			return bad(string(b.kind), "must be empty for kind "+string(r.Kind))
		}
		known = known || b.kind == r.Kind
	}
	if !known {
		return bad("kind", fmt.Sprintf("unknown kind %q", r.Kind))
	}
	switch r.Kind {
	case KindLevel:
		return positive(bad, "level.threshold_usvh", r.Level.ThresholdUSvH)
	case KindZone:
		if r.Zone.FenceID <= 0 {
			return bad("zone.fence_id", "must be a fence id > 0")
		}
		return positive(bad, "zone.threshold_usvh", r.Zone.ThresholdUSvH)
	case KindFence:
		return r.Fence.validate(bad)
	case KindBackground:
		return r.Background.validate(bad)
	default: // KindSilence
		return positive(bad, "silence.after_s", r.Silence.AfterS)
	}
}

func (f *FenceParams) validate(bad func(string, string) error) error {
	switch f.Event {
	case Enter, Exit, Dwell:
	default:
		return bad("fence.event", fmt.Sprintf("must be enter, exit or dwell, not %q", f.Event))
	}
	switch f.FenceKind {
	case "", FenceRestricted, FencePatrol, FenceMonitoring:
	default:
		return bad("fence.fence_kind", fmt.Sprintf("unknown fence kind %q", f.FenceKind))
	}
	if f.FenceID < 0 {
		return bad("fence.fence_id", "must not be negative")
	}
	if f.FenceID == 0 && f.FenceKind == "" {
		return bad("fence.fence_id", "set fence_id or fence_kind")
	}
	if f.Event == Dwell {
		return positive(bad, "fence.dwell_s", f.DwellS)
	}
	if f.DwellS != 0 {
		return bad("fence.dwell_s", "only for event dwell")
	}
	return nil
}

func (b *BackgroundParams) validate(bad func(string, string) error) error {
	if !(b.PValue > 0 && b.PValue < 0.5) {
		return bad("background.p_value", "must be in (0, 0.5)")
	}
	if !(b.ExcludePValue >= b.PValue && b.ExcludePValue < 0.5) {
		return bad("background.exclude_p_value", "must be in [p_value, 0.5)")
	}
	for _, f := range []struct {
		name string
		v    float64
	}{
		{"background.time_constant_s", b.TimeConstantS},
		{"background.fast_time_constant_s", b.FastTimeConstantS},
		{"background.warmup_s", b.WarmupS},
		{"background.rebaseline_s", b.RebaselineS},
	} {
		if err := positive(bad, f.name, f.v); err != nil {
			return err
		}
	}
	if !(b.FastTimeConstantS <= b.TimeConstantS) {
		return bad("background.fast_time_constant_s", "must not exceed time_constant_s")
	}
	if !(b.MarginFraction >= 0 && b.MarginFraction <= 1) {
		return bad("background.margin_fraction", "must be in [0, 1]")
	}
	if !(b.DoseRatio > 1) || math.IsInf(b.DoseRatio, 0) {
		return bad("background.dose_ratio", "must be a finite number > 1")
	}
	if !(b.MinDoseDeltaUSvH >= 0) || math.IsInf(b.MinDoseDeltaUSvH, 0) {
		return bad("background.min_dose_delta_usvh", "must be a finite number ≥ 0")
	}
	return nil
}

func positive(bad func(string, string) error, field string, v float64) error {
	if !(v > 0) || math.IsInf(v, 0) {
		return bad(field, "must be a finite number > 0")
	}
	return nil
}

// ValidateRules checks a whole rule set: each rule, and ids that are set
// (> 0) and unique, since episodes are keyed by rule id.
func ValidateRules(rules []Rule) error {
	seen := make(map[int64]int, len(rules))
	for i := range rules {
		r := &rules[i]
		if r.ID <= 0 {
			return &FieldError{Index: i, Field: "id", Reason: "must be > 0"}
		}
		if j, dup := seen[r.ID]; dup {
			return &FieldError{Index: i, Field: "id", Reason: fmt.Sprintf("%d already used by rules[%d]", r.ID, j)}
		}
		seen[r.ID] = i
		if err := r.Validate(); err != nil {
			var fe *FieldError
			if errors.As(err, &fe) {
				fe.Index = i
			}
			return err
		}
	}
	return nil
}
