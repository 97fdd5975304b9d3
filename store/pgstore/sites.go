package pgstore

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/radtrack/radtrack/store"
)

const siteColumns = `id, parent_id, name, path, created_at`

func scanSite(row pgx.Row) (store.Site, error) {
	var s store.Site
	err := row.Scan(&s.ID, &s.ParentID, &s.Name, &s.Path, &s.CreatedAt)
	return s, err
}

// siteOrRoot is the site a new row gets: the root when none is named.
func siteOrRoot(id int64) int64 {
	if id == 0 {
		return store.RootSiteID
	}
	return id
}

func isForeignKeyViolation(err error) bool {
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) && pgErr.Code == "23503"
}

// CreateSite adds a child site; its path is its parent's plus its own id,
// computed in the one statement (no row when the parent does not exist).
func (s *Store) CreateSite(ctx context.Context, site store.Site) (store.Site, error) {
	if site.ParentID == nil {
		return store.Site{}, fmt.Errorf("create site %q: a parent is required: %w", site.Name, store.ErrNotFound)
	}
	created, err := scanSite(s.pool.QueryRow(ctx, `WITH p AS (SELECT id, path FROM sites WHERE id = $1),
		n AS (SELECT nextval(pg_get_serial_sequence('sites', 'id')) AS id)
		INSERT INTO sites (id, parent_id, name, path)
		SELECT n.id, p.id, $2, p.path || n.id || '/' FROM p, n
		RETURNING `+siteColumns, *site.ParentID, site.Name))
	if isUniqueViolation(err) {
		return store.Site{}, fmt.Errorf("site %q under %d: %w", site.Name, *site.ParentID, store.ErrConflict)
	}
	if err != nil {
		return store.Site{}, fmt.Errorf("create site %q under %d: %w", site.Name, *site.ParentID, notFound(err))
	}
	return created, nil
}

// ListSites returns the whole tree, parents before children.
func (s *Store) ListSites(ctx context.Context) ([]store.Site, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+siteColumns+` FROM sites ORDER BY path`)
	if err != nil {
		return nil, fmt.Errorf("list sites: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (store.Site, error) { return scanSite(r) })
	if err != nil {
		return nil, fmt.Errorf("list sites: %w", err)
	}
	return out, nil
}

// RenameSite changes a site's name.
func (s *Store) RenameSite(ctx context.Context, id int64, name string) (store.Site, error) {
	site, err := scanSite(s.pool.QueryRow(ctx, `UPDATE sites SET name = $2 WHERE id = $1 RETURNING `+siteColumns, id, name))
	if isUniqueViolation(err) {
		return store.Site{}, fmt.Errorf("rename site %d to %q: %w", id, name, store.ErrConflict)
	}
	if err != nil {
		return store.Site{}, fmt.Errorf("rename site %d: %w", id, notFound(err))
	}
	return site, nil
}

// SetDeviceSite moves a device to a site.
func (s *Store) SetDeviceSite(ctx context.Context, deviceID, siteID int64) error {
	return s.setSite(ctx, "devices", "device", deviceID, siteID)
}

// SetUserSite moves a user to a site.
func (s *Store) SetUserSite(ctx context.Context, userID, siteID int64) error {
	return s.setSite(ctx, "users", "user", userID, siteID)
}

// setSite sets site_id of one row of table (a constant of this file).
func (s *Store) setSite(ctx context.Context, table, what string, id, siteID int64) error {
	tag, err := s.pool.Exec(ctx, `UPDATE `+table+` SET site_id = $2, updated_at = now() WHERE id = $1`, id, siteID)
	switch {
	case isForeignKeyViolation(err):
		return fmt.Errorf("move %s %d: site %d: %w", what, id, siteID, store.ErrNotFound)
	case err != nil:
		return fmt.Errorf("move %s %d to site %d: %w", what, id, siteID, err)
	case tag.RowsAffected() == 0:
		return fmt.Errorf("move %s %d: %w", what, id, store.ErrNotFound)
	}
	return nil
}
