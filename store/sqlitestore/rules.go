package sqlitestore

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"time"

	"github.com/radtrack/radtrack/rules"
)

func scanRule(row scanner) (rules.Rule, error) {
	var (
		id  int64
		def string
		r   rules.Rule
	)
	if err := row.Scan(&id, &def); err != nil {
		return r, err
	}
	if err := json.Unmarshal([]byte(def), &r); err != nil {
		return r, fmt.Errorf("decode rule %d: %w", id, err)
	}
	r.ID = id
	return r, nil
}

// SeedRules stores the default rules on an installation's first start; a
// settings row remembers that it happened, so rules an operator deleted
// never come back.
func (s *Store) SeedRules(ctx context.Context, defaults []rules.Rule) (bool, error) {
	seeded := false
	err := s.writeTx(ctx, "seed rules", func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `INSERT INTO settings (key, value) VALUES ('rules_seeded', 'true') ON CONFLICT DO NOTHING`)
		if err != nil {
			return fmt.Errorf("seed rules: %w", err)
		}
		if n, err := res.RowsAffected(); err != nil || n == 0 {
			return err
		}
		now := micros(time.Now())
		for _, r := range defaults {
			r.ID = 0
			def, err := json.Marshal(r)
			if err != nil {
				return fmt.Errorf("encode rule %q: %w", r.Name, err)
			}
			if _, err := tx.ExecContext(ctx, `INSERT INTO rules (definition, created_at, updated_at) VALUES (?, ?, ?)`,
				string(def), now, now); err != nil {
				return fmt.Errorf("seed rule %q: %w", r.Name, err)
			}
		}
		seeded = true
		return nil
	})
	if err != nil {
		return false, err
	}
	return seeded, nil
}

// ListRules returns every rule, in id order.
func (s *Store) ListRules(ctx context.Context) ([]rules.Rule, error) {
	out, err := queryAll(ctx, s.r, scanRule, `SELECT id, definition FROM rules ORDER BY id`)
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
	now := micros(time.Now())
	created, err := scanRule(s.w.QueryRowContext(ctx, `INSERT INTO rules (definition, created_at, updated_at, site_id) VALUES (?, ?, ?, ?)
		RETURNING id, definition`, string(def), now, now, siteOrRoot(r.SiteID)))
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
	updated, err := scanRule(s.w.QueryRowContext(ctx, `UPDATE rules SET definition = ?, updated_at = ?, site_id = ? WHERE id = ?
		RETURNING id, definition`, string(def), micros(time.Now()), siteOrRoot(r.SiteID), r.ID))
	if err != nil {
		return updated, fmt.Errorf("update rule %d: %w", r.ID, notFound(err))
	}
	return updated, nil
}

// DeleteRule removes a rule. Its alarms stay, with its name.
func (s *Store) DeleteRule(ctx context.Context, id int64) error {
	if err := rowsAffected(s.w.ExecContext(ctx, `DELETE FROM rules WHERE id = ?`, id)); err != nil {
		return fmt.Errorf("delete rule %d: %w", id, err)
	}
	return nil
}

// ConfigVersion reads the counter the fence and rule triggers move.
func (s *Store) ConfigVersion(ctx context.Context) (int64, error) {
	var v int64
	if err := s.r.QueryRowContext(ctx, `SELECT version FROM config_version`).Scan(&v); err != nil {
		return 0, fmt.Errorf("read config version: %w", err)
	}
	return v, nil
}
