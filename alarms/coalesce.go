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
	evs  []rules.Event // the latest event of each alarm held
	ids  []int64       // stored id of evs[i]
	adds []int         // samples evs[i] adds to what is stored
	// index maps a stored id to its position once more alarms are held
	// than a scan of ids finds quickly (a device has a few open alarms).
	index map[int64]int
	ups   []store.AlarmUpdate // built at flush
}

// progressScan is how many alarms a progress holds before it indexes them.
const progressScan = 16

func (p *progress) find(id int64) (int, bool) {
	if p.index != nil {
		i, ok := p.index[id]
		return i, ok
	}
	for i, x := range p.ids {
		if x == id {
			return i, true
		}
	}
	return 0, false
}

func (p *progress) add(id int64, add int, ev *rules.Event) {
	if p.index == nil && len(p.ids) == progressScan {
		p.index = make(map[int64]int, 2*progressScan)
		for i, x := range p.ids {
			p.index[x] = i
		}
	}
	if p.index != nil {
		p.index[id] = len(p.ids)
	}
	p.ids, p.adds, p.evs = append(p.ids, id), append(p.adds, add), append(p.evs, *ev)
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
	if i, ok := p.find(id); ok {
		// A later sample of an alarm this call holds: the engine's episode
		// only grows, so the later snapshot holds the earlier one and the
		// samples since add up. Only the progress is copied (an event is
		// ~600 bytes with pointers, per sample per alarm in an emergency);
		// the update is made from it at flush, and the stored count moves
		// then, once per call.
		p.adds[i] += max(0, ev.Episode.Samples-p.evs[i].Episode.Samples)
		progressTo(&p.evs[i], ev)
		return true
	}
	before, ok := s.countActive(ev.Key, ev.Episode.Samples)
	if !ok {
		return false
	}
	ev.AlarmID, ev.Episode.ID = id, id
	p.add(id, max(0, ev.Episode.Samples-before), ev)
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
	if len(p.evs) == 0 {
		return
	}
	s.recount(p.evs)
	p.ups = p.ups[:0]
	for i := range p.evs {
		// evs[i].Episode.ID is the stored id (set when it was taken), and
		// progressTo brought every field of an update up to date.
		p.ups = append(p.ups, store.UpdateOf(p.evs[i].Episode, p.adds[i]))
	}
	s.updates.AddAll(p.ups)
	for _, ev := range p.evs {
		s.publish(ctx, ev)
	}
	p.evs, p.ids, p.adds, p.index = p.evs[:0], p.ids[:0], p.adds[:0], nil
}
