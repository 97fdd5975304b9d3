package rules

import (
	"math"
	"time"

	"github.com/radtrack/radtrack/sample"
)

// Level detection: when is a dose level (level and zone rules) exceeded?
// Never on one noisy reading (README "Detection statistics"):
//
//   - Counts path, for samples whose dose RadTrack derived from the
//     detector's counts (sample.CPMPerUSvH set): the level is a count rate,
//     rate = level × CPMPerUSvH / 60. Over each window W of the latest
//     readings (LevelWindowsS) with K counts in T counting seconds, the
//     condition holds when P(X ≥ K | rate·T) < LevelAlpha/len(windows) —
//     the dose is above the level with confidence 1 − LevelAlpha — and ends
//     when P(X ≤ K | rate·T) < LevelAlpha/len(windows) in one of the short
//     windows (LevelEndWindows, the latest 5 or 15 s) — it is confidently
//     below now. The long windows never end a condition: they still hold
//     the quieter readings from before, so a dose rising towards a source
//     would end its own alarm. In between the condition keeps its state,
//     so a dose hovering at the level neither raises nor ends (no
//     flapping). A
//     reading far above the level is certain on its own: 100 µSv/h is
//     ~4 600 counts in 5 s on a bGeigie, where OIL2's 100 µSv/h allows
//     2 783 ± 53.
//   - Dose path, for samples with a dose but no usable counts: k-of-n. The
//     condition holds when the latest reading is at or above the level and
//     so are DoseKOfN.K of the latest DoseKOfN.N readings, or when the
//     latest reading alone is DoseSingleFactor × the level; once it holds,
//     every reading at or above the level continues it; it ends when all N
//     latest readings are below the level.
//
// Readings further apart than LevelMaxGapS from the previous one start the
// history afresh: the vehicle may be anywhere by then.

// LevelAlpha is the false-alarm probability of one level decision (one
// sample, one level) when the true dose is exactly at the level, shared
// equally by the windows (Bonferroni, conservative as the windows overlap).
// Natural background (≤ 0.2 µSv/h) against the lowest default level
// (0.5 µSv/h) gives tail probabilities below 1e-9 in every window, so the
// false alarms that α buys are those of a dose truly near the level; see
// `radtrack eval detection` for the measured rates.
const LevelAlpha = 1e-3

// LevelWindowsS are the sliding counting windows, seconds: the shortest is
// one bGeigie interval (a source passed at speed is in one or two 5-s
// readings), the longest catches a level exceeded by a little while the
// vehicle is slow or parked.
var LevelWindowsS = [...]float64{5, 15, 30, 60}

// LevelEndWindows is how many of the shortest LevelWindowsS may end a
// condition.
const LevelEndWindows = 2

// DoseKOfN is the k-of-n rule of the dose path: with single-reading
// exceedances at rate q, two of three raise at rate ≈ 3q².
var DoseKOfN = struct{ K, N int }{2, 3}

// DoseSingleFactor: one reading this many times the level raises at once on
// the dose path, where a missed pass would be worse than one noisy reading:
// a detector that reports its dose with a relative error σ at the level
// reads 3× the level from a dose at the level with probability of a 2/σ
// standard deviation excess.
const DoseSingleFactor = 3

// LevelMaxGapS: a reading more than this after the previous one starts
// the reading history afresh.
const LevelMaxGapS = 60

// levelHistoryLen bounds the readings kept: 60 s of 1-s readings.
const levelHistoryLen = 64

// windowSlackS tolerates jitter in reading times when deciding whether a
// reading's counting interval lies inside a window.
const windowSlackS = 1.5

// verdict is the outcome of one level decision.
type verdict int8

const (
	undecided verdict = iota // keep the condition's state
	above                    // the condition holds
	below                    // the condition has ended
)

// countReading is one counting interval. Times are Unix seconds: the
// ring then holds no pointers (no write barriers on the hot path).
type countReading struct {
	end      float64 // Unix seconds
	counts   float64
	interval float64 // seconds
}

// levelHistory is one device stream's recent readings, shared by its level
// and zone rules. It lives in deviceState and is allocated on first use.
type levelHistory struct {
	counts [levelHistoryLen]countReading // ring, newest at head-1
	nc     int
	head   int

	doses [3]float64 // ring of the latest dose-path readings (DoseKOfN.N)
	nd    int
	dhead int
	dLast float64 // Unix seconds
}

// levelReading is what one sample offers the level decisions, computed once
// per sample: the window sums of the counts path, or the dose history.
type levelReading struct {
	usable bool
	counts bool    // counts path; otherwise dose path
	cal    float64 // CPM per µSv/h
	// counts path: counts and counting seconds per window
	k, t [len(LevelWindowsS)]float64
	nw   int
	// dose path: the latest nd readings, newest first
	dose [3]float64
	nd   int
}

// observe adds s to the history (unless late) and returns its reading.
// Late samples are judged on their own counting interval or dose alone.
func (h *levelHistory) observe(s *sample.Sample, late bool) levelReading {
	var r levelReading
	if s.CPMPerUSvH > 0 && sample.Has(s.Counts) && s.Counts >= 0 && sample.Has(s.CountInterval) && s.CountInterval > 0 {
		r.usable, r.counts, r.cal = true, true, s.CPMPerUSvH
		cur := countReading{end: unixSeconds(s.Time), counts: s.Counts, interval: s.CountInterval}
		if late {
			r.k[0], r.t[0], r.nw = cur.counts, cur.interval, 1
			return r
		}
		h.addCounts(cur)
		h.windows(&r)
		return r
	}
	if !sample.Has(s.DoseRate) {
		return r
	}
	r.usable = true
	if late {
		r.dose[0], r.nd = s.DoseRate, 1
		return r
	}
	now := unixSeconds(s.Time)
	if h.nd > 0 && now-h.dLast > LevelMaxGapS {
		h.nd = 0
	}
	h.dLast = now
	h.doses[h.dhead] = s.DoseRate
	h.dhead = (h.dhead + 1) % len(h.doses)
	h.nd = min(h.nd+1, len(h.doses))
	for i := range h.nd {
		r.dose[i] = h.doses[(h.dhead-1-i+len(h.doses))%len(h.doses)]
	}
	r.nd = h.nd
	return r
}

func unixSeconds(t time.Time) float64 { return float64(t.UnixNano()) / 1e9 }

func (h *levelHistory) addCounts(cur countReading) {
	if h.nc > 0 {
		prev := h.counts[(h.head-1+levelHistoryLen)%levelHistoryLen]
		if cur.end-prev.end > LevelMaxGapS {
			h.nc = 0
		}
	}
	h.counts[h.head] = cur
	h.head = (h.head + 1) % levelHistoryLen
	h.nc = min(h.nc+1, levelHistoryLen)
}

// windows sums the counts of each window, newest reading first. A reading
// belongs to a window when its whole counting interval lies within the
// window; readings whose intervals overlap the next one (a device
// reporting a moving sum more often than its interval) end the sums, so
// no count is used twice.
func (h *levelHistory) windows(r *levelReading) {
	newest := h.counts[(h.head-1+levelHistoryLen)%levelHistoryLen]
	var k, t float64
	w := 0
	nextStart := newest.end
	for i := range h.nc {
		c := h.counts[(h.head-1-i+2*levelHistoryLen)%levelHistoryLen]
		if i > 0 && c.end-nextStart > windowSlackS {
			break // overlaps the reading after it
		}
		start := c.end - c.interval
		age := newest.end - start // how far back this reading reaches
		for w < len(LevelWindowsS) && age > LevelWindowsS[w]+windowSlackS {
			if t > 0 {
				r.k[w], r.t[w] = k, t
				w++
			} else {
				// Not even the newest reading fits (an interval longer than
				// the window): test it alone in this window.
				r.k[w], r.t[w] = c.counts, c.interval
				w++
			}
		}
		if w == len(LevelWindowsS) {
			break
		}
		k += c.counts
		t += c.interval
		nextStart = start
	}
	for ; w < len(LevelWindowsS) && t > 0; w++ {
		r.k[w], r.t[w] = k, t // the history is shorter than the window
	}
	// Drop windows that repeat the one before (slow devices, short history).
	r.nw = 0
	for i := range w {
		if r.nw > 0 && r.t[i] == r.t[r.nw-1] {
			continue
		}
		r.k[r.nw], r.t[r.nw] = r.k[i], r.t[i]
		r.nw++
	}
}

// logLevelAlpha is ln(LevelAlpha / number of windows).
var logLevelAlpha = math.Log(LevelAlpha / float64(len(LevelWindowsS)))

// decide judges the reading against a level (µSv/h). The test for
// "below" is only run when wantBelow is set (the condition is active or
// latched), which keeps the background case free of tail computations.
func (r *levelReading) decide(level float64, wantBelow bool) verdict {
	if !r.counts {
		return r.decideDose(level, wantBelow)
	}
	rate := level * r.cal / 60 // counts per second at the level
	for i := range r.nw {
		// The Chernoff bound first: far above the level (a vehicle in an
		// emergency, sample after sample) it settles the test without
		// the exact tail's series.
		if lambda := rate * r.t[i]; r.k[i] > lambda &&
			(chernoffLogTail(r.k[i], lambda) < logLevelAlpha || logPoissonTail(r.k[i], lambda) < logLevelAlpha) {
			return above
		}
	}
	if !wantBelow {
		return undecided
	}
	for i := range min(r.nw, LevelEndWindows) {
		if lambda := rate * r.t[i]; r.k[i] < lambda && logPoissonCDF(r.k[i], lambda) < logLevelAlpha {
			return below
		}
	}
	return undecided
}

func (r *levelReading) decideDose(level float64, held bool) verdict {
	latest := r.dose[0]
	if latest >= DoseSingleFactor*level || (held && latest >= level) {
		return above // (a held condition goes on with any reading at the level)
	}
	n := 0
	for _, d := range r.dose[:r.nd] {
		if d >= level {
			n++
		}
	}
	switch {
	case latest >= level && n >= DoseKOfN.K:
		return above
	case n == 0 && r.nd == DoseKOfN.N:
		return below
	}
	return undecided
}

// level applies a verdict to the level or zone rule's episode for key
// (ep: its open episode, nil if none).
func (c *evaluation) level(ep *Episode, key Key, r *Rule, v verdict, ev evidence, late bool) {
	switch v {
	case above:
		c.observeOpen(ep, key, r, true, ev, late)
	case below:
		c.observeOpen(ep, key, r, false, ev, late)
	}
}

// held reports whether key's condition (ep: its open episode, nil if
// none) is active or latched, i.e. whether a "below" verdict would change
// anything.
func (d *deviceState) held(ep *Episode, key Key) bool {
	if ep != nil && ep.ConditionActive {
		return true
	}
	return d.isLatched(key)
}
