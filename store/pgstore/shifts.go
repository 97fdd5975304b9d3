package pgstore

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/radtrack/radtrack/store"
)

const shiftColumns = `id, device_id, crew, starts_at, ends_at, note, created_by, created_at, updated_at`

func scanShift(row pgx.Row) (store.Shift, error) {
	var sh store.Shift
	err := row.Scan(&sh.ID, &sh.DeviceID, &sh.Crew, &sh.Start, &sh.End, &sh.Note, &sh.CreatedBy, &sh.CreatedAt, &sh.UpdatedAt)
	sh.Start, sh.End, sh.CreatedAt, sh.UpdatedAt = sh.Start.UTC(), sh.End.UTC(), sh.CreatedAt.UTC(), sh.UpdatedAt.UTC()
	return sh, err
}

// ListShifts returns the matching shifts, oldest start first.
func (s *Store) ListShifts(ctx context.Context, f store.ShiftFilter) ([]store.Shift, error) {
	var (
		where []string
		args  []any
	)
	arg := func(v any) string { args = append(args, v); return fmt.Sprintf("$%d", len(args)) }
	if f.DeviceID != 0 {
		where = append(where, "device_id = "+arg(f.DeviceID))
	}
	if f.Crew != "" {
		where = append(where, "crew = "+arg(f.Crew))
	}
	if !f.From.IsZero() {
		where = append(where, "ends_at > "+arg(f.From))
	}
	if !f.To.IsZero() {
		where = append(where, "starts_at < "+arg(f.To))
	}
	q := `SELECT ` + shiftColumns + ` FROM shifts`
	if len(where) > 0 {
		q += " WHERE " + strings.Join(where, " AND ")
	}
	limit := f.Limit
	if limit <= 0 || limit > store.MaxShifts {
		limit = store.MaxShifts
	}
	rows, err := s.pool.Query(ctx, q+` ORDER BY starts_at, id LIMIT `+arg(limit), args...)
	if err != nil {
		return nil, fmt.Errorf("list shifts: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (store.Shift, error) { return scanShift(r) })
	if err != nil {
		return nil, fmt.Errorf("list shifts: %w", err)
	}
	return out, nil
}

// Shift returns one shift.
func (s *Store) Shift(ctx context.Context, id int64) (store.Shift, error) {
	sh, err := scanShift(s.pool.QueryRow(ctx, `SELECT `+shiftColumns+` FROM shifts WHERE id = $1`, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return sh, fmt.Errorf("shift %d: %w", id, store.ErrNotFound)
	}
	if err != nil {
		return sh, fmt.Errorf("shift %d: %w", id, err)
	}
	return sh, nil
}

// CreateShift stores a shift.
func (s *Store) CreateShift(ctx context.Context, sh store.Shift) (store.Shift, error) {
	created, err := scanShift(s.pool.QueryRow(ctx, `INSERT INTO shifts (device_id, crew, starts_at, ends_at, note, created_by)
		VALUES ($1, $2, $3, $4, $5, $6) RETURNING `+shiftColumns,
		sh.DeviceID, sh.Crew, sh.Start, sh.End, sh.Note, sh.CreatedBy))
	if err != nil {
		return store.Shift{}, fmt.Errorf("create shift of device %d: %w", sh.DeviceID, err)
	}
	return created, nil
}

// UpdateShift replaces a shift's device, crew, times and note.
func (s *Store) UpdateShift(ctx context.Context, sh store.Shift) (store.Shift, error) {
	updated, err := scanShift(s.pool.QueryRow(ctx, `UPDATE shifts SET device_id = $1, crew = $2, starts_at = $3, ends_at = $4, note = $5, updated_at = now()
		WHERE id = $6 RETURNING `+shiftColumns, sh.DeviceID, sh.Crew, sh.Start, sh.End, sh.Note, sh.ID))
	if errors.Is(err, pgx.ErrNoRows) {
		return updated, fmt.Errorf("update shift %d: %w", sh.ID, store.ErrNotFound)
	}
	if err != nil {
		return updated, fmt.Errorf("update shift %d: %w", sh.ID, err)
	}
	return updated, nil
}

// DeleteShift removes a shift.
func (s *Store) DeleteShift(ctx context.Context, id int64) error {
	tag, err := s.pool.Exec(ctx, `DELETE FROM shifts WHERE id = $1`, id)
	if err != nil {
		return fmt.Errorf("delete shift %d: %w", id, err)
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("delete shift %d: %w", id, store.ErrNotFound)
	}
	return nil
}
