package pgstore

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/radtrack/radtrack/store"
)

const overlayColumns = `id, name, features, feature_count, created_by, created_at`

func scanOverlay(row pgx.Row) (store.Overlay, error) {
	var o store.Overlay
	err := row.Scan(&o.ID, &o.Name, &o.Features, &o.FeatureCount, &o.CreatedBy, &o.CreatedAt)
	return o, err
}

// ListOverlays returns every site plan, oldest first.
func (s *Store) ListOverlays(ctx context.Context) ([]store.Overlay, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+overlayColumns+` FROM overlays ORDER BY id`)
	if err != nil {
		return nil, fmt.Errorf("list overlays: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (store.Overlay, error) { return scanOverlay(r) })
	if err != nil {
		return nil, fmt.Errorf("list overlays: %w", err)
	}
	return out, nil
}

// CreateOverlay stores a site plan; a taken name is ErrConflict.
func (s *Store) CreateOverlay(ctx context.Context, o store.Overlay) (store.Overlay, error) {
	created, err := scanOverlay(s.pool.QueryRow(ctx, `INSERT INTO overlays (name, features, feature_count, created_by)
		VALUES ($1, $2, $3, $4) RETURNING `+overlayColumns, o.Name, o.Features, o.FeatureCount, o.CreatedBy))
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
	tag, err := s.pool.Exec(ctx, `DELETE FROM overlays WHERE id = $1`, id)
	if err != nil {
		return fmt.Errorf("delete overlay %d: %w", id, err)
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("delete overlay %d: %w", id, store.ErrNotFound)
	}
	return nil
}
