package rules

import (
	"slices"
	"time"
)

// Re-imports: importing a log again must not change its alarms (issue 13
// item 5: sample counts grew and conditions ended twice). An imported
// stream remembers the spans of sample times it has evaluated; a sample
// inside one was evaluated before (logs are replayed in order, every
// sample of a span went through) and is skipped. A log older than what
// was imported before still runs: its span is new. After a restart the
// spans are seeded from the restored imported episodes (Restore), so
// their samples are not counted twice either.

// maxSpans bounds the spans kept per imported stream; beyond it the
// oldest are forgotten (a re-import of those would count again).
const maxSpans = 256

type span struct{ from, to time.Time }

// importedSeen reports whether t lies in a span already evaluated, and
// otherwise records it: it extends the span the previous sample went into
// when t follows it without reaching the next span, else starts a span.
func (d *deviceState) importedSeen(t time.Time) bool {
	i, found := slices.BinarySearchFunc(d.spans, t, func(s span, t time.Time) int {
		switch {
		case s.to.Before(t):
			return -1
		case s.from.After(t):
			return 1
		}
		return 0
	})
	if found {
		return true
	}
	// d.spans[i-1] ends before t, d.spans[i] (if any) starts after it.
	if i > 0 && i-1 == d.curSpan {
		d.spans[i-1].to = t
		return false
	}
	d.spans = slices.Insert(d.spans, i, span{t, t})
	d.curSpan = i
	if len(d.spans) > maxSpans {
		d.spans = slices.Delete(d.spans, 0, 1)
		d.curSpan--
	}
	return false
}

// seedSpan records a span of an imported stream evaluated before a restart.
func (d *deviceState) seedSpan(from, to time.Time) {
	i, _ := slices.BinarySearchFunc(d.spans, from, func(s span, t time.Time) int { return s.from.Compare(t) })
	d.spans = slices.Insert(d.spans, i, span{from, to})
	// Merge overlaps so the spans stay sorted and disjoint.
	merged := d.spans[:1]
	for _, s := range d.spans[1:] {
		last := &merged[len(merged)-1]
		if !s.from.After(last.to) {
			if s.to.After(last.to) {
				last.to = s.to
			}
			continue
		}
		merged = append(merged, s)
	}
	d.spans = merged
	d.curSpan = -1
}
