package rules

import (
	"math"
	"time"
)

// Watch marks a device as active for silence rules, with the time it was
// last heard from (e.g. loaded from storage at start-up, so a device that
// fell silent while the server was down is still noticed). Any live sample
// also marks its device as watched.
func (e *Engine) Watch(deviceID int64, lastHeard time.Time) {
	d := e.state(streamKey{device: deviceID})
	d.mu.Lock()
	defer d.mu.Unlock()
	d.watched = true
	if lastHeard.After(d.lastHeard) {
		d.lastHeard = lastHeard
	}
}

// Unwatch stops silence rules for a device taken out of service, until it
// reports again. Its open episodes are kept.
func (e *Engine) Unwatch(deviceID int64) {
	if d := e.existing(streamKey{device: deviceID}); d != nil {
		d.mu.Lock()
		d.watched = false
		d.mu.Unlock()
	}
}

// Tick evaluates the silence rules at server time now: a watched device
// not heard from for a rule's AfterS raises (or continues) that rule's
// episode, once per silence, not once per tick. The episode's time is
// now; its peak position is the device's last known fix. The next report
// from the device ends the condition.
func (e *Engine) Tick(now time.Time) []Event {
	rs := e.rules.Load()
	var silence []*Rule
	for _, r := range rs.enabled {
		if r.Kind == KindSilence {
			silence = append(silence, r)
		}
	}
	if len(silence) == 0 {
		return nil
	}
	var out []Event
	for _, ks := range e.allStates() {
		if ks.key.imported {
			continue
		}
		d := ks.state
		d.mu.Lock()
		if d.watched && !d.lastHeard.IsZero() {
			c := evaluation{d: d, realarmM: e.realarmDistance()}
			for _, r := range silence {
				if now.Sub(d.lastHeard).Seconds() < r.Silence.AfterS {
					continue
				}
				key := Key{DeviceID: ks.key.device, RuleID: r.ID}
				if ep := d.find(key); ep != nil && ep.ConditionActive {
					continue
				}
				c.observe(key, r, true, evidence{time: now, dose: math.NaN(), lon: d.lastLon, lat: d.lastLat}, false)
			}
			out = append(out, c.out...)
		}
		d.mu.Unlock()
	}
	return out
}
