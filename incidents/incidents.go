// Package incidents groups the alarms one radiological event causes into
// one incident, so people handle one card with one adjudication instead of
// one card per rule (issue 13).
//
// Grouping: an alarm joins an unresolved incident of the same stream (live
// or imported) when it is seen within Window of the incident's last_seen
// and either comes from a vehicle already in it (one vehicle's pass) or
// its peak lies within DistanceM of the peak of one of the incident's
// alarms (several vehicles near the same place). Otherwise it opens a new
// incident. Device-health alarms (silence rules) never join incidents:
// they are listed apart and ring nothing red.
//
// The incident's state, severity, peak and times are a summary of its
// alarms (Summarize): raised while any alarm is raised, acknowledged once
// every open alarm is, resolved once all are. Acknowledging or resolving an
// incident acts on each alarm inside, so each keeps its own audit rows. A
// re-alarm puts its alarm, and with it the incident, back to raised; an
// alarm raised after its incident was resolved opens a new incident, so new
// danger is never hidden by a closed incident.
//
// Notifications subscribe with Subscribe: they get every incident event
// (raised, realarm, updated, acknowledged, resolved) after it is stored.
package incidents

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/radtrack/radtrack/geo"
	"github.com/radtrack/radtrack/rules"
	"github.com/radtrack/radtrack/sample"
	"github.com/radtrack/radtrack/store"
)

// Config is the grouping window.
type Config struct {
	// Window: an alarm seen this long after an incident's last_seen still
	// joins it (RADTRACK_INCIDENT_WINDOW).
	Window time.Duration
	// DistanceM: the greatest distance between an alarm's peak and the
	// peak of an alarm of the incident, for alarms of other vehicles
	// (RADTRACK_INCIDENT_DISTANCE_M).
	DistanceM float64
}

// DefaultConfig groups within 10 minutes and 1 km: one pass at patrol speed
// raises its rules within a minute or two and a few hundred metres.
func DefaultConfig() Config { return Config{Window: 10 * time.Minute, DistanceM: 1000} }

// EventType names an incident event.
type EventType string

const (
	EventRaised       EventType = "raised"       // a new incident: page people
	EventRealarm      EventType = "realarm"      // pages again (see Service.PublishAlarm)
	EventUpdated      EventType = "updated"      // an alarm joined or progressed; no page
	EventAcknowledged EventType = "acknowledged" // every open alarm inside is acknowledged
	EventResolved     EventType = "resolved"     // every alarm inside is resolved
)

// Event is one change of an incident, with the incident after it.
type Event struct {
	Type     EventType
	Incident store.Incident
	Time     time.Time
	// Cause is the alarm event that caused this one.
	Cause rules.Event
	// Changed are the alarms of Incident this event added or changed;
	// nil: any may have changed. An incident of an emergency holds
	// thousands of alarms, and a live frame needs only these.
	Changed []int64
}

// IsHealth reports whether an alarm is about the device's health (silence)
// rather than radiation or fences: such alarms are not in incidents.
func IsHealth(ep rules.Episode) bool { return ep.Kind == rules.KindSilence }

// AlarmActor acknowledges and resolves single alarms (alarms.Service).
type AlarmActor interface {
	Acknowledge(ctx context.Context, alarmID int64, user, comment string) (rules.Episode, error)
	Resolve(ctx context.Context, alarmID int64, user string, code rules.Code, comment string, maySkipAck bool) (rules.Episode, error)
}

// Service keeps incidents up to date from alarm events and carries out
// incident-wide acknowledgements and resolutions.
type Service struct {
	store store.Store
	cfg   Config
	log   *slog.Logger

	mu sync.Mutex // one grouping decision at a time on this node

	memberMu sync.Mutex
	member   map[int64]int64 // alarm id → incident id, for open alarms

	// While Run runs, alarm events are filed off the ingest path: the
	// alarm itself is stored before the sample's ack, the incident is a
	// summary derived from it (Run files what a crash left unfiled). In
	// an emergency thousands of vehicles raise and raise their peaks at
	// once, and one grouping lock with store round trips per event would
	// serialise the whole fleet's ingest behind it (issue 19).
	flushing atomic.Bool
	filerMu  sync.Mutex // one filer at a time keeps the queue's order
	queueMu  sync.Mutex
	queue    []rules.Event // events waiting for the filer, oldest first
	queued   chan struct{} // cap 1: the queue is not empty
	// Progress updates of alarms already in an incident (a new peak,
	// nothing else) are merged per alarm and stored once per period.
	pendingMu sync.Mutex
	pending   map[int64]map[int64]rules.Event // incident id → alarm id → newest update

	subMu sync.RWMutex
	subs  []func(context.Context, Event)

	actorMu sync.RWMutex
	actor   AlarmActor
}

// New returns a service; zero config fields take DefaultConfig's.
func New(st store.Store, cfg Config, log *slog.Logger) *Service {
	def := DefaultConfig()
	if cfg.Window <= 0 {
		cfg.Window = def.Window
	}
	if cfg.DistanceM <= 0 {
		cfg.DistanceM = def.DistanceM
	}
	return &Service{store: st, cfg: cfg, log: log, member: map[int64]int64{}, pending: map[int64]map[int64]rules.Event{},
		queued: make(chan struct{}, 1)}
}

// SetActor sets who acknowledges and resolves the alarms inside (the
// alarms service, created after this one because it publishes to it).
func (s *Service) SetActor(a AlarmActor) {
	s.actorMu.Lock()
	s.actor = a
	s.actorMu.Unlock()
}

// Subscribe calls f with every incident event after it is stored, in the
// order they happen on this node. f must not block for long.
func (s *Service) Subscribe(f func(context.Context, Event)) {
	s.subMu.Lock()
	s.subs = append(s.subs, f)
	s.subMu.Unlock()
}

func (s *Service) emit(ctx context.Context, ev Event) {
	s.subMu.RLock()
	subs := slices.Clone(s.subs)
	s.subMu.RUnlock()
	for _, f := range subs {
		f(ctx, ev)
	}
}

// PublishAlarm implements alarms.Publisher: it files every stored alarm
// event into its incident. Errors are logged by the caller; they never
// fail the samples.
func (s *Service) PublishAlarm(ctx context.Context, ev rules.Event) error {
	if IsHealth(ev.Episode) || ev.AlarmID <= 0 {
		return nil // health alarms stay apart; provisional alarms join once stored
	}
	if s.progressOnly(ev) || s.enqueue(ev) {
		return nil
	}
	return s.file(ctx, ev)
}

// progressOnly reports whether ev needs no filing now: an update of an
// alarm already in an incident that moves nothing in its summary, or one
// whose new peak waits for the next Flush.
func (s *Service) progressOnly(ev rules.Event) bool {
	if ev.Type != rules.EventUpdated {
		return false
	}
	id, known := s.incidentOf(ev.AlarmID)
	return known && (!ev.NewPeak || s.postpone(id, ev))
}

// enqueue hands ev to Run's filer; false when no filer runs.
func (s *Service) enqueue(ev rules.Event) bool {
	if !s.flushing.Load() {
		return false
	}
	s.queueMu.Lock()
	s.queue = append(s.queue, ev)
	s.queueMu.Unlock()
	select {
	case s.queued <- struct{}{}:
	default:
	}
	return true
}

// fileQueued files every queued event in order.
func (s *Service) fileQueued(ctx context.Context) {
	s.filerMu.Lock()
	defer s.filerMu.Unlock()
	for {
		s.queueMu.Lock()
		batch := s.queue
		s.queue = nil
		s.queueMu.Unlock()
		if len(batch) == 0 {
			return
		}
		for _, ev := range batch {
			if err := s.file(ctx, ev); err != nil {
				s.log.Error("file alarm event into its incident", "alarm", ev.AlarmID, "type", ev.Type, "err", err)
			}
		}
	}
}

// file puts one alarm event into its incident, stores the incident and
// emits the incident event it makes.
func (s *Service) file(ctx context.Context, ev rules.Event) error {
	if s.progressOnly(ev) {
		return nil // queued before its raise was filed
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	id, known := s.incidentOf(ev.AlarmID)
	if known && ev.Type == rules.EventUpdated && !ev.NewPeak {
		return nil
	}
	if !known {
		var err error
		if id, err = s.store.AlarmIncident(ctx, ev.AlarmID); err != nil {
			return err
		}
	}
	var (
		inc   store.Incident
		isNew bool
	)
	if id != 0 {
		var err error
		if inc, err = s.store.Incident(ctx, id); err != nil {
			return err
		}
	} else {
		if ev.Type == rules.EventResolved || ev.Type == rules.EventAcknowledged {
			return nil // an alarm from before incidents existed
		}
		var err error
		if inc, isNew, err = s.place(ctx, ev.Episode); err != nil {
			return err
		}
	}
	// Progress that waited for the flush is older than this event.
	s.applyPending(&inc, s.takePending(inc.ID))
	before := inc
	s.setMember(ev.AlarmID, inc.ID, ev.Type == rules.EventResolved)
	// The event's copy of the alarm is the newest.
	ep := ev.Episode
	ep.ID = ev.AlarmID
	if i := slices.IndexFunc(inc.Alarms, func(a rules.Episode) bool { return a.ID == ep.ID }); i >= 0 {
		inc.Alarms[i] = ep
	} else {
		inc.Alarms = append([]rules.Episode{ep}, inc.Alarms...)
	}
	Summarize(&inc)
	typ := transition(before, inc, isNew, ev)
	if ev.Type == rules.EventRealarm || typ == EventRealarm {
		inc.RealarmedAt = ev.Time
	}
	var add []int64
	if !slices.ContainsFunc(before.Alarms, func(a rules.Episode) bool { return a.ID == ep.ID }) {
		add = []int64{ep.ID}
	}
	newID, err := s.store.SaveIncident(ctx, inc, add...)
	if err != nil {
		return err
	}
	inc.ID = newID
	s.setMember(ev.AlarmID, newID, ev.Type == rules.EventResolved)
	if typ != "" {
		s.emit(ctx, Event{Type: typ, Incident: inc, Time: ev.Time, Cause: ev, Changed: []int64{ev.AlarmID}})
	}
	return nil
}

func (s *Service) incidentOf(alarmID int64) (int64, bool) {
	s.memberMu.Lock()
	defer s.memberMu.Unlock()
	id, ok := s.member[alarmID]
	return id, ok
}

func (s *Service) setMember(alarmID, incidentID int64, resolved bool) {
	s.memberMu.Lock()
	defer s.memberMu.Unlock()
	if resolved {
		delete(s.member, alarmID)
	} else {
		s.member[alarmID] = incidentID
	}
}

// postpone keeps a progress update of incident id's alarm for the next flush;
// false when no flusher runs (the caller then stores it at once).
func (s *Service) postpone(id int64, ev rules.Event) bool {
	if !s.flushing.Load() {
		return false
	}
	s.pendingMu.Lock()
	defer s.pendingMu.Unlock()
	byAlarm := s.pending[id]
	if byAlarm == nil {
		byAlarm = map[int64]rules.Event{}
		s.pending[id] = byAlarm
	}
	// An alarm's episode only grows: the newer update holds the older.
	byAlarm[ev.AlarmID] = ev
	return true
}

func (s *Service) takePending(id int64) map[int64]rules.Event {
	s.pendingMu.Lock()
	defer s.pendingMu.Unlock()
	p := s.pending[id]
	delete(s.pending, id)
	return p
}

// applyPending folds waiting progress (peak, last seen, samples) into the
// incident's alarms. The stored alarm keeps its state: a progress update
// carries none, and the alarm may have been acknowledged or resolved
// since the update was made.
func (s *Service) applyPending(inc *store.Incident, updates map[int64]rules.Event) {
	for i, a := range inc.Alarms {
		ev, ok := updates[a.ID]
		if !ok {
			continue
		}
		ep := ev.Episode
		if ep.LastSeen.After(a.LastSeen) {
			a.LastSeen = ep.LastSeen
		}
		a.Samples = max(a.Samples, ep.Samples)
		if sample.Has(ep.PeakDose) && (!sample.Has(a.PeakDose) || ep.PeakDose > a.PeakDose) {
			a.PeakDose, a.PeakTime, a.PeakLon, a.PeakLat, a.PeakGPSValid = ep.PeakDose, ep.PeakTime, ep.PeakLon, ep.PeakLat, ep.PeakGPSValid
		}
		inc.Alarms[i] = a
	}
}

// Run stores the progress updates of alarms already in incidents every
// period (a new peak reaches the incident, its viewers and its
// notifications within one period), and once more when ctx ends. Until
// Run is called, every update is stored as it comes.
func (s *Service) Run(ctx context.Context, period time.Duration) {
	s.flushing.Store(true)
	s.fileUnfiled(ctx)
	t := time.NewTicker(period)
	defer t.Stop()
	for {
		select {
		case <-s.queued:
			s.fileQueued(ctx)
		case <-t.C:
			s.Flush(ctx)
		case <-ctx.Done():
			s.flushing.Store(false)
			fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
			s.Flush(fctx)
			cancel()
			return
		}
	}
}

// fileUnfiled files the open live alarms that are in no incident: those
// whose events were still queued when the node last stopped abruptly.
func (s *Service) fileUnfiled(ctx context.Context) {
	imported := false
	var unfiled []rules.Episode
	err := s.store.EachAlarm(ctx, store.AlarmFilter{
		States: []rules.State{rules.StateRaised, rules.StateAcknowledged}, Imported: &imported, Unfiled: true,
	}, func(ep *rules.Episode) error {
		if !IsHealth(*ep) {
			unfiled = append(unfiled, *ep)
		}
		return nil
	})
	if err != nil {
		s.log.Error("find alarms in no incident", "err", err)
		return
	}
	for _, ep := range unfiled {
		// As the raise it was: the incident it makes or joins summarises
		// the alarm's present state.
		ev := rules.Event{Type: rules.EventRaised, Key: ep.Key, AlarmID: ep.ID, Time: ep.FirstSeen, Episode: ep}
		if err := s.file(ctx, ev); err != nil {
			s.log.Error("file alarm into its incident", "alarm", ep.ID, "err", err)
		}
	}
	if len(unfiled) > 0 {
		s.log.Warn("filed alarms that were in no incident", "alarms", len(unfiled))
	}
}

// Flush files every queued event, then stores every waiting progress
// update, one incident at a time, and emits an updated event for each
// incident it changed.
func (s *Service) Flush(ctx context.Context) {
	s.fileQueued(ctx)
	s.pendingMu.Lock()
	ids := make([]int64, 0, len(s.pending))
	for id := range s.pending {
		ids = append(ids, id)
	}
	s.pendingMu.Unlock()
	slices.Sort(ids)
	for _, id := range ids {
		if err := s.flushOne(ctx, id); err != nil {
			s.log.Error("store incident progress", "incident", id, "err", err)
		}
	}
}

func (s *Service) flushOne(ctx context.Context, id int64) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	updates := s.takePending(id)
	if len(updates) == 0 {
		return nil // an event of the incident took them first
	}
	inc, err := s.store.Incident(ctx, id)
	if err != nil {
		return err
	}
	before := inc
	s.applyPending(&inc, updates)
	Summarize(&inc)
	samePeak := inc.PeakDose == before.PeakDose || !sample.Has(inc.PeakDose) && !sample.Has(before.PeakDose)
	if samePeak && inc.LastSeen.Equal(before.LastSeen) {
		return nil
	}
	if _, err := s.store.SaveIncident(ctx, inc); err != nil {
		return err
	}
	var cause rules.Event
	changed := make([]int64, 0, len(updates))
	for id, ev := range updates {
		if !cause.Time.After(ev.Time) {
			cause = ev
		}
		changed = append(changed, id)
	}
	s.emit(ctx, Event{Type: EventUpdated, Incident: inc, Time: cause.Time, Cause: cause, Changed: changed})
	return nil
}

// place finds the incident an alarm not yet in one joins, or starts one.
func (s *Service) place(ctx context.Context, ep rules.Episode) (store.Incident, bool, error) {
	imported := ep.Imported
	near := &store.IncidentNear{DeviceID: ep.DeviceID}
	if ep.PeakGPSValid {
		b := store.BoxAround(ep.PeakLon, ep.PeakLat, s.cfg.DistanceM)
		near.Box = &b
	}
	open, err := s.store.ListIncidents(ctx, store.IncidentFilter{
		States: []rules.State{rules.StateRaised, rules.StateAcknowledged}, Imported: &imported,
		Since: ep.FirstSeen.Add(-s.cfg.Window), Near: near,
	})
	if err != nil {
		return store.Incident{}, false, err
	}
	if len(open) == 0 {
		return store.Incident{Imported: ep.Imported, Alarms: []rules.Episode{}}, true, nil
	}
	sites := map[int64]int64{} // device → site, read once per device
	siteOf := func(device int64) (int64, error) {
		if site, ok := sites[device]; ok {
			return site, nil
		}
		d, err := s.store.DeviceByID(ctx, device)
		if err != nil {
			return 0, fmt.Errorf("site of device %d: %w", device, err)
		}
		sites[device] = d.SiteID
		return d.SiteID, nil
	}
	site, err := siteOf(ep.DeviceID)
	if err != nil {
		return store.Incident{}, false, err
	}
	for _, inc := range open {
		if !s.cfg.Joins(inc, ep) {
			continue
		}
		// An incident is one site's (its alarms' vehicles are in one
		// site): people of another sub-centre never see it, and never
		// see a summary made partly of their alarms.
		other, err := siteOf(inc.Alarms[0].DeviceID)
		if err != nil {
			return store.Incident{}, false, err
		}
		if other == site {
			return inc, false, nil
		}
	}
	return store.Incident{Imported: ep.Imported, Alarms: []rules.Episode{}}, true, nil
}

// Joins reports whether alarm ep belongs to the unresolved incident inc.
func (c Config) Joins(inc store.Incident, ep rules.Episode) bool {
	if inc.Imported != ep.Imported || inc.State == rules.StateResolved || len(inc.Alarms) == 0 {
		return false
	}
	seen := ep.FirstSeen
	if seen.After(inc.LastSeen.Add(c.Window)) || seen.Before(inc.FirstSeen.Add(-c.Window)) {
		return false
	}
	for _, a := range inc.Alarms {
		if a.DeviceID == ep.DeviceID {
			return true
		}
		if a.PeakGPSValid && ep.PeakGPSValid && geo.DistanceM(a.PeakLon, a.PeakLat, ep.PeakLon, ep.PeakLat) <= c.DistanceM {
			return true
		}
	}
	return false
}

// Visible is the part of an incident a user who sees only some devices
// sees: its alarms of those devices, summarised from them alone (another
// site's peak, its vehicle and place must not show). ok is false when none
// is seen, nor its peak device: the incident does not exist for that user.
func Visible(inc store.Incident, sees func(deviceID int64) bool) (store.Incident, bool) {
	alarms := make([]rules.Episode, 0, len(inc.Alarms))
	for _, ep := range inc.Alarms {
		if sees(ep.DeviceID) {
			alarms = append(alarms, ep)
		}
	}
	if len(alarms) == 0 && !sees(inc.PeakDeviceID) {
		return inc, false
	}
	resummarise := len(alarms) > 0 && len(alarms) < len(inc.Alarms)
	inc.Alarms = alarms
	if resummarise {
		Summarize(&inc)
	}
	return inc, true
}

// Summarize computes an incident's summary fields from its alarms.
func Summarize(inc *store.Incident) {
	if len(inc.Alarms) == 0 {
		return
	}
	var raised, acked int
	inc.Severity, inc.PeakDose = "", math.NaN()
	inc.FirstSeen, inc.LastSeen = time.Time{}, time.Time{}
	inc.AckedBy, inc.AckedAt, inc.ResolvedBy, inc.ResolvedAt, inc.Code = "", time.Time{}, "", time.Time{}, ""
	for i, a := range inc.Alarms {
		switch a.State {
		case rules.StateRaised:
			raised++
		case rules.StateAcknowledged:
			acked++
		}
		if rules.SeverityRank(a.Severity) > rules.SeverityRank(inc.Severity) {
			inc.Severity = a.Severity
		}
		if inc.FirstSeen.IsZero() || a.FirstSeen.Before(inc.FirstSeen) {
			inc.FirstSeen = a.FirstSeen
		}
		if a.LastSeen.After(inc.LastSeen) {
			inc.LastSeen = a.LastSeen
		}
		better := sample.Has(a.PeakDose) && (!sample.Has(inc.PeakDose) || a.PeakDose > inc.PeakDose)
		if i == 0 && !sample.Has(a.PeakDose) || better {
			inc.PeakDose, inc.PeakTime, inc.PeakLon, inc.PeakLat = a.PeakDose, a.PeakTime, a.PeakLon, a.PeakLat
			inc.PeakGPSValid, inc.PeakDeviceID = a.PeakGPSValid, a.DeviceID
		}
		if a.AckedAt.After(inc.AckedAt) {
			inc.AckedBy, inc.AckedAt = a.AckedBy, a.AckedAt
		}
		if a.ResolvedAt.After(inc.ResolvedAt) {
			inc.ResolvedBy, inc.ResolvedAt, inc.Code = a.ResolvedBy, a.ResolvedAt, a.Code
		}
	}
	switch {
	case raised > 0:
		inc.State = rules.StateRaised
	case acked > 0:
		inc.State = rules.StateAcknowledged
	default:
		inc.State = rules.StateResolved
	}
	if inc.State != rules.StateResolved {
		inc.ResolvedBy, inc.ResolvedAt, inc.Code = "", time.Time{}, ""
	}
	if inc.State == rules.StateRaised {
		inc.AckedBy, inc.AckedAt = "", time.Time{}
	}
}

// transition names the incident event an alarm event makes ("" = none).
// An incident pages (raised/realarm) when it is new, when an alarm inside
// re-alarms, or when it goes from acknowledged back to raised because of
// an alarm more severe than it was or from a vehicle not in it yet; a
// further rule of the same pass joining an acknowledged incident shows it
// unacknowledged without paging again.
func transition(before, after store.Incident, isNew bool, ev rules.Event) EventType {
	switch {
	case isNew:
		return EventRaised
	case before.State == rules.StateRaised && !before.RealarmedAt.IsZero() && before.RealarmedAt.Equal(ev.Time):
		// Several rules re-alarmed by the same sample page once.
		return EventUpdated
	case ev.Type == rules.EventRealarm:
		return EventRealarm
	case before.State != rules.StateRaised && after.State == rules.StateRaised:
		newDevice := !slices.ContainsFunc(before.Alarms, func(a rules.Episode) bool { return a.DeviceID == ev.Key.DeviceID })
		if before.State == rules.StateResolved || newDevice ||
			rules.SeverityRank(ev.Episode.Severity) > rules.SeverityRank(before.Severity) {
			return EventRealarm
		}
		return EventUpdated
	case before.State != after.State && after.State == rules.StateAcknowledged:
		return EventAcknowledged
	case before.State != after.State && after.State == rules.StateResolved:
		return EventResolved
	}
	return EventUpdated
}

// Errors of incident actions.
var (
	ErrNoActor         = errors.New("incidents: no alarm service")
	ErrNotAcknowledged = rules.ErrNotAcknowledged
)

func (s *Service) alarmActor() (AlarmActor, error) {
	s.actorMu.RLock()
	defer s.actorMu.RUnlock()
	if s.actor == nil {
		return nil, ErrNoActor
	}
	return s.actor, nil
}

// Incident returns one incident with its alarms.
func (s *Service) Incident(ctx context.Context, id int64) (store.Incident, error) {
	return s.store.Incident(ctx, id)
}

// Acknowledge acknowledges every raised alarm of an incident (each gets its
// own audit row) and returns the incident after it. An incident with no
// raised alarm answers rules.ErrAlreadyAcknowledged (or ErrAlreadyResolved).
func (s *Service) Acknowledge(ctx context.Context, id int64, user, comment string) (store.Incident, error) {
	actor, err := s.alarmActor()
	if err != nil {
		return store.Incident{}, err
	}
	inc, err := s.store.Incident(ctx, id)
	if err != nil {
		return inc, err
	}
	switch inc.State {
	case rules.StateResolved:
		return inc, rules.ErrAlreadyResolved
	case rules.StateAcknowledged:
		return inc, rules.ErrAlreadyAcknowledged
	}
	for _, a := range inc.Alarms {
		if a.State != rules.StateRaised {
			continue
		}
		if _, err := actor.Acknowledge(ctx, a.ID, user, comment); err != nil && !isRace(err) {
			return inc, fmt.Errorf("acknowledge alarm %d of incident %d: %w", a.ID, id, err)
		}
	}
	s.fileQueued(ctx) // the answer shows the incident after these events
	return s.store.Incident(ctx, id)
}

// Resolve closes every open alarm of an incident with one adjudication
// (each alarm gets its own audit rows). Without maySkipAck every alarm must
// be acknowledged first (ErrNotAcknowledged, nothing changed).
func (s *Service) Resolve(ctx context.Context, id int64, user string, code rules.Code, comment string, maySkipAck bool) (store.Incident, error) {
	actor, err := s.alarmActor()
	if err != nil {
		return store.Incident{}, err
	}
	if !code.Valid() {
		return store.Incident{}, fmt.Errorf("%w %q", rules.ErrUnknownCode, code)
	}
	inc, err := s.store.Incident(ctx, id)
	if err != nil {
		return inc, err
	}
	if inc.State == rules.StateResolved {
		return inc, rules.ErrAlreadyResolved
	}
	if inc.State == rules.StateRaised && !maySkipAck {
		return inc, ErrNotAcknowledged
	}
	for _, a := range inc.Alarms {
		if a.State == rules.StateResolved {
			continue
		}
		if _, err := actor.Resolve(ctx, a.ID, user, code, comment, maySkipAck); err != nil && !isRace(err) {
			return inc, fmt.Errorf("resolve alarm %d of incident %d: %w", a.ID, id, err)
		}
	}
	s.fileQueued(ctx)
	return s.store.Incident(ctx, id)
}

// isRace: someone else moved the alarm meanwhile the same way.
func isRace(err error) bool {
	return errors.Is(err, rules.ErrAlreadyAcknowledged) || errors.Is(err, rules.ErrAlreadyResolved)
}
