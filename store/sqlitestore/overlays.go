package sqlitestore

import (
	"context"
	"fmt"
	"time"

	"github.com/radtrack/radtrack/store"
)

const overlayColumns = `id, name, features, feature_count, created_by, created_at`

func scanOverlay(row scanner) (store.Overlay, error) {
	var (
		o        store.Overlay
		features string
		created  int64
	)
	if err := row.Scan(&o.ID, &o.Name, &features, &o.FeatureCount, &o.CreatedBy, &created); err != nil {
		return o, err
	}
	o.Features, o.CreatedAt = []byte(features), fromMicros(created)
	return o, nil
}

// ListOverlays returns every site plan, oldest first.
func (s *Store) ListOverlays(ctx context.Context) ([]store.Overlay, error) {
	out, err := queryAll(ctx, s.r, scanOverlay, `SELECT `+overlayColumns+` FROM overlays ORDER BY id`)
	if err != nil {
		return nil, fmt.Errorf("list overlays: %w", err)
	}
	return out, nil
}

// CreateOverlay stores a site plan; a taken name is ErrConflict.
func (s *Store) CreateOverlay(ctx context.Context, o store.Overlay) (store.Overlay, error) {
	created, err := scanOverlay(s.w.QueryRowContext(ctx, `INSERT INTO overlays (name, features, feature_count, created_by, created_at)
		VALUES (?, ?, ?, ?, ?) RETURNING `+overlayColumns, o.Name, jsonText(o.Features), o.FeatureCount, o.CreatedBy, micros(time.Now())))
	if isUniqueViolation(err) {
		return store.Overlay{}, fmt.Errorf("overlay %q: %w", o.Name, store.ErrConflict)
	}
	if err != nil {
		return store.Overlay{}, fmt.Errorf("create overlay %q: %w", o.Name, err)
	}
	return created, nil
}

// DeleteOverlay removes a site plan.
func (s *Store) DeleteOverlay(ctx context.Context, id int64) error {
	if err := rowsAffected(s.w.ExecContext(ctx, `DELETE FROM overlays WHERE id = ?`, id)); err != nil {
		return fmt.Errorf("delete overlay %d: %w", id, err)
	}
	return nil
}
