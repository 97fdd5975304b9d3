package sqlitestore

import (
	"context"
	"fmt"
	"time"

	"github.com/radtrack/radtrack/store"
)

const fenceColumns = `id, name, kind, feature, created_at, updated_at, site_id`

func scanFence(row scanner) (store.Fence, error) {
	var (
		f                store.Fence
		feature          string
		created, updated int64
	)
	if err := row.Scan(&f.ID, &f.Name, &f.Kind, &feature, &created, &updated, &f.SiteID); err != nil {
		return f, err
	}
	f.Feature, f.CreatedAt, f.UpdatedAt = []byte(feature), fromMicros(created), fromMicros(updated)
	return f, nil
}

// ListFences returns every fence, oldest first.
func (s *Store) ListFences(ctx context.Context) ([]store.Fence, error) {
	out, err := queryAll(ctx, s.r, scanFence, `SELECT `+fenceColumns+` FROM fences ORDER BY id`)
	if err != nil {
		return nil, fmt.Errorf("list fences: %w", err)
	}
	return out, nil
}

// Fence returns one fence.
func (s *Store) Fence(ctx context.Context, id int64) (store.Fence, error) {
	f, err := scanFence(s.r.QueryRowContext(ctx, `SELECT `+fenceColumns+` FROM fences WHERE id = ?`, id))
	if err != nil {
		return f, fmt.Errorf("fence %d: %w", id, notFound(err))
	}
	return f, nil
}

// CreateFence stores a new fence.
func (s *Store) CreateFence(ctx context.Context, f store.Fence) (store.Fence, error) {
	now := micros(time.Now())
	created, err := scanFence(s.w.QueryRowContext(ctx, `INSERT INTO fences (name, kind, feature, created_at, updated_at, site_id)
		VALUES (?, ?, ?, ?, ?, ?) RETURNING `+fenceColumns, f.Name, f.Kind, jsonText(f.Feature), now, now, siteOrRoot(f.SiteID)))
	if err != nil {
		return created, fmt.Errorf("create fence %q: %w", f.Name, err)
	}
	return created, nil
}

// UpdateFence replaces a fence's name, kind and geometry.
func (s *Store) UpdateFence(ctx context.Context, f store.Fence) (store.Fence, error) {
	updated, err := scanFence(s.w.QueryRowContext(ctx, `UPDATE fences SET name = ?, kind = ?, feature = ?, updated_at = ?
		WHERE id = ? RETURNING `+fenceColumns, f.Name, f.Kind, jsonText(f.Feature), micros(time.Now()), f.ID))
	if err != nil {
		return updated, fmt.Errorf("update fence %d: %w", f.ID, notFound(err))
	}
	return updated, nil
}

// DeleteFence removes a fence. Alarms that name it keep its id.
func (s *Store) DeleteFence(ctx context.Context, id int64) error {
	if err := rowsAffected(s.w.ExecContext(ctx, `DELETE FROM fences WHERE id = ?`, id)); err != nil {
		return fmt.Errorf("delete fence %d: %w", id, err)
	}
	return nil
}
