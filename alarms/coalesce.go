package alarms

import (
	"context"

	"github.com/radtrack/radtrack/rules"
	"github.com/radtrack/radtrack/store"
)

// progress gathers, during one Process call, the episode updates that
// change no state, latest per alarm: one request of a vehicle inside an
// alarm condition updates its episodes once per sample, and the coalescer
// and the viewers need only where each episode stands at the end.
type progress struct {
	ups   []store.AlarmUpdate
	evs   []rules.Event // the latest event of each update, for viewers
	index map[int64]int // alarm id → position in ups
}

// coalesce takes an update that changes no state into p (to be stored with
// its sample's group commit, and published) and reports whether it did.
// Only updates of a stored episode whose stored condition is active
// qualify, of a live sample (an import's are stored at once).
// It may change *ev (the stored id) when it takes it.
func (s *Service) coalesce(p *progress, ev *rules.Event) bool {
	if s.updates == nil || ev.Type != rules.EventUpdated || ev.Imported || !ev.Episode.ConditionActive {
		return false
	}
	id := s.storedID(ev.AlarmID)
	if id <= 0 {
		return false
	}
	before, ok := s.countActive(ev.Key, ev.Episode.Samples)
	if !ok {
		return false
	}
	ev.AlarmID, ev.Episode.ID = id, id
	u := store.UpdateOf(ev.Episode, max(0, ev.Episode.Samples-before))
	if p.index == nil {
		p.index = map[int64]int{}
	}
	if i, ok := p.index[id]; ok {
		// The engine's episode only grows: the later snapshot holds the
		// earlier one; the sample counts add up.
		u.AddSamples += p.ups[i].AddSamples
		ev.NewPeak = ev.NewPeak || p.evs[i].NewPeak // viewers get a new peak at once
		p.ups[i], p.evs[i] = u, *ev
		return true
	}
	p.index[id] = len(p.ups)
	p.ups = append(p.ups, u)
	p.evs = append(p.evs, *ev)
	return true
}

// flush hands what p gathered to the coalescer and the viewers, and
// empties it.
func (p *progress) flush(ctx context.Context, s *Service) {
	if len(p.ups) == 0 {
		return
	}
	s.updates.AddAll(p.ups)
	for _, ev := range p.evs {
		s.publish(ctx, ev)
	}
	p.ups, p.evs = p.ups[:0], p.evs[:0]
	clear(p.index)
}
