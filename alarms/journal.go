package alarms

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"sync/atomic"
	"time"

	"github.com/radtrack/radtrack/internal/deadletter"
	"github.com/radtrack/radtrack/internal/framelog"
	"github.com/radtrack/radtrack/rules"
	"github.com/radtrack/radtrack/store"
)

// Journal keeps, in order and on local disk, the alarm events the store
// could not take because the database was unreachable. An event is
// fsynced before the sample that caused it is acknowledged and before it
// is pushed to viewers, so an alarm shown during an outage survives a
// crash; the events are stored, oldest first, when the database answers.
//
// An alarm raised during an outage has no stored id yet: it gets a random
// negative provisional id, under which viewers see it, and the events
// that store it carry that id as Episode.ProvisionalID so that viewers
// swap it for the stored one.
//
// An event the database refuses for good (store.Permanent) never stops
// the drain: it is set aside in the dead-letter log beside the journal
// (DIR/deadletter), logged and counted, and the drain moves on.
type Journal struct {
	log  *framelog.Log
	dead *deadletter.Log

	journaled, replayed atomic.Uint64
}

// JournalStats are the journal's counters, for metrics.
type JournalStats struct {
	Bytes, DeadLetterBytes            int64
	Journaled, Replayed, DeadLettered uint64
}

// OpenJournal opens (creating if needed) the journal in dir and its
// dead-letter log in dir/deadletter, each bounded by maxBytes; events left
// by a previous run are stored by the Service that takes it, before it
// loads the open alarms.
func OpenJournal(dir string, maxBytes int64) (*Journal, error) {
	l, err := framelog.Open(dir, maxBytes)
	if err != nil {
		return nil, fmt.Errorf("alarm journal: %w", err)
	}
	dead, err := deadletter.Open(filepath.Join(dir, deadletter.DirName), maxBytes)
	if err != nil {
		l.Close()
		return nil, fmt.Errorf("alarm journal: %w", err)
	}
	return &Journal{log: l, dead: dead}, nil
}

// Stats reads the counters.
func (j *Journal) Stats() JournalStats {
	return JournalStats{Bytes: j.log.Bytes(), Journaled: j.journaled.Load(), Replayed: j.replayed.Load(),
		DeadLetterBytes: j.dead.Bytes(), DeadLettered: j.dead.Appended()}
}

// Close closes the journal; what it holds stays for the next start.
func (j *Journal) Close() error { return errors.Join(j.log.Close(), j.dead.Close()) }

// transient reports whether err means the database cannot take the event
// now (as opposed to refusing it): only then is an event journaled, or a
// drain stopped.
func (s *Service) transient(err error) bool { return s.classify(err) == store.Transient }

// journalEntry is one frame of the journal.
type journalEntry struct {
	Event rules.Event `json:"event"`
	// Updates, instead of an event, are coalesced episode updates of one
	// group commit the database could not take (one fsync for all).
	Updates []store.AlarmUpdate `json:"updates,omitempty"`
}

// retryStoreAfter is how long record journals without trying the
// database again after a failed drain; the background drain keeps trying.
const retryStoreAfter = time.Second

// newProvisionalID returns a random negative id: unique enough across the
// nodes of a cluster (52 random bits) and exact as a JavaScript number.
func newProvisionalID() int64 { return -1 - rand.Int64N(1<<52) }

// recordJournaled is record with a journal: events go to the store when
// it answers and nothing is waiting in the journal, to the journal
// otherwise, so the events of one alarm are stored in the order they
// happened.
func (s *Service) recordJournaled(ctx context.Context, ev rules.Event) error {
	if !s.journalPending.Load() {
		err := s.storeAndPublish(ctx, &ev)
		if err == nil || !s.transient(err) {
			return err
		}
		return s.journalEvent(ctx, ev, err)
	}
	s.journalMu.Lock()
	defer s.journalMu.Unlock()
	if s.journalPending.Load() {
		if time.Since(s.lastDrainFailure) < retryStoreAfter {
			return s.journalEventLocked(ctx, ev, nil)
		}
		if err := s.drainLocked(ctx); err != nil {
			return s.journalEventLocked(ctx, ev, err)
		}
	}
	err := s.storeAndPublish(ctx, &ev)
	if err == nil || !s.transient(err) {
		return err
	}
	return s.journalEventLocked(ctx, ev, err)
}

func (s *Service) journalEvent(ctx context.Context, ev rules.Event, cause error) error {
	s.journalMu.Lock()
	defer s.journalMu.Unlock()
	return s.journalEventLocked(ctx, ev, cause)
}

// journalEventLocked appends ev to the journal, giving a never-stored
// alarm a provisional id, then pushes it to viewers.
func (s *Service) journalEventLocked(ctx context.Context, ev rules.Event, cause error) error {
	if ev.AlarmID == 0 && ev.Episode.ProvisionalID != 0 {
		// storeEvent tried to store a provisional alarm as a raise: viewers
		// know it by that id already, it must not page them twice.
		ev.AlarmID, ev.Episode.ProvisionalID = ev.Episode.ProvisionalID, 0
	}
	ev.AlarmID = s.storedID(ev.AlarmID) // stored by an earlier drain: journal the real id
	fresh := ev.AlarmID == 0
	if fresh {
		// Never stored: viewers need an id to follow it by.
		ev.AlarmID = newProvisionalID()
		if ev.Type == rules.EventUpdated || ev.Type == rules.EventRealarm {
			// A raise whose storage failed before: viewers never saw it.
			ev.Type = rules.EventRaised
		}
	}
	ev.Episode.ID = ev.AlarmID
	payload, err := json.Marshal(journalEntry{Event: ev})
	if err != nil {
		return fmt.Errorf("encode alarm event for the journal: %w", err)
	}
	if err := s.journal.log.Append(payload); err != nil {
		// The engine keeps the episode without an id, so the retry of the
		// refused sample raises it again.
		return fmt.Errorf("database unavailable (%v) and the alarm journal refused the event: %w", cause, err)
	}
	if fresh {
		if err := s.engine.AssignID(ev.Key, ev.AlarmID); err != nil {
			s.log.Error("assign provisional alarm id", "alarm", ev.AlarmID, "err", err)
		}
	}
	s.journalPending.Store(true)
	s.journal.journaled.Add(1)
	s.setActive(ev.Key, ev.Episode.ConditionActive)
	if cause != nil {
		s.lastDrainFailure = time.Now()
		s.log.Warn("database unavailable: alarm event journaled", "alarm", ev.AlarmID, "type", ev.Type, "journal_bytes", s.journal.log.Bytes(), "err", cause)
	}
	if ev.Type == rules.EventRaised || ev.Type == rules.EventRealarm {
		s.logRaised(ev)
	}
	s.publish(ctx, ev)
	return nil
}

// DrainJournal stores what the journal holds, if anything; it returns the
// error that stopped it (the database is still away).
func (s *Service) DrainJournal(ctx context.Context) error {
	if s.journal == nil || !s.journalPending.Load() {
		return nil
	}
	s.journalMu.Lock()
	defer s.journalMu.Unlock()
	return s.drainLocked(ctx)
}

// RunJournal drains the journal every interval until ctx ends, so that
// journaled alarms are stored as soon as the database is back even if no
// new event comes.
func (s *Service) RunJournal(ctx context.Context, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if err := s.DrainJournal(ctx); err != nil && ctx.Err() == nil {
			s.log.Warn("alarm journal waits: database still unavailable", "journal_bytes", s.journal.log.Bytes(), "err", err)
		}
	}
}

func (s *Service) drainLocked(ctx context.Context) error {
	n, err := s.journal.log.Replay(ctx, s.storeJournaled)
	if n > 0 {
		s.log.Info("journaled alarm events stored", "events", n)
	}
	if err != nil {
		s.lastDrainFailure = time.Now()
		return err
	}
	s.journalPending.Store(false)
	return nil
}

// storeJournaled stores one journaled event. Only a database that cannot
// take it now (Transient) stops the drain; an event it refuses for good
// (Permanent), or an entry that cannot be read, is set aside in the
// dead-letter log — a retry would only repeat the refusal and hold back
// every later alarm. An error of unknown kind (a bug, a misconfiguration)
// also stops the drain: the events wait in the journal, still shown to
// viewers, until a person fixes the cause.
func (s *Service) storeJournaled(ctx context.Context, payload []byte) error {
	var entry journalEntry
	if err := json.Unmarshal(payload, &entry); err != nil {
		return s.setAside(deadletter.Record{Kind: deadletter.KindFrame, Reason: "unreadable alarm journal entry: " + err.Error(), Raw: payload})
	}
	if len(entry.Updates) > 0 {
		return s.storeJournaledUpdates(ctx, entry.Updates, payload)
	}
	ev := entry.Event
	provisionalID := min(ev.AlarmID, 0)
	err := s.storeEvent(ctx, &ev)
	if err != nil {
		if s.classify(err) != store.Permanent {
			return err
		}
		return s.setAside(deadletter.Record{
			Kind: deadletter.KindAlarmEvent, DeviceID: entry.Event.Key.DeviceID, Time: entry.Event.Time,
			AlarmID: entry.Event.AlarmID, Event: string(entry.Event.Type), Reason: err.Error(), Payload: payload,
		})
	}
	s.journal.replayed.Add(1)
	if provisionalID != 0 {
		// Viewers know this alarm by its provisional id: this event tells
		// them its stored one. It must not page them again.
		ev.Episode.ProvisionalID = provisionalID
		if ev.Type == rules.EventRaised || ev.Type == rules.EventRealarm {
			ev.Type = rules.EventUpdated // paged when journaled
		}
		s.publish(ctx, ev)
	}
	return nil
}

// journalUpdates keeps coalesced episode updates the database could not
// take (cause) in the journal: one append, one fsync, for a whole group
// commit. Only a database that is unreachable qualifies; the updates are
// not published again (viewers had them when they happened).
func (s *Service) journalUpdates(_ context.Context, ups []store.AlarmUpdate, cause error) error {
	if s.journal == nil || !s.transient(cause) {
		return cause
	}
	payload, err := json.Marshal(journalEntry{Updates: ups})
	if err != nil {
		return fmt.Errorf("encode alarm updates for the journal: %w", err)
	}
	s.journalMu.Lock()
	defer s.journalMu.Unlock()
	if err := s.journal.log.Append(payload); err != nil {
		return fmt.Errorf("database unavailable (%v) and the alarm journal refused %d alarm updates: %w", cause, len(ups), err)
	}
	s.journalPending.Store(true)
	s.journal.journaled.Add(1)
	s.lastDrainFailure = time.Now()
	s.log.Warn("database unavailable: alarm updates journaled", "episodes", len(ups), "journal_bytes", s.journal.log.Bytes(), "err", cause)
	return nil
}

// storeJournaledUpdates stores one journaled batch of coalesced updates
// (they commute with every other event, so order does not matter) and
// takes their sample counts as stored, so that a later journaled event of
// the same episode adds only what came after.
func (s *Service) storeJournaledUpdates(ctx context.Context, ups []store.AlarmUpdate, payload []byte) error {
	b, ok := s.store.(store.AlarmBatcher)
	if !ok {
		return errors.New("journaled alarm updates need a store that is a store.AlarmBatcher")
	}
	err := b.UpdateAlarms(ctx, ups)
	if err != nil {
		if s.classify(err) != store.Permanent {
			return err
		}
		return s.setAside(deadletter.Record{Kind: deadletter.KindAlarmEvent, AlarmID: ups[0].ID,
			Event: "updates", Reason: err.Error(), Payload: payload})
	}
	s.countMu.Lock()
	for _, u := range ups {
		if n, open := s.counted[u.Key]; open && n < u.Samples {
			s.counted[u.Key] = u.Samples
		}
	}
	s.countMu.Unlock()
	s.journal.replayed.Add(1)
	return nil
}

// setAside appends rec to the journal's dead-letter log; if that fails
// (full), the drain stops there and keeps the event.
func (s *Service) setAside(rec deadletter.Record) error {
	rec.SetAside = time.Now().UTC()
	if err := s.journal.dead.Append([]deadletter.Record{rec}); err != nil {
		s.log.Error("alarm journal: cannot set aside an event the database refuses; the drain waits", "alarm", rec.AlarmID, "err", err)
		return fmt.Errorf("set aside a refused alarm event: %w", err)
	}
	s.log.Error("alarm event refused by the database for good: set aside in the dead-letter log",
		"alarm", rec.AlarmID, "type", rec.Event, "device", rec.DeviceID, "time", rec.Time, "kind", rec.Kind,
		"reason", rec.Reason, "dir", s.journal.dead.Dir())
	return nil
}

// storedID translates a provisional id whose alarm is stored by now.
func (s *Service) storedID(id int64) int64 {
	if id >= 0 {
		return id
	}
	if stored, ok := s.lookupStoredID(id); ok {
		return stored
	}
	return id
}

func (s *Service) lookupStoredID(provisional int64) (int64, bool) {
	s.provisionalMu.Lock()
	defer s.provisionalMu.Unlock()
	id, ok := s.provisional[provisional]
	return id, ok
}

func (s *Service) rememberStoredID(provisional, stored int64) {
	s.provisionalMu.Lock()
	s.provisional[provisional] = stored
	s.provisionalMu.Unlock()
}

// forgetProvisional drops the translations to a resolved alarm.
func (s *Service) forgetProvisional(stored int64) {
	s.provisionalMu.Lock()
	defer s.provisionalMu.Unlock()
	for p, id := range s.provisional {
		if id == stored {
			delete(s.provisional, p)
		}
	}
}

// Provisional returns the open live episodes that are not stored yet (the
// database was unreachable when they were raised), for snapshots.
func (s *Service) Provisional() []rules.Episode {
	var out []rules.Episode
	for _, ep := range s.OpenLive() {
		if ep.ID < 0 {
			out = append(out, ep)
		}
	}
	return out
}

// OpenLive returns the open live episodes this node's engine holds.
func (s *Service) OpenLive() []rules.Episode {
	var out []rules.Episode
	for _, ep := range s.engine.OpenEpisodes() {
		if !ep.Imported {
			out = append(out, ep)
		}
	}
	return out
}
