package sqlitestore

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/radtrack/radtrack/store"
)

const siteColumns = `id, parent_id, name, path, created_at`

func scanSite(row scanner) (store.Site, error) {
	var (
		s       store.Site
		parent  sql.NullInt64
		created int64
	)
	if err := row.Scan(&s.ID, &parent, &s.Name, &s.Path, &created); err != nil {
		return s, err
	}
	if parent.Valid {
		s.ParentID = &parent.Int64
	}
	s.CreatedAt = fromMicros(created)
	return s, nil
}

// siteOrRoot is the site a new row gets: the root when none is named.
func siteOrRoot(id int64) int64 {
	if id == 0 {
		return store.RootSiteID
	}
	return id
}

// CreateSite adds a child site. The path needs the new id, so the row is
// inserted with a provisional path and completed in the same transaction.
func (s *Store) CreateSite(ctx context.Context, site store.Site) (store.Site, error) {
	if site.ParentID == nil {
		return store.Site{}, fmt.Errorf("create site %q: a parent is required: %w", site.Name, store.ErrNotFound)
	}
	var created store.Site
	what := fmt.Sprintf("create site %q under %d", site.Name, *site.ParentID)
	err := s.writeTx(ctx, what, func(tx *sql.Tx) error {
		var parentPath string
		if err := tx.QueryRowContext(ctx, `SELECT path FROM sites WHERE id = ?`, *site.ParentID).Scan(&parentPath); err != nil {
			return fmt.Errorf("%s: %w", what, notFound(err))
		}
		res, err := tx.ExecContext(ctx, `INSERT INTO sites (parent_id, name, path) VALUES (?, ?, ?)`,
			*site.ParentID, site.Name, parentPath+"new:"+site.Name)
		if isUniqueViolation(err) {
			return fmt.Errorf("%s: %w", what, store.ErrConflict)
		}
		if err != nil {
			return fmt.Errorf("%s: %w", what, err)
		}
		id, err := res.LastInsertId()
		if err != nil {
			return fmt.Errorf("%s: %w", what, err)
		}
		created, err = scanSite(tx.QueryRowContext(ctx, `UPDATE sites SET path = ? WHERE id = ? RETURNING `+siteColumns,
			store.SitePath(parentPath, id), id))
		if err != nil {
			return fmt.Errorf("%s: %w", what, err)
		}
		return nil
	})
	return created, err
}

// ListSites returns the whole tree, parents before children.
func (s *Store) ListSites(ctx context.Context) ([]store.Site, error) {
	out, err := queryAll(ctx, s.r, scanSite, `SELECT `+siteColumns+` FROM sites ORDER BY path`)
	if err != nil {
		return nil, fmt.Errorf("list sites: %w", err)
	}
	return out, nil
}

// RenameSite changes a site's name.
func (s *Store) RenameSite(ctx context.Context, id int64, name string) (store.Site, error) {
	site, err := scanSite(s.w.QueryRowContext(ctx, `UPDATE sites SET name = ? WHERE id = ? RETURNING `+siteColumns, name, id))
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

// setSite sets site_id of one row of table (a constant of this file); the
// column has no foreign key here (0015), so the site is checked in the
// statement.
func (s *Store) setSite(ctx context.Context, table, what string, id, siteID int64) error {
	var exists bool
	if err := s.w.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM sites WHERE id = ?)`, siteID).Scan(&exists); err != nil {
		return fmt.Errorf("move %s %d to site %d: %w", what, id, siteID, err)
	}
	if !exists {
		return fmt.Errorf("move %s %d: site %d: %w", what, id, siteID, store.ErrNotFound)
	}
	err := rowsAffected(s.w.ExecContext(ctx, `UPDATE `+table+` SET site_id = ?, updated_at = ? WHERE id = ?`,
		siteID, micros(time.Now()), id))
	if err != nil {
		return fmt.Errorf("move %s %d to site %d: %w", what, id, siteID, err)
	}
	return nil
}
