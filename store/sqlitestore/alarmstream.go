package sqlitestore

import (
	"context"
	"fmt"
	"strings"

	"github.com/radtrack/radtrack/rules"
	"github.com/radtrack/radtrack/store"
)

// EachAlarm streams the alarms matching f (f.Limit 0: all of them) oldest
// first (first seen, then id), from the cursor.
func (s *Store) EachAlarm(ctx context.Context, f store.AlarmFilter, fn func(*rules.Episode) error) error {
	q, args := alarmQuery(f, "first_seen, id", max(f.Limit, 0))
	rows, err := s.r.QueryContext(ctx, q, args...)
	if err != nil {
		return fmt.Errorf("stream alarms: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		ep, err := scanAlarm(rows)
		if err != nil {
			return fmt.Errorf("stream alarms: %w", err)
		}
		if err := fn(&ep); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("stream alarms: %w", err)
	}
	return nil
}

// alarmQuery is the SELECT of alarms matching f in the given order, with a
// LIMIT when limit > 0: one filter for the list and the stream.
func alarmQuery(f store.AlarmFilter, order string, limit int) (string, []any) {

	var (
		where []string
		args  []any
	)
	in := func(column string, values []string) {
		where = append(where, column+" IN ("+strings.TrimSuffix(strings.Repeat("?, ", len(values)), ", ")+")")
		for _, v := range values {
			args = append(args, v)
		}
	}
	if len(f.States) > 0 {
		states := make([]string, len(f.States))
		for i, st := range f.States {
			states[i] = string(st)
		}
		in("state", states)
	}
	if len(f.Severity) > 0 {
		sev := make([]string, len(f.Severity))
		for i, v := range f.Severity {
			sev[i] = string(v)
		}
		in("severity", sev)
	}
	if f.DeviceID != 0 {
		where, args = append(where, "device_id = ?"), append(args, f.DeviceID)
	}
	if !f.From.IsZero() {
		where, args = append(where, "first_seen >= ?"), append(args, micros(f.From))
	}
	if !f.To.IsZero() {
		where, args = append(where, "first_seen < ?"), append(args, micros(f.To))
	}
	if b := f.BBox; b != nil {
		where = append(where, "peak_lon BETWEEN ? AND ? AND peak_lat BETWEEN ? AND ?")
		args = append(args, b[0], b[2], b[1], b[3])
	}
	if f.Imported != nil {
		where, args = append(where, "imported = ?"), append(args, *f.Imported)
	}
	if f.Unfiled {
		where = append(where, "incident_id IS NULL")
	}
	q := `SELECT ` + alarmColumns + ` FROM alarms`
	if len(where) > 0 {
		q += " WHERE " + strings.Join(where, " AND ")
	}
	q += " ORDER BY " + order
	if limit > 0 {
		q += " LIMIT ?"
		args = append(args, limit)
	}
	return q, args
}
