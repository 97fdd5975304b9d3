package pgstore

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/radtrack/radtrack/rules"
	"github.com/radtrack/radtrack/store"
)

// ---- fences ----

const fenceColumns = `id, name, kind, feature, created_at, updated_at, site_id`

func scanFence(row pgx.Row) (store.Fence, error) {
	var f store.Fence
	err := row.Scan(&f.ID, &f.Name, &f.Kind, &f.Feature, &f.CreatedAt, &f.UpdatedAt, &f.SiteID)
	return f, err
}

// ListFences returns every fence, oldest first.
func (s *Store) ListFences(ctx context.Context) ([]store.Fence, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+fenceColumns+` FROM fences ORDER BY id`)
	if err != nil {
		return nil, fmt.Errorf("list fences: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (store.Fence, error) { return scanFence(r) })
	if err != nil {
		return nil, fmt.Errorf("list fences: %w", err)
	}
	return out, nil
}

// Fence returns one fence.
func (s *Store) Fence(ctx context.Context, id int64) (store.Fence, error) {
	f, err := scanFence(s.pool.QueryRow(ctx, `SELECT `+fenceColumns+` FROM fences WHERE id = $1`, id))
	if err != nil {
		return f, fmt.Errorf("fence %d: %w", id, notFound(err))
	}
	return f, nil
}

// CreateFence stores a new fence.
func (s *Store) CreateFence(ctx context.Context, f store.Fence) (store.Fence, error) {
	created, err := scanFence(s.pool.QueryRow(ctx, `INSERT INTO fences (name, kind, feature, site_id) VALUES ($1, $2, $3, $4) RETURNING `+fenceColumns,
		f.Name, f.Kind, f.Feature, siteOrRoot(f.SiteID)))
	if err != nil {
		return created, fmt.Errorf("create fence %q: %w", f.Name, err)
	}
	return created, nil
}

// UpdateFence replaces a fence's name, kind and geometry.
func (s *Store) UpdateFence(ctx context.Context, f store.Fence) (store.Fence, error) {
	updated, err := scanFence(s.pool.QueryRow(ctx, `UPDATE fences SET name = $2, kind = $3, feature = $4, updated_at = now()
		WHERE id = $1 RETURNING `+fenceColumns, f.ID, f.Name, f.Kind, f.Feature))
	if err != nil {
		return updated, fmt.Errorf("update fence %d: %w", f.ID, notFound(err))
	}
	return updated, nil
}

// DeleteFence removes a fence. Alarms that name it keep its id.
func (s *Store) DeleteFence(ctx context.Context, id int64) error {
	tag, err := s.pool.Exec(ctx, `DELETE FROM fences WHERE id = $1`, id)
	if err != nil {
		return fmt.Errorf("delete fence %d: %w", id, err)
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("delete fence %d: %w", id, store.ErrNotFound)
	}
	return nil
}

// ---- rules ----

func scanRule(row pgx.Row) (rules.Rule, error) {
	var (
		id  int64
		def []byte
		r   rules.Rule
	)
	if err := row.Scan(&id, &def); err != nil {
		return r, err
	}
	if err := json.Unmarshal(def, &r); err != nil {
		return r, fmt.Errorf("decode rule %d: %w", id, err)
	}
	r.ID = id
	return r, nil
}

// SeedRules stores the default rules on an installation's first start.
func (s *Store) SeedRules(ctx context.Context, defaults []rules.Rule) (bool, error) {
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		return false, fmt.Errorf("seed rules: %w", err)
	}
	defer tx.Rollback(ctx) //nolint:errcheck // no-op after commit
	tag, err := tx.Exec(ctx, `INSERT INTO settings (key, value) VALUES ('rules_seeded', 'true') ON CONFLICT DO NOTHING`)
	if err != nil {
		return false, fmt.Errorf("seed rules: %w", err)
	}
	if tag.RowsAffected() == 0 {
		return false, nil
	}
	for _, r := range defaults {
		r.ID = 0
		def, err := json.Marshal(r)
		if err != nil {
			return false, fmt.Errorf("encode rule %q: %w", r.Name, err)
		}
		if _, err := tx.Exec(ctx, `INSERT INTO rules (definition) VALUES ($1)`, def); err != nil {
			return false, fmt.Errorf("seed rule %q: %w", r.Name, err)
		}
	}
	if err := tx.Commit(ctx); err != nil {
		return false, fmt.Errorf("seed rules: %w", err)
	}
	return true, nil
}

// ListRules returns every rule, in id order.
func (s *Store) ListRules(ctx context.Context) ([]rules.Rule, error) {
	rows, err := s.pool.Query(ctx, `SELECT id, definition FROM rules ORDER BY id`)
	if err != nil {
		return nil, fmt.Errorf("list rules: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (rules.Rule, error) { return scanRule(r) })
	if err != nil {
		return nil, fmt.Errorf("list rules: %w", err)
	}
	return out, nil
}

// CreateRule stores a new rule; its id is assigned here.
func (s *Store) CreateRule(ctx context.Context, r rules.Rule) (rules.Rule, error) {
	r.ID = 0
	def, err := json.Marshal(r)
	if err != nil {
		return r, fmt.Errorf("encode rule: %w", err)
	}
	created, err := scanRule(s.pool.QueryRow(ctx, `INSERT INTO rules (definition, site_id) VALUES ($1, $2) RETURNING id, definition`, def, siteOrRoot(r.SiteID)))
	if err != nil {
		return created, fmt.Errorf("create rule %q: %w", r.Name, err)
	}
	return created, nil
}

// UpdateRule replaces a rule's definition.
func (s *Store) UpdateRule(ctx context.Context, r rules.Rule) (rules.Rule, error) {
	def, err := json.Marshal(r)
	if err != nil {
		return r, fmt.Errorf("encode rule: %w", err)
	}
	updated, err := scanRule(s.pool.QueryRow(ctx, `UPDATE rules SET definition = $2, site_id = $3, updated_at = now() WHERE id = $1 RETURNING id, definition`, r.ID, def, siteOrRoot(r.SiteID)))
	if err != nil {
		return updated, fmt.Errorf("update rule %d: %w", r.ID, notFound(err))
	}
	return updated, nil
}

// DeleteRule removes a rule. Its alarms stay, with its name.
func (s *Store) DeleteRule(ctx context.Context, id int64) error {
	tag, err := s.pool.Exec(ctx, `DELETE FROM rules WHERE id = $1`, id)
	if err != nil {
		return fmt.Errorf("delete rule %d: %w", id, err)
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("delete rule %d: %w", id, store.ErrNotFound)
	}
	return nil
}

// ConfigVersion reads the counter the fence and rule triggers move.
func (s *Store) ConfigVersion(ctx context.Context) (int64, error) {
	var v int64
	if err := s.pool.QueryRow(ctx, `SELECT version FROM config_version`).Scan(&v); err != nil {
		return 0, fmt.Errorf("read config version: %w", err)
	}
	return v, nil
}

// ---- alarms ----

const alarmColumns = `id, device_id, rule_id, fence_id, imported, rule_name, kind, severity, state,
	first_seen, last_seen, samples, condition_active, condition_ended_at,
	peak_dose, peak_time, peak_lon, peak_lat, peak_gps_valid, significance,
	acked_by, acked_at, ack_comment, implicit_ack, resolved_by, resolved_at, code, resolve_comment`

func scanAlarm(row pgx.Row) (rules.Episode, error) {
	var (
		e                           rules.Episode
		ended, ackedAt, resolvedAt  *time.Time
		peak                        *float64
		kind, severity, state, code string
	)
	err := row.Scan(&e.ID, &e.DeviceID, &e.RuleID, &e.FenceID, &e.Imported, &e.RuleName, &kind, &severity, &state,
		&e.FirstSeen, &e.LastSeen, &e.Samples, &e.ConditionActive, &ended,
		&peak, &e.PeakTime, &e.PeakLon, &e.PeakLat, &e.PeakGPSValid, &e.Significance,
		&e.AckedBy, &ackedAt, &e.AckComment, &e.ImplicitAck, &e.ResolvedBy, &resolvedAt, &code, &e.ResolveComment)
	if err != nil {
		return e, err
	}
	e.Kind, e.Severity, e.State, e.Code = rules.Kind(kind), rules.Severity(severity), rules.State(state), rules.Code(code)
	e.PeakDose = orNaN(peak)
	e.ConditionEndedAt, e.AckedAt, e.ResolvedAt = utcOrZero(ended), utcOrZero(ackedAt), utcOrZero(resolvedAt)
	e.FirstSeen, e.LastSeen, e.PeakTime = e.FirstSeen.UTC(), e.LastSeen.UTC(), e.PeakTime.UTC()
	return e, nil
}

func utcOrZero(t *time.Time) time.Time {
	if t == nil {
		return time.Time{}
	}
	return t.UTC()
}

func nullTime(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t
}

// RaiseAlarm inserts a raised episode, or merges it into the unresolved
// episode of the same key.
func (s *Store) RaiseAlarm(ctx context.Context, ep rules.Episode, ev rules.Event) (int64, bool, error) {
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		return 0, false, fmt.Errorf("raise alarm: %w", err)
	}
	defer tx.Rollback(ctx) //nolint:errcheck // no-op after commit
	var (
		id      int64
		created bool
	)
	err = tx.QueryRow(ctx, `INSERT INTO alarms (device_id, rule_id, fence_id, imported, rule_name, kind, severity, state,
			first_seen, last_seen, samples, condition_active, condition_ended_at,
			peak_dose, peak_time, peak_lon, peak_lat, peak_gps_valid, significance)
		VALUES ($1, $2, $3, $4, $5, $6, $7, 'raised', $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18)
		ON CONFLICT (device_id, rule_id, fence_id, imported) WHERE state <> 'resolved' DO UPDATE SET
			last_seen = GREATEST(alarms.last_seen, excluded.last_seen),
			samples = alarms.samples + excluded.samples,
			condition_active = true, condition_ended_at = NULL,
			peak_dose = CASE WHEN alarms.peak_dose IS NULL OR excluded.peak_dose > alarms.peak_dose THEN excluded.peak_dose ELSE alarms.peak_dose END,
			peak_time = CASE WHEN alarms.peak_dose IS NULL OR excluded.peak_dose > alarms.peak_dose THEN excluded.peak_time ELSE alarms.peak_time END,
			peak_lon = CASE WHEN alarms.peak_dose IS NULL OR excluded.peak_dose > alarms.peak_dose THEN excluded.peak_lon ELSE alarms.peak_lon END,
			peak_lat = CASE WHEN alarms.peak_dose IS NULL OR excluded.peak_dose > alarms.peak_dose THEN excluded.peak_lat ELSE alarms.peak_lat END,
			peak_gps_valid = CASE WHEN alarms.peak_dose IS NULL OR excluded.peak_dose > alarms.peak_dose THEN excluded.peak_gps_valid ELSE alarms.peak_gps_valid END,
			significance = GREATEST(alarms.significance, excluded.significance),
			updated_at = now()
		RETURNING id, xmax = 0`,
		ep.DeviceID, ep.RuleID, ep.FenceID, ep.Imported, ep.RuleName, string(ep.Kind), string(ep.Severity),
		ep.FirstSeen, ep.LastSeen, ep.Samples, ep.ConditionActive, nullTime(ep.ConditionEndedAt),
		opt(ep.PeakDose), ep.PeakTime, ep.PeakLon, ep.PeakLat, ep.PeakGPSValid, finiteOr0(ep.Significance)).Scan(&id, &created)
	if err != nil {
		return 0, false, fmt.Errorf("raise alarm for device %d rule %d: %w", ep.DeviceID, ep.RuleID, err)
	}
	if created {
		ev.AlarmID, ev.Episode.ID = id, id
		if err := appendEvent(ctx, tx, id, ev); err != nil {
			return 0, false, err
		}
	}
	if err := tx.Commit(ctx); err != nil {
		return 0, false, fmt.Errorf("raise alarm: %w", err)
	}
	return id, created, nil
}

func finiteOr0(v float64) float64 {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return 0
	}
	return v
}

// UpdateAlarm records an open episode's progress. Peaks only grow, so a
// node that merged into another's episode never lowers it.
func (s *Store) UpdateAlarm(ctx context.Context, ep rules.Episode, addSamples int) error {
	_, err := s.pool.Exec(ctx, `UPDATE alarms SET
			last_seen = GREATEST(last_seen, $2), samples = samples + $3,
			condition_active = $4, condition_ended_at = $5,
			peak_dose = CASE WHEN peak_dose IS NULL OR $6 > peak_dose THEN $6 ELSE peak_dose END,
			peak_time = CASE WHEN peak_dose IS NULL OR $6 > peak_dose THEN $7 ELSE peak_time END,
			peak_lon = CASE WHEN peak_dose IS NULL OR $6 > peak_dose THEN $8 ELSE peak_lon END,
			peak_lat = CASE WHEN peak_dose IS NULL OR $6 > peak_dose THEN $9 ELSE peak_lat END,
			peak_gps_valid = CASE WHEN peak_dose IS NULL OR $6 > peak_dose THEN $10 ELSE peak_gps_valid END,
			significance = GREATEST(significance, $11), updated_at = now()
		WHERE id = $1 AND state <> 'resolved'`,
		ep.ID, ep.LastSeen, addSamples, ep.ConditionActive, nullTime(ep.ConditionEndedAt),
		opt(ep.PeakDose), ep.PeakTime, ep.PeakLon, ep.PeakLat, ep.PeakGPSValid, finiteOr0(ep.Significance))
	if err != nil {
		return fmt.Errorf("update alarm %d: %w", ep.ID, err)
	}
	return nil
}

// TransitionAlarm stores an acknowledgement or resolution made by a person.
func (s *Store) TransitionAlarm(ctx context.Context, ep rules.Episode, from rules.State, events []rules.Event) error {
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		return fmt.Errorf("transition alarm %d: %w", ep.ID, err)
	}
	defer tx.Rollback(ctx) //nolint:errcheck // no-op after commit
	tag, err := tx.Exec(ctx, `UPDATE alarms SET state = $3,
			acked_by = $4, acked_at = $5, ack_comment = $6, implicit_ack = $7,
			resolved_by = $8, resolved_at = $9, code = $10, resolve_comment = $11, updated_at = now()
		WHERE id = $1 AND state = $2`,
		ep.ID, string(from), string(ep.State), ep.AckedBy, nullTime(ep.AckedAt), ep.AckComment, ep.ImplicitAck,
		ep.ResolvedBy, nullTime(ep.ResolvedAt), string(ep.Code), ep.ResolveComment)
	if err != nil {
		return fmt.Errorf("transition alarm %d: %w", ep.ID, err)
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("alarm %d is no longer %s: %w", ep.ID, from, store.ErrConflict)
	}
	for _, ev := range events {
		if err := appendEvent(ctx, tx, ep.ID, ev); err != nil {
			return err
		}
	}
	if err := tx.Commit(ctx); err != nil {
		return fmt.Errorf("transition alarm %d: %w", ep.ID, err)
	}
	return nil
}

// AppendAlarmEvent adds a row to an alarm's audit trail.
func (s *Store) AppendAlarmEvent(ctx context.Context, alarmID int64, ev rules.Event) error {
	return appendEvent(ctx, s.pool, alarmID, ev)
}

// execer is what a pool and a transaction share.
type execer interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
}

func appendEvent(ctx context.Context, q execer, alarmID int64, ev rules.Event) error {
	ev.AlarmID, ev.Episode.ID = alarmID, alarmID
	snap, err := json.Marshal(ev.Episode)
	if err != nil {
		return fmt.Errorf("encode alarm %d snapshot: %w", alarmID, err)
	}
	if _, err := q.Exec(ctx, `INSERT INTO alarm_events (alarm_id, type, time, username, comment, code, snapshot)
		VALUES ($1, $2, $3, $4, $5, $6, $7)`, alarmID, string(ev.Type), ev.Time, ev.User, ev.Comment, string(ev.Code), snap); err != nil {
		return fmt.Errorf("append %s event of alarm %d: %w", ev.Type, alarmID, err)
	}
	return nil
}

// Alarm returns one alarm.
func (s *Store) Alarm(ctx context.Context, id int64) (rules.Episode, error) {
	e, err := scanAlarm(s.pool.QueryRow(ctx, `SELECT `+alarmColumns+` FROM alarms WHERE id = $1`, id))
	if err != nil {
		return e, fmt.Errorf("alarm %d: %w", id, notFound(err))
	}
	return e, nil
}

// maxAlarms caps a listing that sets no limit.
const maxAlarms = 1000

// ListAlarms returns alarms matching f, most severe unresolved first, then
// newest first.
func (s *Store) ListAlarms(ctx context.Context, f store.AlarmFilter) ([]rules.Episode, error) {
	limit := f.Limit
	if limit <= 0 || limit > maxAlarms {
		limit = maxAlarms
	}
	q, args := alarmQuery(f, `(state = 'resolved'),
		CASE severity WHEN 'critical' THEN 0 WHEN 'alarm' THEN 1 WHEN 'warning' THEN 2 WHEN 'notice' THEN 3 ELSE 4 END,
		first_seen DESC, id DESC`, limit)
	rows, err := s.pool.Query(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("list alarms: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (rules.Episode, error) { return scanAlarm(r) })
	if err != nil {
		return nil, fmt.Errorf("list alarms: %w", err)
	}
	return out, nil
}

// AlarmEvents returns an alarm's audit trail, oldest first.
func (s *Store) AlarmEvents(ctx context.Context, alarmID int64) ([]store.AlarmEvent, error) {
	rows, err := s.pool.Query(ctx, `SELECT id, alarm_id, type, time, username, comment, code, snapshot
		FROM alarm_events WHERE alarm_id = $1 ORDER BY id`, alarmID)
	if err != nil {
		return nil, fmt.Errorf("events of alarm %d: %w", alarmID, err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (store.AlarmEvent, error) {
		var e store.AlarmEvent
		err := r.Scan(&e.ID, &e.AlarmID, &e.Type, &e.Time, &e.User, &e.Comment, &e.Code, &e.Snapshot)
		e.Time = e.Time.UTC()
		return e, err
	})
	if err != nil {
		return nil, fmt.Errorf("events of alarm %d: %w", alarmID, err)
	}
	return out, nil
}
