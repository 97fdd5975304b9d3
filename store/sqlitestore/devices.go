package sqlitestore

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/radtrack/radtrack/store"
)

const deviceColumns = `id, uid, name, group_name, cpm_per_usvh, legacy_id_only, revoked_at, created_at, updated_at, site_id`

func scanDevice(row scanner) (store.Device, error) {
	var (
		d                store.Device
		revoked          sql.NullInt64
		created, updated int64
	)
	if err := row.Scan(&d.ID, &d.UID, &d.Name, &d.Group, &d.CPMPerUSvH, &d.LegacyIDOnly, &revoked, &created, &updated, &d.SiteID); err != nil {
		return d, err
	}
	d.RevokedAt, d.CreatedAt, d.UpdatedAt = timePtr(revoked), fromMicros(created), fromMicros(updated)
	return d, nil
}

// CreateDevice stores a new device with its token hash.
func (s *Store) CreateDevice(ctx context.Context, d store.Device, tokenHash []byte) (store.Device, error) {
	if d.CPMPerUSvH == 0 {
		d.CPMPerUSvH = 334
	}
	now := micros(time.Now())
	created, err := scanDevice(s.w.QueryRowContext(ctx, `INSERT INTO devices
		(uid, name, group_name, token_hash, cpm_per_usvh, legacy_id_only, created_at, updated_at, site_id)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING `+deviceColumns,
		d.UID, d.Name, d.Group, tokenHash, d.CPMPerUSvH, d.LegacyIDOnly, now, now, siteOrRoot(d.SiteID)))
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
	d, err := scanDevice(s.r.QueryRowContext(ctx, `SELECT `+deviceColumns+` FROM devices WHERE token_hash = ?`, tokenHash))
	if err != nil {
		return store.Device{}, fmt.Errorf("device by token: %w", notFound(err))
	}
	return d, nil
}

// DeviceByUID finds a device by the identifier it reports.
func (s *Store) DeviceByUID(ctx context.Context, uid string) (store.Device, error) {
	d, err := scanDevice(s.r.QueryRowContext(ctx, `SELECT `+deviceColumns+` FROM devices WHERE uid = ?`, uid))
	if err != nil {
		return store.Device{}, fmt.Errorf("device %q: %w", uid, notFound(err))
	}
	return d, nil
}

// DeviceByID finds a device by its internal id.
func (s *Store) DeviceByID(ctx context.Context, id int64) (store.Device, error) {
	d, err := scanDevice(s.r.QueryRowContext(ctx, `SELECT `+deviceColumns+` FROM devices WHERE id = ?`, id))
	if err != nil {
		return store.Device{}, fmt.Errorf("device %d: %w", id, notFound(err))
	}
	return d, nil
}

// ListDevices returns every device, oldest first.
func (s *Store) ListDevices(ctx context.Context) ([]store.Device, error) {
	devices, err := queryAll(ctx, s.r, scanDevice, `SELECT `+deviceColumns+` FROM devices ORDER BY id`)
	if err != nil {
		return nil, fmt.Errorf("list devices: %w", err)
	}
	return devices, nil
}

// SetDeviceToken replaces a device's token (rotation); the old one stops
// working at once.
func (s *Store) SetDeviceToken(ctx context.Context, id int64, tokenHash []byte) error {
	err := rowsAffected(s.w.ExecContext(ctx, `UPDATE devices SET token_hash = ?, updated_at = ? WHERE id = ?`,
		tokenHash, micros(time.Now()), id))
	if isUniqueViolation(err) {
		return fmt.Errorf("set token of device %d: %w", id, store.ErrConflict)
	}
	if err != nil {
		return fmt.Errorf("set token of device %d: %w", id, err)
	}
	return nil
}

// RevokeDevice stops a device from reporting; its data stays.
func (s *Store) RevokeDevice(ctx context.Context, id int64, at time.Time) error {
	if err := rowsAffected(s.w.ExecContext(ctx, `UPDATE devices SET revoked_at = ?, updated_at = ? WHERE id = ?`,
		micros(at), micros(time.Now()), id)); err != nil {
		return fmt.Errorf("revoke device %d: %w", id, err)
	}
	return nil
}
