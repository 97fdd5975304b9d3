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

	mu     sync.Mutex      // one grouping decision at a time on this node
	member map[int64]int64 // alarm id → incident id, for open alarms

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
	return &Service{store: st, cfg: cfg, log: log, member: map[int64]int64{}}
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
	s.mu.Lock()
	defer s.mu.Unlock()
	id, known := s.member[ev.AlarmID]
	if known && ev.Type == rules.EventUpdated && !ev.NewPeak {
		return nil // nothing in the summary moves
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
	before := inc
	s.member[ev.AlarmID] = inc.ID
	if ev.Type == rules.EventResolved {
		delete(s.member, ev.AlarmID)
	}
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
	s.member[ev.AlarmID] = newID
	if ev.Type == rules.EventResolved {
		delete(s.member, ev.AlarmID)
	}
	if typ != "" {
		s.emit(ctx, Event{Type: typ, Incident: inc, Time: ev.Time, Cause: ev})
	}
	return nil
}

// place finds the incident an alarm not yet in one joins, or starts one.
func (s *Service) place(ctx context.Context, ep rules.Episode) (store.Incident, bool, error) {
	imported := ep.Imported
	open, err := s.store.ListIncidents(ctx, store.IncidentFilter{
		States: []rules.State{rules.StateRaised, rules.StateAcknowledged}, Imported: &imported,
		Since: ep.FirstSeen.Add(-s.cfg.Window),
	})
	if err != nil {
		return store.Incident{}, false, err
	}
	for _, inc := range open {
		if s.cfg.Joins(inc, ep) {
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
	return s.store.Incident(ctx, id)
}

// isRace: someone else moved the alarm meanwhile the same way.
func isRace(err error) bool {
	return errors.Is(err, rules.ErrAlreadyAcknowledged) || errors.Is(err, rules.ErrAlreadyResolved)
}
