package notify

import (
	"cmp"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"slices"
	"strings"

	"github.com/radtrack/radtrack/rules"
)

// Sorted returns the digest's deliveries as every channel lists them:
// highest severity first, re-alarms before raises, then newest first.
func (g Digest) Sorted() []Delivery {
	out := slices.Clone(g.Deliveries)
	slices.SortStableFunc(out, func(a, b Delivery) int {
		if c := cmp.Compare(rules.SeverityRank(b.Event.Incident.Severity), rules.SeverityRank(a.Event.Incident.Severity)); c != 0 {
			return c
		}
		if ra, rb := a.Event.Type == EventRealarmed, b.Event.Type == EventRealarmed; ra != rb {
			if ra {
				return -1
			}
			return 1
		}
		return b.Event.Time.Compare(a.Event.Time)
	})
	return out
}

// validate checks every delivery of the digest.
func (g Digest) validate() error {
	if len(g.Deliveries) == 0 {
		return fmt.Errorf("%w: empty digest", ErrInvalid)
	}
	for _, d := range g.Deliveries {
		if err := d.validate(); err != nil {
			return err
		}
	}
	return nil
}

// sortedTo is g's deliveries, Sorted, once g is valid and every one goes
// where the first does (same tells; what names the channel's receiver).
func (g Digest) sortedTo(what string, same func(first, other Recipient) bool) ([]Delivery, error) {
	if err := g.validate(); err != nil {
		return nil, err
	}
	sorted := g.Sorted()
	for _, d := range sorted[1:] {
		if !same(sorted[0].Recipient, d.Recipient) {
			return nil, fmt.Errorf("%w: a digest goes to one %s", ErrInvalid, what)
		}
	}
	return sorted, nil
}

// Keys are the idempotency keys the digest covers, in its order.
func (g Digest) Keys() []string {
	keys := make([]string, len(g.Deliveries))
	for i, d := range g.Deliveries {
		keys[i] = d.Key()
	}
	return keys
}

// Key is the digest's own idempotency key, derived from the keys it
// covers (in any order): a retried digest carries the same key.
func (g Digest) Key() string {
	keys := g.Keys()
	slices.Sort(keys)
	sum := sha256.Sum256([]byte(strings.Join(keys, "\n")))
	return "d" + fmt.Sprint(len(keys)) + "-" + hex.EncodeToString(sum[:8])
}

// Incidents are the incident IDs the digest names, in Sorted order,
// each once.
func (g Digest) Incidents() []int64 {
	var ids []int64
	for _, d := range g.Sorted() {
		if !slices.Contains(ids, d.Event.Incident.ID) {
			ids = append(ids, d.Event.Incident.ID)
		}
	}
	return ids
}

// digestTitle is the digest's one-line summary, naming the first
// incidents (re-alarms as such): "3 incidents: CRITICAL incident 42
// RE-ALARM, ALARM incident 43 raised +1 more".
func digestTitle(sorted []Delivery, limit int) string {
	var (
		parts []string
		seen  []int64
		test  bool
	)
	for _, d := range sorted {
		test = test || d.Event.Test
		if slices.Contains(seen, d.Event.Incident.ID) {
			continue
		}
		seen = append(seen, d.Event.Incident.ID)
		if len(parts) < limit {
			parts = append(parts, fmt.Sprintf("%s incident %d %s", severityLabel(d.Event.Incident.Severity), d.Event.Incident.ID, eventPhrase(d.Event)))
		}
	}
	s := fmt.Sprintf("%d incidents: %s", len(seen), strings.Join(parts, ", "))
	if len(seen) == 1 {
		s = fmt.Sprintf("1 incident, %d messages: %s", len(sorted), parts[0])
	}
	if len(seen) > limit {
		s += fmt.Sprintf(" +%d more", len(seen)-limit)
	}
	if test {
		s = "[TEST] " + s
	}
	return s
}
