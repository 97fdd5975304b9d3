package sqlitestore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/radtrack/radtrack/store"
)

const shiftColumns = `id, device_id, crew, starts_at, ends_at, note, created_by, created_at, updated_at`

func scanShift(row scanner) (store.Shift, error) {
	var (
		sh                         store.Shift
		start, end, created, updat int64
	)
	err := row.Scan(&sh.ID, &sh.DeviceID, &sh.Crew, &start, &end, &sh.Note, &sh.CreatedBy, &created, &updat)
	sh.Start, sh.End, sh.CreatedAt, sh.UpdatedAt = fromMicros(start), fromMicros(end), fromMicros(created), fromMicros(updat)
	return sh, err
}

// ListShifts returns the matching shifts, oldest start first.
func (s *Store) ListShifts(ctx context.Context, f store.ShiftFilter) ([]store.Shift, error) {
	var (
		where []string
		args  []any
	)
	if f.DeviceID != 0 {
		where, args = append(where, "device_id = ?"), append(args, f.DeviceID)
	}
	if f.Crew != "" {
		where, args = append(where, "crew = ?"), append(args, f.Crew)
	}
	if !f.From.IsZero() {
		where, args = append(where, "ends_at > ?"), append(args, micros(f.From))
	}
	if !f.To.IsZero() {
		where, args = append(where, "starts_at < ?"), append(args, micros(f.To))
	}
	q := `SELECT ` + shiftColumns + ` FROM shifts`
	if len(where) > 0 {
		q += " WHERE " + strings.Join(where, " AND ")
	}
	limit := f.Limit
	if limit <= 0 || limit > store.MaxShifts {
		limit = store.MaxShifts
	}
	out, err := queryAll(ctx, s.r, scanShift, q+` ORDER BY starts_at, id LIMIT ?`, append(args, limit)...)
	if err != nil {
		return nil, fmt.Errorf("list shifts: %w", err)
	}
	return out, nil
}

// Shift returns one shift.
func (s *Store) Shift(ctx context.Context, id int64) (store.Shift, error) {
	sh, err := scanShift(s.r.QueryRowContext(ctx, `SELECT `+shiftColumns+` FROM shifts WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return sh, fmt.Errorf("shift %d: %w", id, store.ErrNotFound)
	}
	if err != nil {
		return sh, fmt.Errorf("shift %d: %w", id, err)
	}
	return sh, nil
}

// CreateShift stores a shift.
func (s *Store) CreateShift(ctx context.Context, sh store.Shift) (store.Shift, error) {
	now := micros(time.Now())
	created, err := scanShift(s.w.QueryRowContext(ctx, `INSERT INTO shifts (device_id, crew, starts_at, ends_at, note, created_by, created_at, updated_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING `+shiftColumns,
		sh.DeviceID, sh.Crew, micros(sh.Start), micros(sh.End), sh.Note, sh.CreatedBy, now, now))
	if err != nil {
		return store.Shift{}, fmt.Errorf("create shift of device %d: %w", sh.DeviceID, err)
	}
	return created, nil
}

// UpdateShift replaces a shift's device, crew, times and note.
func (s *Store) UpdateShift(ctx context.Context, sh store.Shift) (store.Shift, error) {
	updated, err := scanShift(s.w.QueryRowContext(ctx, `UPDATE shifts SET device_id = ?, crew = ?, starts_at = ?, ends_at = ?, note = ?, updated_at = ?
		WHERE id = ? RETURNING `+shiftColumns,
		sh.DeviceID, sh.Crew, micros(sh.Start), micros(sh.End), sh.Note, micros(time.Now()), sh.ID))
	if errors.Is(err, sql.ErrNoRows) {
		return updated, fmt.Errorf("update shift %d: %w", sh.ID, store.ErrNotFound)
	}
	if err != nil {
		return updated, fmt.Errorf("update shift %d: %w", sh.ID, err)
	}
	return updated, nil
}

// DeleteShift removes a shift.
func (s *Store) DeleteShift(ctx context.Context, id int64) error {
	if err := rowsAffected(s.w.ExecContext(ctx, `DELETE FROM shifts WHERE id = ?`, id)); err != nil {
		return fmt.Errorf("delete shift %d: %w", id, err)
	}
	return nil
}
