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
	if i, ok := p.index[id]; ok {
		// A later sample of an alarm this call holds: the engine's episode
		// only grows, so the later snapshot holds the earlier one and the
		// samples since add up. Only the progress is copied (an event is
		// ~600 bytes with pointers, per sample per alarm in an emergency),
		// and the stored count moves at flush, once per call.
		u := &p.ups[i]
		add := u.AddSamples + max(0, ev.Episode.Samples-u.Samples)
		*u = store.UpdateOf(ev.Episode, add)
		u.ID = id
		progressTo(&p.evs[i], ev)
		return true
	}
	before, ok := s.countActive(ev.Key, ev.Episode.Samples)
	if !ok {
		return false
	}
	ev.AlarmID, ev.Episode.ID = id, id
	if p.index == nil {
		p.index = map[int64]int{}
	}
	p.index[id] = len(p.ups)
	p.ups = append(p.ups, store.UpdateOf(ev.Episode, max(0, ev.Episode.Samples-before)))
	p.evs = append(p.evs, *ev)
	return true
}

// progressTo brings held, an "updated" event of an alarm, up to a later one
// of the same alarm: its time and the episode's progress (what an update
// carries, see store.AlarmUpdate); a new peak in either stays one.
func progressTo(held, later *rules.Event) {
	held.Time = later.Time
	held.NewPeak = held.NewPeak || later.NewPeak
	e, l := &held.Episode, &later.Episode
	e.LastSeen, e.Samples, e.Significance = l.LastSeen, l.Samples, l.Significance
	e.PeakDose, e.PeakTime, e.PeakLon, e.PeakLat, e.PeakGPSValid = l.PeakDose, l.PeakTime, l.PeakLon, l.PeakLat, l.PeakGPSValid
}

// flush hands what p gathered to the coalescer and the viewers, and
// empties it.
func (p *progress) flush(ctx context.Context, s *Service) {
	if len(p.ups) == 0 {
		return
	}
	s.recount(p.evs)
	s.updates.AddAll(p.ups)
	for _, ev := range p.evs {
		s.publish(ctx, ev)
	}
	p.ups, p.evs = p.ups[:0], p.evs[:0]
	clear(p.index)
}
