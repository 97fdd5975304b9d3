// Package alarms runs the rules for the ingest pipeline: it feeds each
// sample through the device's fence tracker (geo) and the rules engine
// (rules), persists the alarm episodes that result before the sample is
// acknowledged, hands their events to the live push, and carries out the
// acknowledgements and resolutions people make.
//
// Fences and rules are reloaded from the store on every edit and take
// effect with the next sample.
package alarms

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/radtrack/radtrack/geo"
	"github.com/radtrack/radtrack/ingest"
	"github.com/radtrack/radtrack/rules"
	"github.com/radtrack/radtrack/sample"
	"github.com/radtrack/radtrack/store"
)

// Publisher receives every alarm event of live samples after it is
// stored (raised, updated, condition ended, acknowledged, resolved). The
// live push implements it; events of imported samples are not published.
type Publisher interface {
	PublishAlarm(ctx context.Context, ev rules.Event) error
}

// Service is the rules stage of the pipeline and the alarm life cycle.
type Service struct {
	store  store.Store
	engine *rules.Engine
	index  atomic.Pointer[geo.Index]
	geoCfg geo.Config
	pub    Publisher
	log    *slog.Logger
	now    func() time.Time

	mu       sync.Mutex
	trackers map[trackerKey]*geo.Tracker

	// Outage journal (nil: an event the store refuses fails the samples).
	journal          *Journal
	classify         func(error) store.Fault
	journalMu        sync.Mutex // serialises journal appends and drains
	journalPending   atomic.Bool
	lastDrainFailure time.Time // guarded by journalMu
	provisionalMu    sync.Mutex
	provisional      map[int64]int64 // provisional id → stored id

	// counted is, per open episode, the sample count this node has stored
	// so far: updates add only the difference, so several nodes counting
	// the same episode add up instead of overwriting each other.
	countMu sync.Mutex
	counted map[rules.Key]int

	// Episode progress that changes no state is coalesced and stored with
	// the group commit of its samples (nil: each update is stored at once).
	updates *ingest.Coalescer
	// active holds the episodes whose stored (or journaled) condition is
	// active: only their updates may be coalesced, as an update that
	// makes a condition active again is a change of state. Under countMu.
	active map[rules.Key]bool

	// siteScope narrows fences and rules to the vehicles of their site's
	// subtree (sites.go); nil: everything applies to every vehicle.
	siteScope    atomic.Pointer[siteScope]
	fenceSiteIDs fenceSiteIDs

	scratch sync.Pool // *scratch for Process calls
}

// trackerKey separates imported replays from the live state of a device.
type trackerKey struct {
	device   int64
	imported bool
}

// Options tune a Service.
type Options struct {
	Geo       geo.Config
	Publisher Publisher // nil: events are only stored
	// Journal, with Classify, keeps alarms evaluating and pushing while
	// the database is unreachable (errors Classify calls Transient): their
	// events are journaled and stored when it returns. Without a journal
	// such an event fails the samples that caused it (the sender retries).
	Journal  *Journal
	Classify func(error) store.Fault
	// Coalescer, if set, takes the updates of open episodes that change no
	// state (last seen, sample count, a higher peak) instead of a store
	// round trip per sample; the ingest writer given the same Coalescer
	// stores them with the samples' group commit, and the store must be a
	// store.AlarmBatcher. Raises and changes of state stay immediate.
	Coalescer *ingest.Coalescer
}

// New loads rules (seeding the defaults on an installation's first start),
// fences and open alarms, so that a restart continues every open episode
// instead of raising it again.
func New(ctx context.Context, st store.Store, opt Options, log *slog.Logger) (*Service, error) {
	if _, err := st.SeedRules(ctx, rules.DefaultRules()); err != nil {
		return nil, err
	}
	rs, err := st.ListRules(ctx)
	if err != nil {
		return nil, err
	}
	engine, err := rules.NewEngine(rs)
	if err != nil {
		return nil, fmt.Errorf("stored rules: %w", err)
	}
	s := &Service{store: st, engine: engine, geoCfg: opt.Geo, pub: opt.Publisher, log: log, now: time.Now,
		trackers: map[trackerKey]*geo.Tracker{}, counted: map[rules.Key]int{}, provisional: map[int64]int64{},
		active: map[rules.Key]bool{}}
	if opt.Coalescer != nil {
		if _, ok := st.(store.AlarmBatcher); !ok {
			return nil, errors.New("alarms: a Coalescer needs a store that is a store.AlarmBatcher")
		}
		s.updates = opt.Coalescer
		opt.Coalescer.OnUnstored = s.journalUpdates
	}
	if opt.Journal != nil && opt.Classify != nil {
		s.journal, s.classify = opt.Journal, opt.Classify
		// Events journaled before a crash are stored before the open
		// alarms are loaded, so those alarms continue.
		if !opt.Journal.log.Empty() {
			// Journaled updates carry their episode's total sample count:
			// what is stored already must be known to add only the rest.
			if _, err := s.loadCounted(ctx); err != nil {
				return nil, err
			}
			s.journalPending.Store(true)
			if err := s.DrainJournal(ctx); err != nil {
				// A node starting during an outage (from its snapshot)
				// keeps the events journaled; RunJournal stores them.
				if !s.transient(err) {
					return nil, fmt.Errorf("store journaled alarm events: %w", err)
				}
				log.Warn("journaled alarm events wait for the database", "err", err)
			}
		}
	}
	if err := s.ReloadFences(ctx); err != nil {
		return nil, err
	}
	open, err := s.loadCounted(ctx)
	if err != nil {
		return nil, err
	}
	if err := engine.Restore(open); err != nil {
		// Every other episode was restored; a duplicate key is a data
		// problem worth a log line, not a reason to stop raising alarms.
		log.Error("restore open alarms", "err", err)
	}
	return s, nil
}

// loadCounted reads the open alarms and takes their stored sample counts
// as this node's.
func (s *Service) loadCounted(ctx context.Context) ([]rules.Episode, error) {
	open, err := s.store.ListAlarms(ctx, store.AlarmFilter{States: []rules.State{rules.StateRaised, rules.StateAcknowledged}})
	if err != nil {
		return nil, err
	}
	s.countMu.Lock()
	defer s.countMu.Unlock()
	for _, ep := range open {
		s.counted[ep.Key] = ep.Samples
		s.active[ep.Key] = ep.ConditionActive
	}
	return open, nil
}

// OpenByState counts this node's open live alarms by state, for metrics.
func (s *Service) OpenByState() map[string]int {
	out := map[string]int{}
	for _, ep := range s.engine.OpenEpisodes() {
		if !ep.Imported {
			out[string(ep.State)]++
		}
	}
	return out
}

// Engine exposes the rules engine (for silence ticks and tests).
func (s *Service) Engine() *rules.Engine { return s.engine }

// Index returns the fence index in force.
func (s *Service) Index() *geo.Index { return s.index.Load() }

// ReloadFences rebuilds the spatial index from the store and swaps it in.
func (s *Service) ReloadFences(ctx context.Context) error {
	stored, err := s.store.ListFences(ctx)
	if err != nil {
		return err
	}
	fences := make([]geo.Fence, 0, len(stored))
	for _, sf := range stored {
		f, err := FenceFromStore(sf)
		if err != nil {
			// A fence the current code cannot read must not disable the others.
			s.log.Error("skip unreadable fence", "fence", sf.ID, "err", err)
			continue
		}
		fences = append(fences, f)
	}
	ix, err := geo.NewIndex(fences)
	if err != nil {
		return fmt.Errorf("build fence index: %w", err)
	}
	s.index.Store(ix)
	s.loadSites(ctx, stored)
	return nil
}

// ReloadRules loads the rules from the store into the engine.
func (s *Service) ReloadRules(ctx context.Context) error {
	rs, err := s.store.ListRules(ctx)
	if err != nil {
		return err
	}
	if err := s.engine.SetRules(rs); err != nil {
		return err
	}
	s.loadSites(ctx, nil)
	return nil
}

// FenceFromStore decodes a stored fence's Feature and applies the row's id,
// name and kind (the row is authoritative).
func FenceFromStore(sf store.Fence) (geo.Fence, error) {
	fs, err := geo.ParseGeoJSON(sf.Feature)
	if err != nil {
		return geo.Fence{}, err
	}
	if len(fs) != 1 {
		return geo.Fence{}, fmt.Errorf("fence %d: feature holds %d fences, want 1", sf.ID, len(fs))
	}
	f := fs[0]
	f.ID, f.Name, f.Kind = sf.ID, sf.Name, geo.Kind(sf.Kind)
	return f, nil
}

func (s *Service) tracker(device int64, imported bool) *geo.Tracker {
	k := trackerKey{device, imported}
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := s.trackers[k]
	if !ok {
		t = geo.NewTracker(s.geoCfg)
		s.trackers[k] = t
	}
	return t
}

// Process runs one device's samples, in order, through fences and rules and
// stores the resulting alarms. It returns an error only if an alarm could
// not be stored: the pipeline then refuses the samples, the client retries,
// and the alarm is raised again rather than lost.
func (s *Service) Process(ctx context.Context, dev store.Device, samples []sample.Sample) error {
	ix, fs := s.index.Load(), s.siteScope.Load()
	ruleApplies := fs.ruleApplies(dev.SiteID)
	var (
		tr    *geo.Tracker
		trFor = -1 // tr is the tracker of Imported == (trFor == 1)
	)
	sc, _ := s.scratch.Get().(*scratch)
	if sc == nil {
		sc = &scratch{}
	}
	defer func() {
		sc.progress.flush(ctx, s)
		s.scratch.Put(sc)
	}()
	progress := &sc.progress
	for i := range samples {
		smp := &samples[i]
		if imp := boolInt(smp.Imported); imp != trFor {
			tr, trFor = s.tracker(dev.ID, smp.Imported), imp
		}
		sc.geoEvents = tr.Update(ix, smp.Lon, smp.Lat, smp.Time, smp.GPSValid, sc.geoEvents[:0])
		sc.inside = fs.narrow(tr.Inside(sc.inside[:0]), dev.SiteID)
		in := rules.Input{Sample: *smp, Inside: sc.inside, RuleApplies: ruleApplies}
		for _, ge := range sc.geoEvents {
			if fs != nil && !fs.applies(ge.FenceID, dev.SiteID) {
				continue
			}
			f, _ := ix.Fence(ge.FenceID)
			in.Transitions = append(in.Transitions, rules.Transition{
				Type: rules.TransitionType(ge.Type), FenceID: ge.FenceID, FenceKind: string(f.Kind),
				Time: ge.Time, Lon: ge.Lon, Lat: ge.Lat,
			})
		}
		sc.events = s.engine.EvaluateInto(in, sc.events)
		for i := range sc.events {
			ev := &sc.events[i] // an event is ~600 bytes: not copied per step
			if s.coalesce(progress, ev) {
				continue
			}
			// What came before this event reaches viewers and the
			// coalescer before it does.
			progress.flush(ctx, s)
			if err := s.record(ctx, *ev); err != nil {
				return err
			}
		}
	}
	return nil
}

// scratch is the buffers one Process call works in. They are pooled: a
// request of a vehicle inside alarm conditions grew an event buffer and
// the held progress (events of ~600 bytes, ids, counts, updates) afresh,
// about ten allocations per request. Nothing in them outlives the call:
// events are copied where they are kept.
type scratch struct {
	geoEvents []geo.Event
	inside    []int64
	events    []rules.Event // reused from sample to sample
	progress  progress      // the call's coalesced updates
}

// Tick runs the silence rules; the node calls it every few seconds.
func (s *Service) Tick(ctx context.Context) error {
	var errs []error
	for _, ev := range s.engine.Tick(s.now()) {
		errs = append(errs, s.record(ctx, ev))
	}
	return errors.Join(errs...)
}

// record stores one engine event and publishes it; with a journal, an
// event the database cannot take now is journaled and published instead.
func (s *Service) record(ctx context.Context, ev rules.Event) error {
	if ev.Type != rules.EventRaised && ev.Type != rules.EventUpdated && ev.Type != rules.EventConditionEnded && ev.Type != rules.EventRealarm {
		return fmt.Errorf("unexpected engine event %q", ev.Type)
	}
	if s.journal != nil {
		return s.recordJournaled(ctx, ev)
	}
	return s.storeAndPublish(ctx, &ev)
}

func (s *Service) storeAndPublish(ctx context.Context, ev *rules.Event) error {
	if err := s.storeEvent(ctx, ev); err != nil {
		return err
	}
	s.setActive(ev.Key, ev.Episode.ConditionActive)
	if ev.Type == rules.EventRaised || ev.Type == rules.EventRealarm {
		s.logRaised(*ev)
	}
	s.publish(ctx, *ev)
	return nil
}

func (s *Service) logRaised(ev rules.Event) {
	s.log.Warn("alarm "+string(ev.Type), "alarm", ev.AlarmID, "reason", ev.Reason, "device", ev.Key.DeviceID, "rule", ev.Episode.RuleName,
		"severity", ev.Episode.Severity, "dose", ev.Episode.PeakDose, "imported", ev.Imported)
}

// storeEvent stores one engine event, filling in the alarm id (and the
// event type a merge makes of a raise). On error, ev keeps what was
// stored so far, so a retry continues from there.
func (s *Service) storeEvent(ctx context.Context, ev *rules.Event) error {
	if ev.AlarmID < 0 {
		if id, ok := s.lookupStoredID(ev.AlarmID); ok {
			ev.AlarmID = id
		} else {
			// Provisional and not stored yet: store it as the raise it is.
			ev.Episode.ProvisionalID, ev.AlarmID = ev.AlarmID, 0
		}
	}
	if ev.AlarmID == 0 {
		// A raise whose storage failed earlier (the sample was refused and
		// retried, or the database was away) arrives as an update of an
		// episode without a stored id: store it as the raise it is, or
		// the episode would never be stored.
		id, created, err := s.store.RaiseAlarm(ctx, ev.Episode, rules.Event{
			Type: rules.EventRaised, Key: ev.Key, Time: ev.Episode.FirstSeen, Imported: ev.Imported, Episode: ev.Episode,
		})
		if err != nil {
			return err
		}
		if err := s.engine.ReplaceID(ev.Key, ev.Episode.ProvisionalID, id); err != nil {
			s.log.Debug("stored alarm no longer open in the engine", "alarm", id, "err", err)
		}
		if ev.Episode.ProvisionalID != 0 {
			s.rememberStoredID(ev.Episode.ProvisionalID, id)
		}
		s.setCounted(ev.Key, ev.Episode.Samples)
		ev.AlarmID, ev.Episode.ID = id, id
		switch {
		case created:
			ev.Type = rules.EventRaised
		case ev.Type == rules.EventRaised:
			// Another node raised this episode first: ours merged into it.
			ev.Type = rules.EventUpdated
		}
		return s.storeAudit(ctx, ev)
	}
	ev.Episode.ID = ev.AlarmID
	before := s.setCounted(ev.Key, ev.Episode.Samples)
	if err := s.store.UpdateAlarm(ctx, ev.Episode, max(0, ev.Episode.Samples-before)); err != nil {
		s.setCounted(ev.Key, before) // not stored: count these samples next time
		return err
	}
	return s.storeAudit(ctx, ev)
}

func (s *Service) setActive(k rules.Key, active bool) {
	s.countMu.Lock()
	s.active[k] = active
	s.countMu.Unlock()
}

// countActive is setCounted for an episode whose stored condition is
// active; ok is false (and nothing changes) for any other.
func (s *Service) countActive(k rules.Key, n int) (before int, ok bool) {
	s.countMu.Lock()
	defer s.countMu.Unlock()
	if !s.active[k] {
		return 0, false
	}
	before = s.counted[k]
	s.counted[k] = n
	return before, true
}

// recount takes the sample counts of the episodes of evs (updates a call
// coalesced) as counted, those still active.
func (s *Service) recount(evs []rules.Event) {
	s.countMu.Lock()
	defer s.countMu.Unlock()
	for i := range evs {
		if k := evs[i].Key; s.active[k] {
			s.counted[k] = max(s.counted[k], evs[i].Episode.Samples)
		}
	}
}

// setCounted records the stored sample count of an episode and returns the
// previous one.
func (s *Service) setCounted(k rules.Key, n int) int {
	s.countMu.Lock()
	defer s.countMu.Unlock()
	before := s.counted[k]
	s.counted[k] = n
	return before
}

// forgetCounted drops the count of a resolved episode.
func (s *Service) forgetCounted(k rules.Key) {
	s.countMu.Lock()
	delete(s.counted, k)
	delete(s.active, k)
	s.countMu.Unlock()
}

func (s *Service) publish(ctx context.Context, ev rules.Event) {
	if s.pub == nil || ev.Imported {
		return
	}
	if err := s.pub.PublishAlarm(ctx, ev); err != nil {
		s.log.Error("publish alarm event", "alarm", ev.AlarmID, "type", ev.Type, "err", err)
	}
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}
