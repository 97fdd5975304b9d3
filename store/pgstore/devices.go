package pgstore

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/radtrack/radtrack/sample"
	"github.com/radtrack/radtrack/store"
)

const deviceColumns = `id, uid, name, group_name, cpm_per_usvh, legacy_id_only, revoked_at, created_at, updated_at, site_id`

func scanDevice(row pgx.Row) (store.Device, error) {
	var d store.Device
	err := row.Scan(&d.ID, &d.UID, &d.Name, &d.Group, &d.CPMPerUSvH, &d.LegacyIDOnly, &d.RevokedAt, &d.CreatedAt, &d.UpdatedAt, &d.SiteID)
	return d, err
}

// CreateDevice stores a new device with its token hash.
func (s *Store) CreateDevice(ctx context.Context, d store.Device, tokenHash []byte) (store.Device, error) {
	if d.CPMPerUSvH == 0 {
		d.CPMPerUSvH = 334
	}
	row := s.pool.QueryRow(ctx, `INSERT INTO devices (uid, name, group_name, token_hash, cpm_per_usvh, legacy_id_only, site_id)
		VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING `+deviceColumns,
		d.UID, d.Name, d.Group, tokenHash, d.CPMPerUSvH, d.LegacyIDOnly, siteOrRoot(d.SiteID))
	created, err := scanDevice(row)
	if isUniqueViolation(err) {
		return store.Device{}, fmt.Errorf("device %q: %w", d.UID, store.ErrConflict)
	}
	if err != nil {
		return store.Device{}, fmt.Errorf("create device %q: %w", d.UID, err)
	}
	return created, nil
}

// DeviceByTokenHash finds the device a token belongs to.
func (s *Store) DeviceByTokenHash(ctx context.Context, tokenHash []byte) (store.Device, error) {
	d, err := scanDevice(s.pool.QueryRow(ctx, `SELECT `+deviceColumns+` FROM devices WHERE token_hash = $1`, tokenHash))
	if err != nil {
		return store.Device{}, fmt.Errorf("device by token: %w", notFound(err))
	}
	return d, nil
}

// DeviceByUID finds a device by the identifier it reports.
func (s *Store) DeviceByUID(ctx context.Context, uid string) (store.Device, error) {
	if sample.CheckText("uid", uid) != nil {
		// No stored uid can hold it; asking would only make the server refuse it.
		return store.Device{}, fmt.Errorf("device %q: %w", uid, store.ErrNotFound)
	}
	d, err := scanDevice(s.pool.QueryRow(ctx, `SELECT `+deviceColumns+` FROM devices WHERE uid = $1`, uid))
	if err != nil {
		return store.Device{}, fmt.Errorf("device %q: %w", uid, notFound(err))
	}
	return d, nil
}

// DeviceByID finds a device by its internal id.
func (s *Store) DeviceByID(ctx context.Context, id int64) (store.Device, error) {
	d, err := scanDevice(s.pool.QueryRow(ctx, `SELECT `+deviceColumns+` FROM devices WHERE id = $1`, id))
	if err != nil {
		return store.Device{}, fmt.Errorf("device %d: %w", id, notFound(err))
	}
	return d, nil
}

// ListDevices returns every device, oldest first.
func (s *Store) ListDevices(ctx context.Context) ([]store.Device, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+deviceColumns+` FROM devices ORDER BY id`)
	if err != nil {
		return nil, fmt.Errorf("list devices: %w", err)
	}
	devices, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (store.Device, error) { return scanDevice(r) })
	if err != nil {
		return nil, fmt.Errorf("list devices: %w", err)
	}
	return devices, nil
}

// SetDeviceToken replaces a device's token (rotation); the old one stops
// working at once.
func (s *Store) SetDeviceToken(ctx context.Context, id int64, tokenHash []byte) error {
	tag, err := s.pool.Exec(ctx, `UPDATE devices SET token_hash = $2, updated_at = now() WHERE id = $1`, id, tokenHash)
	if isUniqueViolation(err) {
		return fmt.Errorf("set token of device %d: %w", id, store.ErrConflict)
	}
	if err != nil {
		return fmt.Errorf("set token of device %d: %w", id, err)
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("set token of device %d: %w", id, store.ErrNotFound)
	}
	return nil
}

// RevokeDevice stops a device from reporting; its data stays.
func (s *Store) RevokeDevice(ctx context.Context, id int64, at time.Time) error {
	tag, err := s.pool.Exec(ctx, `UPDATE devices SET revoked_at = $2, updated_at = now() WHERE id = $1`, id, at)
	if err != nil {
		return fmt.Errorf("revoke device %d: %w", id, err)
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("revoke device %d: %w", id, store.ErrNotFound)
	}
	return nil
}
