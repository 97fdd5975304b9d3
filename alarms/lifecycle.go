package alarms

import (
	"context"
	"errors"

	"github.com/radtrack/radtrack/rules"
	"github.com/radtrack/radtrack/store"
)

// ErrNotStoredYet means the alarm is known only by its provisional id: it
// was raised while the database was unreachable and is not stored yet, so
// people cannot act on it until it is.
var ErrNotStoredYet = errors.New("alarm not stored yet: the database is unreachable")

// Acknowledge records that user took charge of an alarm. The stored row is
// the authority (another node may have raised it); the engine's in-memory
// copy follows.
func (s *Service) Acknowledge(ctx context.Context, alarmID int64, user, comment string) (rules.Episode, error) {
	alarmID = s.storedID(alarmID) // a viewer may still know it by its provisional id
	if alarmID < 0 {
		return rules.Episode{}, ErrNotStoredYet
	}
	ep, err := s.store.Alarm(ctx, alarmID)
	if err != nil {
		return ep, err
	}
	from := ep.State
	ev, err := ep.Acknowledge(user, comment, s.now().UTC())
	if err != nil {
		return ep, err
	}
	ev.AlarmID = alarmID
	if err := s.store.TransitionAlarm(ctx, ep, from, []rules.Event{ev}); err != nil {
		return ep, err
	}
	if _, err := s.engine.Acknowledge(ep.Key, user, comment, ev.Time); err != nil && !errors.Is(err, rules.ErrNoOpenAlarm) && !errors.Is(err, rules.ErrAlreadyAcknowledged) {
		s.log.Error("sync acknowledgement into the engine", "alarm", alarmID, "err", err)
	}
	s.publish(ctx, ev)
	return ep, nil
}

// Resolve closes an alarm with an adjudication code. maySkipAck lets a
// user whose role allows it close an alarm nobody acknowledged (recorded as
// an implicit acknowledgement).
func (s *Service) Resolve(ctx context.Context, alarmID int64, user string, code rules.Code, comment string, maySkipAck bool) (rules.Episode, error) {
	alarmID = s.storedID(alarmID)
	if alarmID < 0 {
		return rules.Episode{}, ErrNotStoredYet
	}
	ep, err := s.store.Alarm(ctx, alarmID)
	if err != nil {
		return ep, err
	}
	from := ep.State
	res := rules.Resolution{User: user, Time: s.now().UTC(), Code: code, Comment: comment, MaySkipAck: maySkipAck}
	events, err := ep.Resolve(res)
	if err != nil {
		return ep, err
	}
	for i := range events {
		events[i].AlarmID = alarmID
	}
	if err := s.store.TransitionAlarm(ctx, ep, from, events); err != nil {
		return ep, err
	}
	// The engine must drop the episode whatever its own copy's state (an
	// acknowledgement made on another node), or the key would stay taken
	// and the next alarm of this device and rule would never be raised.
	res.MaySkipAck = true
	if _, err := s.engine.Resolve(ep.Key, res); err != nil && !errors.Is(err, rules.ErrNoOpenAlarm) {
		s.log.Error("sync resolution into the engine", "alarm", alarmID, "err", err)
	}
	s.forgetCounted(ep.Key)
	s.forgetProvisional(alarmID)
	for _, ev := range events {
		s.publish(ctx, ev)
	}
	return ep, nil
}

// IsConflict reports whether err means the alarm changed state meanwhile
// or the requested move is not allowed from its current state.
func IsConflict(err error) bool {
	return errors.Is(err, store.ErrConflict) || errors.Is(err, rules.ErrAlreadyAcknowledged) ||
		errors.Is(err, rules.ErrAlreadyResolved) || errors.Is(err, rules.ErrNotAcknowledged)
}

// ForgetResolved applies a resolution made elsewhere (another node) to this
// node's engine. Resolutions made here arrive too and change nothing.
func (s *Service) ForgetResolved(ep rules.Episode) {
	res := rules.Resolution{User: ep.ResolvedBy, Time: ep.ResolvedAt, Code: ep.Code, Comment: ep.ResolveComment, MaySkipAck: true}
	if res.User == "" {
		res.User = "peer"
	}
	if res.Time.IsZero() {
		res.Time = s.now().UTC()
	}
	if !res.Code.Valid() {
		res.Code = rules.CodeFalseAlarm
	}
	if _, err := s.engine.Resolve(ep.Key, res); err != nil && !errors.Is(err, rules.ErrNoOpenAlarm) {
		s.log.Error("apply a peer's resolution", "alarm", ep.ID, "err", err)
	}
	s.forgetCounted(ep.Key)
	s.forgetProvisional(ep.ID)
}

// storeAudit stores the audit row of an engine event whose progress is
// stored already: the condition's end, or a re-alarm, which also puts the
// stored alarm back to raised. A re-alarm of an alarm someone resolved
// meanwhile (on another node) is raised as a new alarm: new danger is
// never hidden by a closed one.
func (s *Service) storeAudit(ctx context.Context, ev *rules.Event) error {
	switch ev.Type {
	case rules.EventConditionEnded:
		return s.store.AppendAlarmEvent(ctx, ev.AlarmID, *ev)
	case rules.EventRealarm:
		err := s.store.RealarmAlarm(ctx, ev.AlarmID, *ev)
		if !errors.Is(err, store.ErrConflict) {
			return err
		}
		old := ev.AlarmID
		ep := ev.Episode
		ep.ID, ep.State = 0, rules.StateRaised
		id, created, err := s.store.RaiseAlarm(ctx, ep, rules.Event{
			Type: rules.EventRaised, Key: ev.Key, Time: ev.Time, Imported: ev.Imported, Reason: ev.Reason, Episode: ep,
		})
		if err != nil {
			return err
		}
		if err := s.engine.ReplaceID(ev.Key, old, id); err != nil {
			s.log.Debug("re-raised alarm no longer open in the engine", "alarm", id, "err", err)
		}
		s.setCounted(ev.Key, ep.Samples)
		ev.AlarmID, ev.Episode.ID = id, id
		if created {
			ev.Type = rules.EventRaised
			return nil
		}
		// Another node raised the key again meanwhile: page on that one.
		return s.store.RealarmAlarm(ctx, id, *ev)
	}
	return nil
}
