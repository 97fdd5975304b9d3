package pgstore

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/radtrack/radtrack/store"
)

var _ store.Notifications = (*Store)(nil)

const notifyDocColumns = `id, kind, name, spec, created_at, updated_at`

func scanNotifyDoc(row pgx.Row) (store.NotifyDoc, error) {
	var d store.NotifyDoc
	err := row.Scan(&d.ID, &d.Kind, &d.Name, &d.Spec, &d.CreatedAt, &d.UpdatedAt)
	return d, err
}

// ListNotifyDocs returns the documents of one kind, oldest first.
func (s *Store) ListNotifyDocs(ctx context.Context, kind string) ([]store.NotifyDoc, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+notifyDocColumns+` FROM notify_config WHERE kind = $1 ORDER BY id`, kind)
	if err != nil {
		return nil, fmt.Errorf("list notify %ss: %w", kind, err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (store.NotifyDoc, error) { return scanNotifyDoc(r) })
	if err != nil {
		return nil, fmt.Errorf("list notify %ss: %w", kind, err)
	}
	return out, nil
}

// CreateNotifyDoc stores a document; a taken name is ErrConflict.
func (s *Store) CreateNotifyDoc(ctx context.Context, d store.NotifyDoc) (store.NotifyDoc, error) {
	created, err := scanNotifyDoc(s.pool.QueryRow(ctx, `INSERT INTO notify_config (kind, name, spec)
		VALUES ($1, $2, $3) RETURNING `+notifyDocColumns, d.Kind, d.Name, d.Spec))
	if isUniqueViolation(err) {
		return store.NotifyDoc{}, fmt.Errorf("notify %s %q: %w", d.Kind, d.Name, store.ErrConflict)
	}
	if err != nil {
		return store.NotifyDoc{}, fmt.Errorf("create notify %s %q: %w", d.Kind, d.Name, err)
	}
	return created, nil
}

// UpdateNotifyDoc replaces a document's name and spec.
func (s *Store) UpdateNotifyDoc(ctx context.Context, d store.NotifyDoc) (store.NotifyDoc, error) {
	updated, err := scanNotifyDoc(s.pool.QueryRow(ctx, `UPDATE notify_config SET name = $3, spec = $4, updated_at = now()
		WHERE kind = $1 AND id = $2 RETURNING `+notifyDocColumns, d.Kind, d.ID, d.Name, d.Spec))
	switch {
	case isUniqueViolation(err):
		return store.NotifyDoc{}, fmt.Errorf("notify %s %q: %w", d.Kind, d.Name, store.ErrConflict)
	case err == pgx.ErrNoRows:
		return store.NotifyDoc{}, fmt.Errorf("notify %s %d: %w", d.Kind, d.ID, store.ErrNotFound)
	case err != nil:
		return store.NotifyDoc{}, fmt.Errorf("update notify %s %d: %w", d.Kind, d.ID, err)
	}
	return updated, nil
}

// DeleteNotifyDoc removes a document.
func (s *Store) DeleteNotifyDoc(ctx context.Context, kind string, id int64) error {
	tag, err := s.pool.Exec(ctx, `DELETE FROM notify_config WHERE kind = $1 AND id = $2`, kind, id)
	if err != nil {
		return fmt.Errorf("delete notify %s %d: %w", kind, id, err)
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("delete notify %s %d: %w", kind, id, store.ErrNotFound)
	}
	return nil
}

const notifyContactColumns = `id, user_id, kind, value, spec, created_at`

func scanNotifyContact(row pgx.Row) (store.NotifyContact, error) {
	var c store.NotifyContact
	err := row.Scan(&c.ID, &c.UserID, &c.Kind, &c.Value, &c.Spec, &c.CreatedAt)
	return c, err
}

// ListNotifyContacts returns a user's contacts (every user's with 0).
func (s *Store) ListNotifyContacts(ctx context.Context, userID int64) ([]store.NotifyContact, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+notifyContactColumns+` FROM notify_contacts
		WHERE $1 = 0 OR user_id = $1 ORDER BY id`, userID)
	if err != nil {
		return nil, fmt.Errorf("list notify contacts: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (store.NotifyContact, error) { return scanNotifyContact(r) })
	if err != nil {
		return nil, fmt.Errorf("list notify contacts: %w", err)
	}
	return out, nil
}

// AddNotifyContact stores a contact, replacing the spec of the same one.
func (s *Store) AddNotifyContact(ctx context.Context, c store.NotifyContact) (store.NotifyContact, error) {
	spec := c.Spec
	if len(spec) == 0 {
		spec = json.RawMessage(`{}`)
	}
	out, err := scanNotifyContact(s.pool.QueryRow(ctx, `INSERT INTO notify_contacts (user_id, kind, value, spec)
		VALUES ($1, $2, $3, $4) ON CONFLICT (user_id, kind, value) DO UPDATE SET spec = EXCLUDED.spec
		RETURNING `+notifyContactColumns, c.UserID, c.Kind, c.Value, spec))
	if err != nil {
		return store.NotifyContact{}, fmt.Errorf("add notify contact: %w", err)
	}
	return out, nil
}

// DeleteNotifyContact removes a contact of userID (any user's with 0).
func (s *Store) DeleteNotifyContact(ctx context.Context, userID, id int64) error {
	tag, err := s.pool.Exec(ctx, `DELETE FROM notify_contacts WHERE id = $2 AND ($1 = 0 OR user_id = $1)`, userID, id)
	if err != nil {
		return fmt.Errorf("delete notify contact %d: %w", id, err)
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("delete notify contact %d: %w", id, store.ErrNotFound)
	}
	return nil
}

// StartEscalation starts or restarts an escalation.
func (s *Store) StartEscalation(ctx context.Context, e store.Escalation) error {
	_, err := s.pool.Exec(ctx, `INSERT INTO notify_escalations
		(incident_id, rule_id, policy_id, step, cycle, due_at, active, event)
		VALUES ($1, $2, $3, $4, $5, $6, true, $7)
		ON CONFLICT (incident_id, rule_id) DO UPDATE SET policy_id = EXCLUDED.policy_id, step = EXCLUDED.step,
			cycle = EXCLUDED.cycle, due_at = EXCLUDED.due_at, active = true, event = EXCLUDED.event, updated_at = now()`,
		e.IncidentID, e.RuleID, e.PolicyID, e.Step, e.Cycle, e.DueAt, e.Event)
	if err != nil {
		return fmt.Errorf("start escalation of incident %d: %w", e.IncidentID, err)
	}
	return nil
}

// UpdateEscalationEvent stores the incident's latest event.
func (s *Store) UpdateEscalationEvent(ctx context.Context, incidentID int64, event json.RawMessage) error {
	if _, err := s.pool.Exec(ctx, `UPDATE notify_escalations SET event = $2, updated_at = now()
		WHERE incident_id = $1 AND active
			AND COALESCE((event->'incident'->>'version')::int8, 0) <= COALESCE(($2::jsonb->'incident'->>'version')::int8, 0)`,
		incidentID, event); err != nil {
		return fmt.Errorf("update escalation event of incident %d: %w", incidentID, err)
	}
	return nil
}

// StopEscalations ends the incident's escalations and cancels its paging
// deliveries not yet sent, in one transaction. It waits for a node that is
// planning one of the incident's steps (row lock), so a step planned
// concurrently is cancelled too. A leased delivery keeps its lease: it
// may be on its way, and its sender records it as sent if it went.
func (s *Store) StopEscalations(ctx context.Context, incidentID int64) (int, error) {
	var n int64
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `UPDATE notify_escalations SET active = false, updated_at = now()
			WHERE incident_id = $1 AND active`, incidentID); err != nil {
			return err
		}
		tag, err := tx.Exec(ctx, `UPDATE notify_outbox SET state = 'cancelled'
			WHERE incident_id = $1 AND cardinality(covers) = 0 AND pages AND state = 'pending'`, incidentID)
		if err != nil {
			return err
		}
		n = tag.RowsAffected()
		// A digest's other incidents still page: this one is dropped
		// from it, and the digest cancelled once all of them are.
		tag, err = tx.Exec(ctx, `UPDATE notify_outbox SET dropped = dropped || $1::int8,
				state = CASE WHEN covers <@ (dropped || $1::int8) THEN 'cancelled' ELSE state END
			WHERE cardinality(covers) > 0 AND covers @> ARRAY[$1::int8] AND NOT dropped @> ARRAY[$1::int8]
				AND pages AND state = 'pending'`, incidentID)
		n += tag.RowsAffected()
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("stop escalations of incident %d: %w", incidentID, err)
	}
	return int(n), nil
}

// AdvanceEscalations plans due steps; SKIP LOCKED lets each node take
// different rows, so every step is planned by exactly one node.
func (s *Store) AdvanceEscalations(ctx context.Context, now time.Time, limit int, plan store.PlanFunc) (int, error) {
	n := 0
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `SELECT incident_id, rule_id, policy_id, step, cycle, due_at, active, event
			FROM notify_escalations WHERE active AND due_at <= $1 ORDER BY due_at LIMIT $2 FOR UPDATE SKIP LOCKED`, now, limit)
		if err != nil {
			return err
		}
		due, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (store.Escalation, error) {
			var e store.Escalation
			err := r.Scan(&e.IncidentID, &e.RuleID, &e.PolicyID, &e.Step, &e.Cycle, &e.DueAt, &e.Active, &e.Event)
			return e, err
		})
		if err != nil || len(due) == 0 {
			return err
		}
		// One statement stores every planned delivery and one moves every
		// escalation on: a storm's pass plans many incidents' fan-outs.
		items, nexts, err := plan.Plan(ctx, due)
		if err != nil {
			return err
		}
		if _, err := enqueue(ctx, tx, items); err != nil {
			return err
		}
		if err := advance(ctx, tx, nexts); err != nil {
			return err
		}
		n = len(due)
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("advance escalations: %w", err)
	}
	return n, nil
}

// advance stores each escalation's next step in one statement.
func advance(ctx context.Context, tx pgx.Tx, next []store.Escalation) error {
	var (
		incidents, rules = make([]int64, len(next)), make([]int64, len(next))
		steps, cycles    = make([]int32, len(next)), make([]int32, len(next))
		dueAt            = make([]time.Time, len(next))
		active           = make([]bool, len(next))
	)
	for i, e := range next {
		incidents[i], rules[i], steps[i], cycles[i], dueAt[i], active[i] = e.IncidentID, e.RuleID, int32(e.Step), int32(e.Cycle), e.DueAt, e.Active
	}
	_, err := tx.Exec(ctx, `UPDATE notify_escalations e SET step = u.step, cycle = u.cycle, due_at = u.due_at, active = u.active, updated_at = now()
		FROM unnest($1::int8[], $2::int8[], $3::int4[], $4::int4[], $5::timestamptz[], $6::bool[]) AS u(incident_id, rule_id, step, cycle, due_at, active)
		WHERE e.incident_id = u.incident_id AND e.rule_id = u.rule_id`, incidents, rules, steps, cycles, dueAt, active)
	if err != nil {
		return fmt.Errorf("advance %d escalations: %w", len(next), err)
	}
	return nil
}

// EnqueueDeliveries stores new outbox items.
func (s *Store) EnqueueDeliveries(ctx context.Context, items []store.OutboxItem) (int, error) {
	var n int
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		var err error
		n, err = enqueue(ctx, tx, items)
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("enqueue deliveries: %w", err)
	}
	return n, nil
}

// enqueue inserts items with one multi-row statement (a storm plans
// thousands of deliveries; a statement each would dominate) and sets the
// ID of each item it stored.
func enqueue(ctx context.Context, tx pgx.Tx, items []store.OutboxItem) (int, error) {
	if len(items) == 0 {
		return 0, nil
	}
	n := len(items)
	var (
		keys, channels, recipients, deliveries, owners = make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n)
		covers, events                                 = make([]string, n), make([]string, n)
		incidents, versions, endpoints                 = make([]int64, n), make([]int64, n), make([]int64, n)
		pages                                          = make([]bool, n)
		next, until                                    = make([]time.Time, n), make([]time.Time, n)
		index                                          = make(map[string]int, n)
	)
	for i, it := range items {
		keys[i], channels[i], recipients[i], deliveries[i], owners[i] = it.Key, it.Channel, it.Recipient, string(it.Delivery), it.LeaseOwner
		incidents[i], versions[i], endpoints[i], pages[i], next[i], until[i] = it.IncidentID, it.Version, it.EndpointID, it.Pages, it.NextAttempt, it.LeaseUntil
		if it.LeaseOwner == "" {
			until[i] = it.NextAttempt // not stored; any non-NULL value encodes
		}
		covers[i], events[i] = int8Array(it.Covers), eventKeys(it.Events)
		index[it.Key] = i
		items[i].ID = 0
	}
	if err := storeEvents(ctx, tx, items); err != nil {
		return 0, err
	}
	rows, err := tx.Query(ctx, `INSERT INTO notify_outbox
		(key, incident_id, version, channel, endpoint_id, recipient, pages, delivery, next_attempt_at, lease_owner, lease_until, attempts, covers, events)
		SELECT k, i, v, c, e, r, p, d::jsonb, n, NULLIF(o, ''), CASE WHEN o = '' THEN NULL ELSE u END, CASE WHEN o = '' THEN 0 ELSE 1 END, cv::int8[], ev::text[]
		FROM unnest($1::text[], $2::int8[], $3::int8[], $4::text[], $5::int8[], $6::text[], $7::bool[], $8::text[],
			$9::timestamptz[], $10::text[], $11::timestamptz[], $12::text[], $13::text[]) AS t(k, i, v, c, e, r, p, d, n, o, u, cv, ev)
		ON CONFLICT (key) DO NOTHING RETURNING id, key`,
		keys, incidents, versions, channels, endpoints, recipients, pages, deliveries, next, owners, until, covers, events)
	if err != nil {
		return 0, fmt.Errorf("enqueue %d deliveries: %w", n, err)
	}
	stored := 0
	for rows.Next() {
		var (
			id  int64
			key string
		)
		if err := rows.Scan(&id, &key); err != nil {
			rows.Close()
			return 0, fmt.Errorf("enqueue %d deliveries: %w", n, err)
		}
		items[index[key]].ID = id
		stored++
	}
	if err := rows.Err(); err != nil {
		return 0, fmt.Errorf("enqueue %d deliveries: %w", n, err)
	}
	return stored, nil
}

// storeEvents stores the items' events that are not stored yet, each
// once, in one statement.
func storeEvents(ctx context.Context, tx pgx.Tx, items []store.OutboxItem) error {
	events := store.DistinctEvents(items)
	if len(events) == 0 {
		return nil
	}
	keys, bodies := make([]string, len(events)), make([]string, len(events))
	for i, e := range events {
		keys[i], bodies[i] = e.Key, string(e.JSON)
	}
	if _, err := tx.Exec(ctx, `INSERT INTO notify_events (key, event) SELECT k, e::jsonb FROM unnest($1::text[], $2::text[]) AS t(k, e)
		ON CONFLICT (key) DO NOTHING`, keys, bodies); err != nil {
		return fmt.Errorf("store %d outbox events: %w", len(keys), err)
	}
	return nil
}

// eventKeys is the text[] literal of events' keys, each quoted (a key
// is the caller's string).
func eventKeys(events []store.OutboxEvent) string {
	var b strings.Builder
	b.WriteByte('{')
	for i, e := range events {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteByte('"')
		for _, r := range e.Key {
			if r == '"' || r == '\\' {
				b.WriteByte('\\')
			}
			b.WriteRune(r)
		}
		b.WriteByte('"')
	}
	b.WriteByte('}')
	return b.String()
}

// outboxColumns end with a stored digest's event keys and, in the same
// order, their JSON.
const outboxColumns = `id, key, incident_id, version, channel, endpoint_id, recipient, pages, delivery, state,
	attempts, next_attempt_at, last_status, last_error, created_at, sent_at, COALESCE(lease_owner, ''), lease_until, covers, dropped,
	events, ARRAY(SELECT e.event::text FROM unnest(notify_outbox.events) WITH ORDINALITY AS k(key, n)
		JOIN notify_events e ON e.key = k.key ORDER BY k.n)`

func scanOutbox(row pgx.Row) (store.OutboxItem, error) {
	var (
		it             store.OutboxItem
		until          *time.Time
		events, bodies []string
	)
	err := row.Scan(&it.ID, &it.Key, &it.IncidentID, &it.Version, &it.Channel, &it.EndpointID, &it.Recipient, &it.Pages,
		&it.Delivery, &it.State, &it.Attempts, &it.NextAttempt, &it.LastStatus, &it.LastError, &it.CreatedAt, &it.SentAt,
		&it.LeaseOwner, &until, &it.Covers, &it.Dropped, &events, &bodies)
	if err != nil {
		return it, err
	}
	if until != nil {
		it.LeaseUntil = *until
	}
	if len(bodies) != len(events) {
		return it, fmt.Errorf("outbox %d: %d of its %d events are stored", it.ID, len(bodies), len(events))
	}
	for i, k := range events {
		it.Events = append(it.Events, store.OutboxEvent{Key: k, JSON: json.RawMessage(bodies[i])})
	}
	if len(it.Covers) == 0 {
		it.Covers, it.Dropped = nil, nil
	} else if len(it.Dropped) == 0 {
		it.Dropped = nil
	}
	return it, nil
}

// ClaimDeliveries leases due items; SKIP LOCKED keeps nodes off each
// other's rows, the lease keeps them off rows being sent, and an expired
// lease (a node that died mid-send) frees the row for another attempt.
func (s *Store) ClaimDeliveries(ctx context.Context, owner string, now time.Time, lease time.Duration, limit int) ([]store.OutboxItem, error) {
	rows, err := s.pool.Query(ctx, `UPDATE notify_outbox SET lease_owner = $1, lease_until = $2, attempts = attempts + 1
		WHERE id IN (SELECT id FROM notify_outbox
			WHERE state = 'pending' AND next_attempt_at <= $3 AND (lease_until IS NULL OR lease_until < $3)
			ORDER BY next_attempt_at, id LIMIT $4 FOR UPDATE SKIP LOCKED)
		RETURNING `+outboxColumns, owner, now.Add(lease), now, limit)
	if err != nil {
		return nil, fmt.Errorf("claim deliveries: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (store.OutboxItem, error) { return scanOutbox(r) })
	if err != nil {
		return nil, fmt.Errorf("claim deliveries: %w", err)
	}
	return out, nil
}

// FinishDeliveries records attempts and the items' new states: one
// multi-row UPDATE and one multi-row INSERT in one transaction, however
// many items.
func (s *Store) FinishDeliveries(ctx context.Context, owner string, done []store.Finished) error {
	if len(done) == 0 {
		return nil
	}
	n := len(done)
	var (
		ids, incidents                            = make([]int64, n), make([]int64, n)
		carried                                   = make([]*string, n)
		states, errs, nodes, channels, recipients = make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n)
		next, at                                  = make([]time.Time, n), make([]time.Time, n)
		statuses                                  = make([]int32, n)
		sent, ok                                  = make([]bool, n), make([]bool, n)
	)
	for i, f := range done {
		a := f.Attempt
		ids[i], incidents[i], states[i], errs[i], nodes[i], channels[i], recipients[i] = f.ID, a.IncidentID, f.State, a.Error, a.Node, a.Channel, a.Recipient
		next[i], at[i], statuses[i], sent[i], ok[i] = f.NextAttempt, a.At, int32(a.Status), f.State == store.DeliverySent, a.OK
		if f.Carried != nil {
			c := int8Array(f.Carried)
			carried[i] = &c
		}
	}
	var b pgx.Batch
	// A cancelled item that went out anyway is recorded as sent: the
	// trail must say what reached people.
	b.Queue(`UPDATE notify_outbox o SET state = CASE WHEN o.state = 'cancelled' AND f.st <> 'sent' THEN o.state ELSE f.st END,
		next_attempt_at = f.n, last_status = f.s, last_error = f.e, sent_at = CASE WHEN f.sent THEN f.at ELSE o.sent_at END,
		lease_owner = NULL, lease_until = NULL,
		dropped = CASE WHEN f.sent AND f.c IS NOT NULL THEN ARRAY(SELECT x FROM unnest(o.covers) x WHERE x <> ALL (f.c::int8[])) ELSE o.dropped END
		FROM unnest($2::int8[], $3::text[], $4::timestamptz[], $5::int4[], $6::text[], $7::bool[], $8::timestamptz[], $9::text[])
			AS f(id, st, n, s, e, sent, at, c)
		WHERE o.id = f.id AND o.lease_owner = $1`, owner, ids, states, next, statuses, errs, sent, at, carried)
	b.Queue(`INSERT INTO notify_attempts (outbox_id, incident_id, at, node, channel, recipient, ok, status, error)
		SELECT * FROM unnest($1::int8[], $2::int8[], $3::timestamptz[], $4::text[], $5::text[], $6::text[], $7::bool[], $8::int4[], $9::text[])`,
		ids, incidents, at, nodes, channels, recipients, ok, statuses, errs)
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		return tx.SendBatch(ctx, &b).Close()
	})
	if err != nil {
		return fmt.Errorf("finish %d deliveries: %w", len(done), err)
	}
	return nil
}

// IncidentDeliveries lists the incident's outbox items.
func (s *Store) IncidentDeliveries(ctx context.Context, incidentID int64) ([]store.OutboxItem, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+outboxColumns+` FROM notify_outbox
		WHERE incident_id = $1 OR cardinality(covers) > 0 AND covers @> ARRAY[$1::int8] ORDER BY id`, incidentID)
	if err != nil {
		return nil, fmt.Errorf("incident %d deliveries: %w", incidentID, err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (store.OutboxItem, error) { return scanOutbox(r) })
	if err != nil {
		return nil, fmt.Errorf("incident %d deliveries: %w", incidentID, err)
	}
	return out, nil
}

// IncidentAttempts lists the incident's delivery attempts.
func (s *Store) IncidentAttempts(ctx context.Context, incidentID int64) ([]store.DeliveryAttempt, error) {
	rows, err := s.pool.Query(ctx, `SELECT id, outbox_id, $1::int8, at, node, channel, recipient, ok, status, error
		FROM notify_attempts WHERE incident_id = $1 OR outbox_id IN (SELECT id FROM notify_outbox
			WHERE cardinality(covers) > 0 AND covers @> ARRAY[$1::int8])
		ORDER BY at, id`, incidentID)
	if err != nil {
		return nil, fmt.Errorf("incident %d attempts: %w", incidentID, err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (store.DeliveryAttempt, error) {
		var a store.DeliveryAttempt
		err := r.Scan(&a.ID, &a.OutboxID, &a.IncidentID, &a.At, &a.Node, &a.Channel, &a.Recipient, &a.OK, &a.Status, &a.Error)
		return a, err
	})
	if err != nil {
		return nil, fmt.Errorf("incident %d attempts: %w", incidentID, err)
	}
	return out, nil
}

// int8Array is ids as a PostgreSQL array literal.
func int8Array(ids []int64) string {
	b := make([]byte, 0, 2+len(ids)*8)
	b = append(b, '{')
	for i, id := range ids {
		if i > 0 {
			b = append(b, ',')
		}
		b = strconv.AppendInt(b, id, 10)
	}
	return string(append(b, '}'))
}
