package sqlitestore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/radtrack/radtrack/store"
)

var _ store.Notifications = (*Store)(nil)

// The embedded store is single-node: one writer connection serialises the
// claims, and the lease columns only guard against a worker that died
// mid-send. Reads made by a PlanFunc go to the reader pool, so planning
// inside the write transaction cannot wait on itself.

const notifyDocColumns = `id, kind, name, spec, created_at, updated_at`

func scanNotifyDoc(row scanner) (store.NotifyDoc, error) {
	var (
		d                store.NotifyDoc
		spec             string
		created, updated int64
	)
	if err := row.Scan(&d.ID, &d.Kind, &d.Name, &spec, &created, &updated); err != nil {
		return d, err
	}
	d.Spec, d.CreatedAt, d.UpdatedAt = json.RawMessage(spec), fromMicros(created), fromMicros(updated)
	return d, nil
}

// ListNotifyDocs returns the documents of one kind, oldest first.
func (s *Store) ListNotifyDocs(ctx context.Context, kind string) ([]store.NotifyDoc, error) {
	out, err := queryAll(ctx, s.r, scanNotifyDoc, `SELECT `+notifyDocColumns+` FROM notify_config WHERE kind = ? ORDER BY id`, kind)
	if err != nil {
		return nil, fmt.Errorf("list notify %ss: %w", kind, err)
	}
	return out, nil
}

// CreateNotifyDoc stores a document; a taken name is ErrConflict.
func (s *Store) CreateNotifyDoc(ctx context.Context, d store.NotifyDoc) (store.NotifyDoc, error) {
	now := micros(time.Now())
	created, err := scanNotifyDoc(s.w.QueryRowContext(ctx, `INSERT INTO notify_config (kind, name, spec, created_at, updated_at)
		VALUES (?, ?, ?, ?, ?) RETURNING `+notifyDocColumns, d.Kind, d.Name, jsonText(d.Spec), now, now))
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
	updated, err := scanNotifyDoc(s.w.QueryRowContext(ctx, `UPDATE notify_config SET name = ?, spec = ?, updated_at = ?
		WHERE kind = ? AND id = ? RETURNING `+notifyDocColumns, d.Name, jsonText(d.Spec), micros(time.Now()), d.Kind, d.ID))
	switch {
	case isUniqueViolation(err):
		return store.NotifyDoc{}, fmt.Errorf("notify %s %q: %w", d.Kind, d.Name, store.ErrConflict)
	case errors.Is(err, sql.ErrNoRows):
		return store.NotifyDoc{}, fmt.Errorf("notify %s %d: %w", d.Kind, d.ID, store.ErrNotFound)
	case err != nil:
		return store.NotifyDoc{}, fmt.Errorf("update notify %s %d: %w", d.Kind, d.ID, err)
	}
	return updated, nil
}

// DeleteNotifyDoc removes a document.
func (s *Store) DeleteNotifyDoc(ctx context.Context, kind string, id int64) error {
	if err := rowsAffected(s.w.ExecContext(ctx, `DELETE FROM notify_config WHERE kind = ? AND id = ?`, kind, id)); err != nil {
		return fmt.Errorf("delete notify %s %d: %w", kind, id, err)
	}
	return nil
}

const notifyContactColumns = `id, user_id, kind, value, spec, created_at`

func scanNotifyContact(row scanner) (store.NotifyContact, error) {
	var (
		c       store.NotifyContact
		spec    string
		created int64
	)
	if err := row.Scan(&c.ID, &c.UserID, &c.Kind, &c.Value, &spec, &created); err != nil {
		return c, err
	}
	c.Spec, c.CreatedAt = json.RawMessage(spec), fromMicros(created)
	return c, nil
}

// ListNotifyContacts returns a user's contacts (every user's with 0).
func (s *Store) ListNotifyContacts(ctx context.Context, userID int64) ([]store.NotifyContact, error) {
	out, err := queryAll(ctx, s.r, scanNotifyContact, `SELECT `+notifyContactColumns+` FROM notify_contacts
		WHERE ?1 = 0 OR user_id = ?1 ORDER BY id`, userID)
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
	out, err := scanNotifyContact(s.w.QueryRowContext(ctx, `INSERT INTO notify_contacts (user_id, kind, value, spec, created_at)
		VALUES (?, ?, ?, ?, ?) ON CONFLICT (user_id, kind, value) DO UPDATE SET spec = excluded.spec
		RETURNING `+notifyContactColumns, c.UserID, c.Kind, c.Value, jsonText(spec), micros(time.Now())))
	if err != nil {
		return store.NotifyContact{}, fmt.Errorf("add notify contact: %w", err)
	}
	return out, nil
}

// DeleteNotifyContact removes a contact of userID (any user's with 0).
func (s *Store) DeleteNotifyContact(ctx context.Context, userID, id int64) error {
	if err := rowsAffected(s.w.ExecContext(ctx, `DELETE FROM notify_contacts WHERE id = ?2 AND (?1 = 0 OR user_id = ?1)`, userID, id)); err != nil {
		return fmt.Errorf("delete notify contact %d: %w", id, err)
	}
	return nil
}

// StartEscalation starts or restarts an escalation.
func (s *Store) StartEscalation(ctx context.Context, e store.Escalation) error {
	_, err := s.w.ExecContext(ctx, `INSERT INTO notify_escalations
		(incident_id, rule_id, policy_id, step, cycle, due_at, active, event, updated_at)
		VALUES (?, ?, ?, ?, ?, ?, 1, ?, ?)
		ON CONFLICT (incident_id, rule_id) DO UPDATE SET policy_id = excluded.policy_id, step = excluded.step,
			cycle = excluded.cycle, due_at = excluded.due_at, active = 1, event = excluded.event, updated_at = excluded.updated_at`,
		e.IncidentID, e.RuleID, e.PolicyID, e.Step, e.Cycle, micros(e.DueAt), jsonText(e.Event), micros(time.Now()))
	if err != nil {
		return fmt.Errorf("start escalation of incident %d: %w", e.IncidentID, err)
	}
	return nil
}

// UpdateEscalationEvent stores the incident's latest event.
func (s *Store) UpdateEscalationEvent(ctx context.Context, incidentID int64, event json.RawMessage) error {
	if _, err := s.w.ExecContext(ctx, `UPDATE notify_escalations SET event = ?1, updated_at = ?2
		WHERE incident_id = ?3 AND active
			AND COALESCE(json_extract(event, '$.incident.version'), 0) <= COALESCE(json_extract(?1, '$.incident.version'), 0)`,
		jsonText(event), micros(time.Now()), incidentID); err != nil {
		return fmt.Errorf("update escalation event of incident %d: %w", incidentID, err)
	}
	return nil
}

// StopEscalations ends the incident's escalations and cancels its paging
// deliveries not yet sent. A leased delivery keeps its lease: it may be on
// its way, and its sender records it as sent if it went.
func (s *Store) StopEscalations(ctx context.Context, incidentID int64) (int, error) {
	var n int64
	err := s.writeTx(ctx, "stop escalations", func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `UPDATE notify_escalations SET active = 0, updated_at = ?
			WHERE incident_id = ? AND active`, micros(time.Now()), incidentID); err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, `UPDATE notify_outbox SET state = 'cancelled'
			WHERE incident_id = ?1 AND pages AND state = 'pending'
				AND NOT EXISTS (SELECT 1 FROM notify_outbox_covers c WHERE c.outbox_id = notify_outbox.id)`, incidentID)
		if err != nil {
			return err
		}
		if n, err = res.RowsAffected(); err != nil {
			return err
		}
		// A digest's other incidents still page: this one is dropped
		// from it, and the digest cancelled once all of them are.
		res, err = tx.ExecContext(ctx, `UPDATE notify_outbox_covers SET dropped = 1
			WHERE incident_id = ?1 AND NOT dropped AND outbox_id IN
				(SELECT id FROM notify_outbox WHERE pages AND state = 'pending')`, incidentID)
		if err != nil {
			return err
		}
		k, err := res.RowsAffected()
		if err != nil || k == 0 {
			return err
		}
		n += k
		_, err = tx.ExecContext(ctx, `UPDATE notify_outbox SET state = 'cancelled'
			WHERE state = 'pending' AND id IN (SELECT outbox_id FROM notify_outbox_covers WHERE incident_id = ?1)
				AND NOT EXISTS (SELECT 1 FROM notify_outbox_covers c WHERE c.outbox_id = notify_outbox.id AND NOT c.dropped)`, incidentID)
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("stop escalations of incident %d: %w", incidentID, err)
	}
	return int(n), nil
}

// AdvanceEscalations plans due steps in one write transaction.
func (s *Store) AdvanceEscalations(ctx context.Context, now time.Time, limit int, plan store.PlanFunc) (int, error) {
	n := 0
	err := s.writeTx(ctx, "advance escalations", func(tx *sql.Tx) error {
		due, err := queryAll(ctx, tx, func(r scanner) (store.Escalation, error) {
			var (
				e     store.Escalation
				dueAt int64
				event string
			)
			err := r.Scan(&e.IncidentID, &e.RuleID, &e.PolicyID, &e.Step, &e.Cycle, &dueAt, &e.Active, &event)
			e.DueAt, e.Event = fromMicros(dueAt), json.RawMessage(event)
			return e, err
		}, `SELECT incident_id, rule_id, policy_id, step, cycle, due_at, active, event
			FROM notify_escalations WHERE active AND due_at <= ? ORDER BY due_at LIMIT ?`, micros(now), limit)
		if err != nil {
			return err
		}
		if len(due) == 0 {
			return nil
		}
		items, nexts, err := plan.Plan(ctx, due)
		if err != nil {
			return err
		}
		if _, err := enqueue(ctx, tx, items); err != nil {
			return err
		}
		for i, e := range due {
			next := nexts[i]
			if _, err := tx.ExecContext(ctx, `UPDATE notify_escalations SET step = ?, cycle = ?, due_at = ?, active = ?, updated_at = ?
				WHERE incident_id = ? AND rule_id = ?`, next.Step, next.Cycle, micros(next.DueAt), next.Active, micros(time.Now()),
				e.IncidentID, e.RuleID); err != nil {
				return err
			}
			n++
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	return n, nil
}

// EnqueueDeliveries stores new outbox items.
func (s *Store) EnqueueDeliveries(ctx context.Context, items []store.OutboxItem) (int, error) {
	var n int
	err := s.writeTx(ctx, "enqueue deliveries", func(tx *sql.Tx) error {
		var err error
		n, err = enqueue(ctx, tx, items)
		return err
	})
	return n, err
}

// enqueue inserts items with one prepared statement and sets the ID of
// each item it stored.
func enqueue(ctx context.Context, tx *sql.Tx, items []store.OutboxItem) (int, error) {
	if len(items) == 0 {
		return 0, nil
	}
	if err := storeEvents(ctx, tx, items); err != nil {
		return 0, err
	}
	stmt, err := tx.PrepareContext(ctx, `INSERT INTO notify_outbox
		(key, incident_id, version, channel, endpoint_id, recipient, pages, delivery, next_attempt_at, created_at,
			lease_owner, lease_until, attempts, events)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (key) DO NOTHING`)
	if err != nil {
		return 0, fmt.Errorf("enqueue deliveries: %w", err)
	}
	defer stmt.Close()
	var cover *sql.Stmt
	n := 0
	now := micros(time.Now())
	for i, it := range items {
		items[i].ID = 0
		var owner, until any
		attempts := 0
		if it.LeaseOwner != "" {
			owner, until, attempts = it.LeaseOwner, micros(it.LeaseUntil), 1
		}
		keys := make([]string, len(it.Events))
		for k, e := range it.Events {
			keys[k] = e.Key
		}
		events, err := json.Marshal(keys)
		if err != nil {
			return n, err
		}
		res, err := stmt.ExecContext(ctx, it.Key, it.IncidentID, it.Version, it.Channel, it.EndpointID, it.Recipient, it.Pages,
			jsonText(it.Delivery), micros(it.NextAttempt), now, owner, until, attempts, string(events))
		if err != nil {
			return n, fmt.Errorf("enqueue %s: %w", it.Key, err)
		}
		k, err := res.RowsAffected()
		if err != nil {
			return n, err
		}
		if k == 1 {
			if items[i].ID, err = res.LastInsertId(); err != nil {
				return n, err
			}
			if len(it.Covers) > 0 && cover == nil {
				if cover, err = tx.PrepareContext(ctx, `INSERT INTO notify_outbox_covers (outbox_id, incident_id) VALUES (?, ?)`); err != nil {
					return n, fmt.Errorf("enqueue deliveries: %w", err)
				}
				defer cover.Close()
			}
			for _, inc := range it.Covers {
				if _, err := cover.ExecContext(ctx, items[i].ID, inc); err != nil {
					return n, fmt.Errorf("enqueue %s: incident %d: %w", it.Key, inc, err)
				}
			}
		}
		n += int(k)
	}
	return n, nil
}

// storeEvents stores the items' events that are not stored yet, each
// once.
func storeEvents(ctx context.Context, tx *sql.Tx, items []store.OutboxItem) error {
	events := store.DistinctEvents(items)
	if len(events) == 0 {
		return nil
	}
	stmt, err := tx.PrepareContext(ctx, `INSERT INTO notify_events (key, event) VALUES (?, ?) ON CONFLICT (key) DO NOTHING`)
	if err != nil {
		return fmt.Errorf("store outbox events: %w", err)
	}
	defer stmt.Close()
	for _, e := range events {
		if _, err := stmt.ExecContext(ctx, e.Key, jsonText(e.JSON)); err != nil {
			return fmt.Errorf("store outbox event %s: %w", e.Key, err)
		}
	}
	return nil
}

// outboxColumns end with a stored digest's covers and dropped incidents,
// its event keys and, in the same order, their JSON.
const outboxColumns = `id, key, incident_id, version, channel, endpoint_id, recipient, pages, delivery, state,
	attempts, next_attempt_at, last_status, last_error, created_at, sent_at, COALESCE(lease_owner, ''), lease_until,
	(SELECT json_group_array(incident_id) FROM notify_outbox_covers c WHERE c.outbox_id = notify_outbox.id),
	(SELECT json_group_array(incident_id) FROM notify_outbox_covers c WHERE c.outbox_id = notify_outbox.id AND c.dropped),
	events, (SELECT json_group_array(json(e.event) ORDER BY k.id) FROM json_each(notify_outbox.events) AS k
		JOIN notify_events e ON e.key = k.value)`

func scanOutbox(row scanner) (store.OutboxItem, error) {
	var (
		it              store.OutboxItem
		delivery        string
		covers, dropped string
		events, bodies  string
		next, created   int64
		sent, until     sql.NullInt64
	)
	if err := row.Scan(&it.ID, &it.Key, &it.IncidentID, &it.Version, &it.Channel, &it.EndpointID, &it.Recipient, &it.Pages,
		&delivery, &it.State, &it.Attempts, &next, &it.LastStatus, &it.LastError, &created, &sent, &it.LeaseOwner, &until,
		&covers, &dropped, &events, &bodies); err != nil {
		return it, err
	}
	if events != "[]" {
		var (
			keys []string
			raw  []json.RawMessage
		)
		if err := json.Unmarshal([]byte(events), &keys); err != nil {
			return it, fmt.Errorf("outbox %d events: %w", it.ID, err)
		}
		if err := json.Unmarshal([]byte(bodies), &raw); err != nil {
			return it, fmt.Errorf("outbox %d events: %w", it.ID, err)
		}
		if len(raw) != len(keys) {
			return it, fmt.Errorf("outbox %d: %d of its %d events are stored", it.ID, len(raw), len(keys))
		}
		for i, k := range keys {
			it.Events = append(it.Events, store.OutboxEvent{Key: k, JSON: raw[i]})
		}
	}
	if covers != "[]" {
		if err := json.Unmarshal([]byte(covers), &it.Covers); err != nil {
			return it, fmt.Errorf("outbox %d covers: %w", it.ID, err)
		}
		if dropped != "[]" {
			if err := json.Unmarshal([]byte(dropped), &it.Dropped); err != nil {
				return it, fmt.Errorf("outbox %d dropped: %w", it.ID, err)
			}
		}
	}
	it.Delivery, it.NextAttempt, it.CreatedAt, it.SentAt = json.RawMessage(delivery), fromMicros(next), fromMicros(created), timePtr(sent)
	if until.Valid {
		it.LeaseUntil = fromMicros(until.Int64)
	}
	return it, nil
}

// ClaimDeliveries leases due items to owner.
func (s *Store) ClaimDeliveries(ctx context.Context, owner string, now time.Time, lease time.Duration, limit int) ([]store.OutboxItem, error) {
	var out []store.OutboxItem
	err := s.writeTx(ctx, "claim deliveries", func(tx *sql.Tx) error {
		var err error
		out, err = queryAll(ctx, tx, scanOutbox, `UPDATE notify_outbox SET lease_owner = ?1, lease_until = ?2, attempts = attempts + 1
			WHERE id IN (SELECT id FROM notify_outbox
				WHERE state = 'pending' AND next_attempt_at <= ?3 AND (lease_until IS NULL OR lease_until < ?3)
				ORDER BY next_attempt_at, id LIMIT ?4)
			RETURNING `+outboxColumns, owner, micros(now.Add(lease)), micros(now), limit)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("claim deliveries: %w", err)
	}
	return out, nil
}

// FinishDeliveries records attempts and the items' new states.
func (s *Store) FinishDeliveries(ctx context.Context, owner string, done []store.Finished) error {
	return s.writeTx(ctx, "finish deliveries", func(tx *sql.Tx) error {
		update, err := tx.PrepareContext(ctx, `UPDATE notify_outbox SET state = CASE WHEN state = 'cancelled' AND ?3 <> 'sent' THEN state ELSE ?3 END,
			next_attempt_at = ?4, last_status = ?5, last_error = ?6, sent_at = COALESCE(?7, sent_at),
			lease_owner = NULL, lease_until = NULL
			WHERE id = ?1 AND lease_owner = ?2`)
		if err != nil {
			return fmt.Errorf("finish deliveries: %w", err)
		}
		defer update.Close()
		insert, err := tx.PrepareContext(ctx, `INSERT INTO notify_attempts (outbox_id, incident_id, at, node, channel, recipient, ok, status, error)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`)
		if err != nil {
			return fmt.Errorf("finish deliveries: %w", err)
		}
		defer insert.Close()
		for _, f := range done {
			a := f.Attempt
			var sentAt any
			if f.State == store.DeliverySent {
				sentAt = micros(a.At)
			}
			if _, err := update.ExecContext(ctx, f.ID, owner, f.State, micros(f.NextAttempt), a.Status, a.Error, sentAt); err != nil {
				return fmt.Errorf("finish delivery %d: %w", f.ID, err)
			}
			if _, err := insert.ExecContext(ctx, f.ID, a.IncidentID, micros(a.At), a.Node, a.Channel, a.Recipient, a.OK, a.Status, a.Error); err != nil {
				return fmt.Errorf("finish delivery %d: record attempt: %w", f.ID, err)
			}
			if f.State == store.DeliverySent && f.Carried != nil {
				carried, err := json.Marshal(f.Carried)
				if err != nil {
					return err
				}
				if _, err := tx.ExecContext(ctx, `UPDATE notify_outbox_covers SET dropped = incident_id NOT IN (SELECT value FROM json_each(?2))
					WHERE outbox_id = ?1 AND EXISTS (SELECT 1 FROM notify_outbox WHERE id = ?1 AND lease_owner IS NULL)`, f.ID, string(carried)); err != nil {
					return fmt.Errorf("finish delivery %d: carried pages: %w", f.ID, err)
				}
			}
		}
		return nil
	})
}

// IncidentDeliveries lists the incident's outbox items.
func (s *Store) IncidentDeliveries(ctx context.Context, incidentID int64) ([]store.OutboxItem, error) {
	out, err := queryAll(ctx, s.r, scanOutbox, `SELECT `+outboxColumns+` FROM notify_outbox
		WHERE incident_id = ?1 OR id IN (SELECT outbox_id FROM notify_outbox_covers WHERE incident_id = ?1) ORDER BY id`, incidentID)
	if err != nil {
		return nil, fmt.Errorf("incident %d deliveries: %w", incidentID, err)
	}
	return out, nil
}

// IncidentAttempts lists the incident's delivery attempts.
func (s *Store) IncidentAttempts(ctx context.Context, incidentID int64) ([]store.DeliveryAttempt, error) {
	out, err := queryAll(ctx, s.r, func(r scanner) (store.DeliveryAttempt, error) {
		var (
			a  store.DeliveryAttempt
			at int64
		)
		err := r.Scan(&a.ID, &a.OutboxID, &a.IncidentID, &at, &a.Node, &a.Channel, &a.Recipient, &a.OK, &a.Status, &a.Error)
		a.At = fromMicros(at)
		return a, err
	}, `SELECT id, outbox_id, ?1, at, node, channel, recipient, ok, status, error
		FROM notify_attempts WHERE incident_id = ?1 OR outbox_id IN (SELECT outbox_id FROM notify_outbox_covers WHERE incident_id = ?1)
		ORDER BY at, id`, incidentID)
	if err != nil {
		return nil, fmt.Errorf("incident %d attempts: %w", incidentID, err)
	}
	return out, nil
}
