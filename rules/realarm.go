package rules

import (
	"math"
	"time"

	"github.com/radtrack/radtrack/geo"
	"github.com/radtrack/radtrack/sample"
)

// Re-alarm: new danger must never hide in an old alarm. While an episode is
// open (raised or acknowledged), any of these pages people again exactly
// like a first raise — an EventRealarm that puts the episode back to raised
// (unacknowledged) — instead of an "updated":
//
//   - ReasonConditionReturned: the condition had ended at least
//     RealarmMinGap before and holds again (same device and rule) — e.g.
//     OIL3 acknowledged, the vehicle left the source, an hour later it
//     reads 50 µSv/h elsewhere. A condition that flickers off and on within
//     the gap is the same occurrence (in the demo the background test of a
//     vehicle passing a source ended and returned within 6 s, and a patrol
//     looping through a restricted zone re-entered after 51 s). Not for
//     silence rules: a vehicle parking again is device health.
//   - ReasonSeverityRose: the rule's severity was raised above the
//     episode's (the rule was edited while the episode was open).
//   - ReasonPeakMoved: a new peak dose at least RealarmPeakFactor × the
//     previous peak, farther than the re-alarm distance (default 500 m,
//     Engine.SetRealarmDistance, RADTRACK_REALARM_DISTANCE_M) from it: a
//     second, stronger source, not the same one measured better. Both
//     peaks need a GPS fix. The factor keeps a vehicle driving along a
//     gradient from paging at every small new maximum: on the real
//     Fukushima drive the notice level's peak moved 1.17 km from 1.72 to
//     1.80 µSv/h inside one hot stretch, which is no new danger.
//
// Late samples never re-alarm (they never restart a condition either).
// The acknowledgement is kept in the audit trail; the episode's own ack
// fields are cleared so it can be acknowledged again.

// RealarmReason says why an open episode pages again.
type RealarmReason string

const (
	ReasonConditionReturned RealarmReason = "condition_returned"
	ReasonSeverityRose      RealarmReason = "severity_rose"
	ReasonPeakMoved         RealarmReason = "peak_moved"
)

// DefaultRealarmDistanceM is how far a new peak must be from the episode's
// peak to page again: beyond what GPS error and a vehicle's few seconds of
// integration (≈ 100 m at 50 km/h) smear one source over.
const DefaultRealarmDistanceM = 500

// RealarmMinGap is how long a condition must have been ended for its
// return to page again.
const RealarmMinGap = time.Minute

// RealarmPeakFactor is how much higher a distant new peak must be to page
// again (twice: far beyond the counting noise of a 5-s reading).
const RealarmPeakFactor = 2

// SetRealarmDistance sets the distance for ReasonPeakMoved in metres; 0 or
// less switches that reason off.
func (e *Engine) SetRealarmDistance(m float64) {
	if math.IsNaN(m) || m <= 0 {
		m = math.Inf(1)
	}
	e.realarmM.Store(math.Float64bits(m))
}

func (e *Engine) realarmDistance() float64 {
	v := e.realarmM.Load()
	if v == 0 {
		return DefaultRealarmDistanceM
	}
	return math.Float64frombits(v)
}

// SeverityRank orders severities (info 1 … critical 5; unknown 0).
func SeverityRank(s Severity) int {
	switch s {
	case SeverityInfo:
		return 1
	case SeverityNotice:
		return 2
	case SeverityWarning:
		return 3
	case SeverityAlarm:
		return 4
	case SeverityCritical:
		return 5
	}
	return 0
}

type peak struct {
	dose     float64
	lon, lat float64
	gpsValid bool
}

func peakOf(ep *Episode) peak {
	return peak{ep.PeakDose, ep.PeakLon, ep.PeakLat, ep.PeakGPSValid}
}

// realarmReason decides whether an observation that continued ep pages
// again (see above); "" means a plain update.
func (c *evaluation) realarmReason(ep *Episode, r *Rule, endedAt time.Time, newPeak bool, old peak) RealarmReason {
	switch {
	case !endedAt.IsZero() && r.Kind != KindSilence && ep.LastSeen.Sub(endedAt) >= RealarmMinGap:
		return ReasonConditionReturned
	case SeverityRank(r.Severity) > SeverityRank(ep.Severity):
		return ReasonSeverityRose
	case newPeak && sample.Has(old.dose) && old.gpsValid && ep.PeakGPSValid && ep.PeakDose >= RealarmPeakFactor*old.dose &&
		geo.DistanceM(old.lon, old.lat, ep.PeakLon, ep.PeakLat) > c.realarmM:
		return ReasonPeakMoved
	}
	return ""
}

// realarm puts the episode back to raised, at the rule's severity if that
// rose.
func (e *Episode) realarm(at time.Time, r *Rule) {
	if SeverityRank(r.Severity) > SeverityRank(e.Severity) {
		e.Severity = r.Severity
	}
	e.State, e.AckedBy, e.AckedAt, e.AckComment, e.ImplicitAck = StateRaised, "", time.Time{}, "", false
	e.RealarmedAt = at
}
