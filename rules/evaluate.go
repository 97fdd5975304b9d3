package rules

import (
	"math"
	"slices"
	"time"

	"github.com/radtrack/radtrack/sample"
)

// Evaluate runs the enabled rules against one sample and returns the
// events it caused (nil when nothing changed, the usual case).
//
// Decisions:
//   - Late samples (time not after the newest already seen for the device)
//     still run level and zone checks: they can raise an episode or add to
//     one (count, peak). They never end a condition, never restart one that
//     ended, and neither feed nor face the background test, whose
//     background describes "now", not then.
//   - Samples without a GPS fix run level and background rules; zone and
//     fence rules are skipped entirely (their conditions neither start nor
//     end), since the position is unknown (design.md §4). Episode peaks
//     then take the last known fix, flagged PeakGPSValid=false.
//   - Imported samples run every rule in their own stream (Key.Imported),
//     with their own clock and background; their events carry Imported so
//     nobody is paged. They do not count as the device being alive.
//   - A level (or a zone's level) is exceeded only with the confidence
//     detect.go states, never on one noisy reading; between "confidently
//     above" and "confidently below" the condition keeps its state.
//   - A missing dose (NaN) is no evidence either way: the condition keeps
//     its state. The detector's RadValid flag is not consulted, because
//     decoders differ in setting it and a missed alarm is the worse error.
func (e *Engine) Evaluate(in Input) []Event { return e.EvaluateInto(in, nil) }

// EvaluateInto is Evaluate appending the events to buf[:0]: a caller that
// evaluates sample after sample passes the previous result back, so that
// a device inside alarm conditions (an event per open episode for every
// sample) allocates nothing per sample. The result is only read until
// the next call with the same buffer.
func (e *Engine) EvaluateInto(in Input, buf []Event) []Event {
	rs := e.rules.Load()
	s := &in.Sample
	d := e.state(streamKey{s.DeviceID, s.Imported})
	d.mu.Lock()
	defer d.mu.Unlock()

	if s.Imported && d.importedSeen(s.Time) {
		return buf[:0] // evaluated when this log was imported before
	}
	late := !s.Time.After(d.latest)
	if !late {
		d.latest = s.Time
	}
	ev := evidence{time: s.Time, dose: s.DoseRate, lon: s.Lon, lat: s.Lat, gpsValid: s.GPSValid}
	switch {
	case !s.GPSValid:
		ev.lon, ev.lat = d.lastLon, d.lastLat
	case !late: // a late fix is not where the vehicle is now
		d.lastLon, d.lastLat = s.Lon, s.Lat
	}

	c := evaluation{d: d, out: buf[:0], realarmM: e.realarmDistance()}
	if !s.Imported {
		c.heard(rs, s)
	}
	lv := d.levels().observe(s, late) // level and zone decisions: detect.go
	if s.GPSValid && !late {
		d.updateStays(&in) // dwell rules: dwell.go
	}
	for _, r := range rs.enabled {
		if r.SiteID > 1 && in.RuleApplies != nil && !in.RuleApplies(r.SiteID) {
			continue // a rule of a site this vehicle is not below
		}
		key := Key{DeviceID: s.DeviceID, RuleID: r.ID, Imported: s.Imported}
		switch r.Kind {
		case KindLevel:
			if lv.usable {
				ep := d.find(key)
				c.level(ep, key, r, lv.decide(r.Level.ThresholdUSvH, d.held(ep, key)), ev, late)
			}
		case KindZone:
			if s.GPSValid && lv.usable {
				key.FenceID = r.Zone.FenceID
				ep := d.find(key)
				v := below
				if slices.Contains(in.Inside, r.Zone.FenceID) {
					v = lv.decide(r.Zone.ThresholdUSvH, d.held(ep, key))
				}
				c.level(ep, key, r, v, ev, late)
			}
		case KindBackground:
			if late {
				continue
			}
			if v := d.background(r.ID).observe(s, r.Background); v.tested {
				bgEv := ev
				if v.anomalous {
					bgEv.significance = v.significance
				}
				c.observe(key, r, v.anomalous, bgEv, false)
			}
		case KindFence:
			switch {
			case !s.GPSValid:
			case r.Fence.Event == Dwell:
				if !late {
					c.dwell(r, key, ev)
				}
			default:
				c.fence(r, key, &in, ev, late)
			}
		}
	}
	return c.out
}

// evaluation collects the events of one call while the device is locked.
type evaluation struct {
	d        *deviceState
	out      []Event
	realarmM float64 // re-alarm distance in metres
}

// emitEvent adds ep's event of type t and returns it for the caller to
// complete. While conditions hold, every open episode yields one per
// sample (its update): the first event makes room for them all, one
// allocation instead of the append's growth steps (issue #19's emergency
// case); a sample that changes nothing allocates nothing. The event is
// built where it is kept: it is ~600 bytes, and building it aside then
// appending it copied the episode twice more, per episode per sample.
func (c *evaluation) emitEvent(ep *Episode, t EventType, at time.Time) *Event {
	if cap(c.out) == 0 {
		c.out = make([]Event, 0, max(len(c.d.open), 1))
	}
	n := len(c.out)
	if n < cap(c.out) {
		c.out = c.out[:n+1]
	} else {
		c.out = append(c.out, Event{})
	}
	// Every field is set, not the slot zeroed first: a slot of the
	// caller's buffer holds an earlier event, and zeroing it would cost a
	// second pass of write barriers while the GC marks.
	// TestEmitEventSetsEveryField fails if a field of Event is left out.
	out := &c.out[n]
	out.Type, out.Key, out.AlarmID, out.Time = t, ep.Key, ep.ID, at
	out.User, out.Comment, out.Code = "", "", ""
	out.Imported, out.NewPeak, out.Reason = ep.Imported, false, ""
	out.Episode = *ep
	return out
}

// heard records that a live device reported, which ends any silence.
// Liveness follows the server's receive time: a device uploading an old
// backlog is alive now.
func (c *evaluation) heard(rs *ruleSet, s *sample.Sample) {
	at := s.ReceivedAt
	if at.IsZero() {
		at = s.Time
	}
	if at.After(c.d.lastHeard) {
		c.d.lastHeard = at
	}
	c.d.watched = true
	for _, r := range rs.enabled {
		if r.Kind == KindSilence {
			c.observe(Key{DeviceID: s.DeviceID, RuleID: r.ID}, r, false, evidence{time: at, dose: math.NaN()}, false)
		}
	}
}

// fence runs one fence rule. A transition matching the rule starts (or
// restarts) its condition; the debounced fence state then keeps it going
// (still inside after "enter"/"dwell", still outside after "exit") or ends it.
func (c *evaluation) fence(r *Rule, key Key, in *Input, ev evidence, late bool) {
	wantInside := r.Fence.Event != Exit
	for _, ep := range c.d.open {
		if ep.RuleID == r.ID && ep.Imported == key.Imported && ep.ConditionActive {
			c.observeOpen(ep, ep.Key, r, slices.Contains(in.Inside, ep.FenceID) == wantInside, ev, late)
		}
	}
	for _, t := range in.Transitions {
		if !r.Fence.matches(t) {
			continue
		}
		key.FenceID = t.FenceID
		if ep := c.d.find(key); ep != nil && ep.ConditionActive {
			continue // already continued by the fence state above
		}
		c.d.unlatch(key) // a transition is a fresh occurrence by itself
		tev := ev
		tev.lon, tev.lat = t.Lon, t.Lat
		if !t.Time.IsZero() {
			tev.time = t.Time
		}
		c.observe(key, r, true, tev, false)
	}
}

func (f *FenceParams) matches(t Transition) bool {
	return t.Type == f.Event &&
		(f.FenceID == 0 || f.FenceID == t.FenceID) &&
		(f.FenceKind == "" || f.FenceKind == t.FenceKind)
}

// observe applies one observation of a rule's condition for key: raise a
// new episode, continue the open one, or record that its condition ended.
func (c *evaluation) observe(key Key, r *Rule, holds bool, ev evidence, late bool) {
	c.observeOpen(c.d.find(key), key, r, holds, ev, late)
}

// observeOpen is observe for a caller that has looked up key's open
// episode already (ep, nil if none).
func (c *evaluation) observeOpen(ep *Episode, key Key, r *Rule, holds bool, ev evidence, late bool) {
	d := c.d
	if !holds {
		if late {
			return
		}
		d.unlatch(key)
		if ep != nil && ep.ConditionActive {
			ep.ConditionActive, ep.ConditionEndedAt = false, ev.time
			c.emitEvent(ep, EventConditionEnded, ev.time)
		}
		return
	}
	if ep == nil {
		if d.isLatched(key) {
			return
		}
		ep = newEpisode(key, r, ev)
		d.open = append(d.open, ep)
		c.emitEvent(ep, EventRaised, ev.time).NewPeak = sample.Has(ev.dose)
		return
	}
	var endedAt time.Time // when the condition that now returns had ended
	if !late && !ep.ConditionActive {
		endedAt = ep.ConditionEndedAt
	}
	if !late {
		ep.ConditionActive, ep.ConditionEndedAt = true, time.Time{}
	}
	oldPeak := peakOf(ep)
	newPeak := ep.absorb(ev)
	reason := c.realarmReason(ep, r, endedAt, newPeak, oldPeak)
	typ := EventUpdated
	if reason != "" {
		ep.realarm(ev.time, r)
		typ = EventRealarm
	}
	out := c.emitEvent(ep, typ, ev.time)
	out.NewPeak, out.Reason = newPeak, reason
}
