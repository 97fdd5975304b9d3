package rules

import (
	"slices"
	"time"
)

// Dwell rules (fence event "dwell"): the condition holds once the device
// has been inside a matching fence for DwellS seconds without leaving, and
// ends when it leaves. The stay is measured here from the debounced fence
// state the engine is given (Input.Inside and the enter transitions), so
// no dwell timing is needed in geo; geo's own "dwell" transitions are not
// used by these rules.

// fenceStay is one fence the device is inside, since when.
type fenceStay struct {
	fenceID int64
	kind    string // from the enter transition; "" if the stay began without one
	since   time.Time
}

// updateStays follows the device's stays from one current sample with a
// fix: an enter transition starts a stay at its time, a fence no longer in
// Inside ends its stay, and a fence in Inside without a stay (the device
// was inside before the engine knew it) starts one now.
func (d *deviceState) updateStays(in *Input) {
	for _, t := range in.Transitions {
		if t.Type != Enter || !slices.Contains(in.Inside, t.FenceID) {
			continue
		}
		at := t.Time
		if at.IsZero() {
			at = in.Sample.Time
		}
		d.stays = slices.DeleteFunc(d.stays, func(s fenceStay) bool { return s.fenceID == t.FenceID })
		d.stays = append(d.stays, fenceStay{fenceID: t.FenceID, kind: t.FenceKind, since: at})
	}
	d.stays = slices.DeleteFunc(d.stays, func(s fenceStay) bool { return !slices.Contains(in.Inside, s.fenceID) })
	for _, id := range in.Inside {
		if !slices.ContainsFunc(d.stays, func(s fenceStay) bool { return s.fenceID == id }) {
			d.stays = append(d.stays, fenceStay{fenceID: id, since: in.Sample.Time})
		}
	}
}

// dwell runs one dwell rule for a current sample with a fix.
func (c *evaluation) dwell(r *Rule, key Key, ev evidence) {
	f := r.Fence
	// Stays that ended end their conditions.
	for _, ep := range c.d.open {
		if ep.RuleID == r.ID && ep.Imported == key.Imported && ep.ConditionActive &&
			!slices.ContainsFunc(c.d.stays, func(s fenceStay) bool { return s.fenceID == ep.FenceID }) {
			c.observe(ep.Key, r, false, ev, false)
		}
	}
	for _, s := range c.d.stays {
		if (f.FenceID != 0 && f.FenceID != s.fenceID) || (f.FenceKind != "" && f.FenceKind != s.kind) {
			continue
		}
		key.FenceID = s.fenceID
		if ev.time.Sub(s.since).Seconds() >= f.DwellS {
			c.observe(key, r, true, ev, false)
		}
	}
}
