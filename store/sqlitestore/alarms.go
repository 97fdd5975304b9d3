package sqlitestore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/radtrack/radtrack/rules"
	"github.com/radtrack/radtrack/store"
)

const alarmColumns = `id, device_id, rule_id, fence_id, imported, rule_name, kind, severity, state,
	first_seen, last_seen, samples, condition_active, condition_ended_at,
	peak_dose, peak_time, peak_lon, peak_lat, peak_gps_valid, significance,
	acked_by, acked_at, ack_comment, implicit_ack, resolved_by, resolved_at, code, resolve_comment`

func scanAlarm(row scanner) (rules.Episode, error) {
	var (
		e                           rules.Episode
		first, last, peakTime       int64
		ended, ackedAt, resolvedAt  sql.NullInt64
		peak                        sql.NullFloat64
		kind, severity, state, code string
	)
	err := row.Scan(&e.ID, &e.DeviceID, &e.RuleID, &e.FenceID, &e.Imported, &e.RuleName, &kind, &severity, &state,
		&first, &last, &e.Samples, &e.ConditionActive, &ended,
		&peak, &peakTime, &e.PeakLon, &e.PeakLat, &e.PeakGPSValid, &e.Significance,
		&e.AckedBy, &ackedAt, &e.AckComment, &e.ImplicitAck, &e.ResolvedBy, &resolvedAt, &code, &e.ResolveComment)
	if err != nil {
		return e, err
	}
	e.Kind, e.Severity, e.State, e.Code = rules.Kind(kind), rules.Severity(severity), rules.State(state), rules.Code(code)
	e.FirstSeen, e.LastSeen, e.PeakTime = fromMicros(first), fromMicros(last), fromMicros(peakTime)
	e.PeakDose = orNaN(peak)
	e.ConditionEndedAt, e.AckedAt, e.ResolvedAt = timeOrZero(ended), timeOrZero(ackedAt), timeOrZero(resolvedAt)
	return e, nil
}

// RaiseAlarm inserts a raised episode, or merges it into the unresolved
// episode of the same key (raised meanwhile by another node sharing the
// database). The IMMEDIATE transaction holds the write lock from the
// look-up to the write, so the look-up cannot go stale.
func (s *Store) RaiseAlarm(ctx context.Context, ep rules.Episode, ev rules.Event) (int64, bool, error) {
	var (
		id      int64
		created bool
	)
	what := fmt.Sprintf("raise alarm for device %d rule %d", ep.DeviceID, ep.RuleID)
	err := s.writeTx(ctx, what, func(tx *sql.Tx) error {
		err := tx.QueryRowContext(ctx, `SELECT id FROM alarms
			WHERE device_id = ? AND rule_id = ? AND fence_id = ? AND imported = ? AND state <> 'resolved'`,
			ep.DeviceID, ep.RuleID, ep.FenceID, ep.Imported).Scan(&id)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			created = true
			if id, err = insertAlarm(ctx, tx, ep); err != nil {
				return fmt.Errorf("%s: %w", what, err)
			}
			return appendEvent(ctx, tx, id, ev)
		case err != nil:
			return fmt.Errorf("%s: %w", what, err)
		}
		if err := mergeAlarm(ctx, tx, id, ep); err != nil {
			return fmt.Errorf("%s: merge into alarm %d: %w", what, id, err)
		}
		return nil
	})
	if err != nil {
		return 0, false, err
	}
	return id, created, nil
}

func insertAlarm(ctx context.Context, tx *sql.Tx, ep rules.Episode) (int64, error) {
	now := micros(time.Now())
	var id int64
	err := tx.QueryRowContext(ctx, `INSERT INTO alarms (device_id, rule_id, fence_id, imported, rule_name, kind, severity, state,
			first_seen, last_seen, samples, condition_active, condition_ended_at,
			peak_dose, peak_time, peak_lon, peak_lat, peak_gps_valid, significance, created_at, updated_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, 'raised', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
		ep.DeviceID, ep.RuleID, ep.FenceID, ep.Imported, ep.RuleName, string(ep.Kind), string(ep.Severity),
		micros(ep.FirstSeen), micros(ep.LastSeen), ep.Samples, ep.ConditionActive, nullMicros(ep.ConditionEndedAt),
		opt(ep.PeakDose), micros(ep.PeakTime), ep.PeakLon, ep.PeakLat, ep.PeakGPSValid, finiteOr0(ep.Significance),
		now, now).Scan(&id)
	return id, err
}

// peakSet moves the whole peak (dose, time, position, fix) to the candidate
// given as ?4..?8 when its dose is higher, or when the stored peak has none.
const peakSet = `
	peak_time = CASE WHEN peak_dose IS NULL OR ?4 > peak_dose THEN ?5 ELSE peak_time END,
	peak_lon = CASE WHEN peak_dose IS NULL OR ?4 > peak_dose THEN ?6 ELSE peak_lon END,
	peak_lat = CASE WHEN peak_dose IS NULL OR ?4 > peak_dose THEN ?7 ELSE peak_lat END,
	peak_gps_valid = CASE WHEN peak_dose IS NULL OR ?4 > peak_dose THEN ?8 ELSE peak_gps_valid END,
	peak_dose = CASE WHEN peak_dose IS NULL OR ?4 > peak_dose THEN ?4 ELSE peak_dose END`

// mergeAlarm folds another node's episode of the same key into the stored
// one: the condition is active again, samples add up, the peak only grows.
func mergeAlarm(ctx context.Context, tx *sql.Tx, id int64, ep rules.Episode) error {
	_, err := tx.ExecContext(ctx, `UPDATE alarms SET
			last_seen = max(last_seen, ?2), samples = samples + ?3,
			condition_active = 1, condition_ended_at = NULL,`+peakSet+`,
			significance = max(significance, ?9), updated_at = ?10
		WHERE id = ?1`,
		id, micros(ep.LastSeen), ep.Samples,
		opt(ep.PeakDose), micros(ep.PeakTime), ep.PeakLon, ep.PeakLat, ep.PeakGPSValid,
		finiteOr0(ep.Significance), micros(time.Now()))
	return err
}

// UpdateAlarm records an open episode's progress. Peaks only grow, so a
// node that merged into another's episode never lowers it. A resolved or
// unknown alarm is left alone without error, as in pgstore.
func (s *Store) UpdateAlarm(ctx context.Context, ep rules.Episode, addSamples int) error {
	_, err := s.w.ExecContext(ctx, `UPDATE alarms SET
			last_seen = max(last_seen, ?2), samples = samples + ?3,
			condition_active = ?10, condition_ended_at = ?11,`+peakSet+`,
			significance = max(significance, ?9), updated_at = ?12
		WHERE id = ?1 AND state <> 'resolved'`,
		ep.ID, micros(ep.LastSeen), addSamples,
		opt(ep.PeakDose), micros(ep.PeakTime), ep.PeakLon, ep.PeakLat, ep.PeakGPSValid,
		finiteOr0(ep.Significance), ep.ConditionActive, nullMicros(ep.ConditionEndedAt), micros(time.Now()))
	if err != nil {
		return fmt.Errorf("update alarm %d: %w", ep.ID, err)
	}
	return nil
}

// TransitionAlarm stores an acknowledgement or resolution made by a person,
// only if the alarm is still in state from.
func (s *Store) TransitionAlarm(ctx context.Context, ep rules.Episode, from rules.State, events []rules.Event) error {
	return s.writeTx(ctx, fmt.Sprintf("transition alarm %d", ep.ID), func(tx *sql.Tx) error {
		err := rowsAffected(tx.ExecContext(ctx, `UPDATE alarms SET state = ?,
				acked_by = ?, acked_at = ?, ack_comment = ?, implicit_ack = ?,
				resolved_by = ?, resolved_at = ?, code = ?, resolve_comment = ?, updated_at = ?
			WHERE id = ? AND state = ?`,
			string(ep.State), ep.AckedBy, nullMicros(ep.AckedAt), ep.AckComment, ep.ImplicitAck,
			ep.ResolvedBy, nullMicros(ep.ResolvedAt), string(ep.Code), ep.ResolveComment, micros(time.Now()),
			ep.ID, string(from)))
		if errors.Is(err, store.ErrNotFound) {
			return fmt.Errorf("alarm %d is no longer %s: %w", ep.ID, from, store.ErrConflict)
		}
		if err != nil {
			return fmt.Errorf("transition alarm %d: %w", ep.ID, err)
		}
		for _, ev := range events {
			if err := appendEvent(ctx, tx, ep.ID, ev); err != nil {
				return err
			}
		}
		return nil
	})
}

// AppendAlarmEvent adds a row to an alarm's audit trail.
func (s *Store) AppendAlarmEvent(ctx context.Context, alarmID int64, ev rules.Event) error {
	return appendEvent(ctx, s.w, alarmID, ev)
}

// execer is what *sql.DB and *sql.Tx share for writing.
type execer interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
}

func appendEvent(ctx context.Context, q execer, alarmID int64, ev rules.Event) error {
	ev.AlarmID, ev.Episode.ID = alarmID, alarmID
	snap, err := json.Marshal(ev.Episode)
	if err != nil {
		return fmt.Errorf("encode alarm %d snapshot: %w", alarmID, err)
	}
	if _, err := q.ExecContext(ctx, `INSERT INTO alarm_events (alarm_id, type, time, username, comment, code, snapshot, created_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?)`, alarmID, string(ev.Type), micros(ev.Time), ev.User, ev.Comment, string(ev.Code),
		string(snap), micros(time.Now())); err != nil {
		return fmt.Errorf("append %s event of alarm %d: %w", ev.Type, alarmID, err)
	}
	return nil
}

// Alarm returns one alarm.
func (s *Store) Alarm(ctx context.Context, id int64) (rules.Episode, error) {
	e, err := scanAlarm(s.r.QueryRowContext(ctx, `SELECT `+alarmColumns+` FROM alarms WHERE id = ?`, id))
	if err != nil {
		return e, fmt.Errorf("alarm %d: %w", id, notFound(err))
	}
	return e, nil
}

// maxAlarms caps a listing that sets no limit.
const maxAlarms = 1000

// ListAlarms returns alarms matching f: unresolved first, then by severity
// (critical first), then newest first.
func (s *Store) ListAlarms(ctx context.Context, f store.AlarmFilter) ([]rules.Episode, error) {
	limit := f.Limit
	if limit <= 0 || limit > maxAlarms {
		limit = maxAlarms
	}
	q, args := alarmQuery(f, `(state = 'resolved'),
		CASE severity WHEN 'critical' THEN 0 WHEN 'alarm' THEN 1 WHEN 'warning' THEN 2 WHEN 'notice' THEN 3 ELSE 4 END,
		first_seen DESC, id DESC`, limit)
	out, err := queryAll(ctx, s.r, scanAlarm, q, args...)
	if err != nil {
		return nil, fmt.Errorf("list alarms: %w", err)
	}
	return out, nil
}

// AlarmEvents returns an alarm's audit trail, oldest first.
func (s *Store) AlarmEvents(ctx context.Context, alarmID int64) ([]store.AlarmEvent, error) {
	out, err := queryAll(ctx, s.r, func(row scanner) (store.AlarmEvent, error) {
		var (
			e    store.AlarmEvent
			t    int64
			snap string
		)
		err := row.Scan(&e.ID, &e.AlarmID, &e.Type, &t, &e.User, &e.Comment, &e.Code, &snap)
		e.Time, e.Snapshot = fromMicros(t), json.RawMessage(snap)
		return e, err
	}, `SELECT id, alarm_id, type, time, username, comment, code, snapshot
		FROM alarm_events WHERE alarm_id = ? ORDER BY id`, alarmID)
	if err != nil {
		return nil, fmt.Errorf("events of alarm %d: %w", alarmID, err)
	}
	return out, nil
}

// UpdateAlarms applies coalesced episode updates in one transaction.
func (s *Store) UpdateAlarms(ctx context.Context, updates []store.AlarmUpdate) error {
	if len(updates) == 0 {
		return nil
	}
	return s.writeTx(ctx, fmt.Sprintf("update %d alarms", len(updates)), func(tx *sql.Tx) error {
		return updateAlarms(ctx, tx, updates)
	})
}

// updateAlarms writes only the fields that grow: the condition and the
// state belong to immediate events. It records the updates' batch id and
// updates nothing if it was recorded before (a replay of a commit that did
// happen), and prunes the ids older than store.BatchPruneAfter.
func updateAlarms(ctx context.Context, tx *sql.Tx, updates []store.AlarmUpdate) error {
	now := micros(time.Now())
	if _, err := tx.ExecContext(ctx, `DELETE FROM alarm_update_batches WHERE stored_at < ?`,
		now-store.BatchPruneAfter.Microseconds()); err != nil {
		return fmt.Errorf("prune alarm update batches: %w", err)
	}
	if batch := updates[0].Batch; batch != 0 {
		res, err := tx.ExecContext(ctx, `INSERT INTO alarm_update_batches (id, stored_at) VALUES (?, ?) ON CONFLICT (id) DO NOTHING`, batch, now)
		if err != nil {
			return fmt.Errorf("record alarm update batch: %w", err)
		}
		if n, err := res.RowsAffected(); err != nil || n == 0 {
			return err // stored before: nothing to apply
		}
	}
	stmt, err := tx.PrepareContext(ctx, `UPDATE alarms SET
			last_seen = max(last_seen, ?2), samples = samples + ?3,`+peakSet+`,
			significance = max(significance, ?9), updated_at = ?10
		WHERE id = ?1 AND state <> 'resolved'`)
	if err != nil {
		return fmt.Errorf("prepare alarm update: %w", err)
	}
	defer stmt.Close()
	for _, u := range updates {
		if _, err := stmt.ExecContext(ctx, u.ID, micros(u.LastSeen), u.AddSamples,
			opt(u.PeakDose), micros(u.PeakTime), u.PeakLon, u.PeakLat, u.PeakGPSValid,
			finiteOr0(u.Significance), now); err != nil {
			return fmt.Errorf("update alarm %d: %w", u.ID, err)
		}
	}
	return nil
}
