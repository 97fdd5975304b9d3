package pgstore

import (
	"context"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/radtrack/radtrack/rules"
	"github.com/radtrack/radtrack/store"
)

// EachAlarm streams the alarms matching f (f.Limit 0: all of them) oldest
// first (first seen, then id), from the cursor: an export of a year of
// alarms takes the memory of one.
func (s *Store) EachAlarm(ctx context.Context, f store.AlarmFilter, fn func(*rules.Episode) error) error {
	q, args := alarmQuery(f, "first_seen, id", max(f.Limit, 0))
	var fnErr error // the caller's own error goes back as it is
	err := s.stream(ctx, q, args, func(rows pgx.Rows) error {
		ep, err := scanAlarm(rows)
		if err != nil {
			return err
		}
		fnErr = fn(&ep)
		return fnErr
	})
	if fnErr != nil {
		return fnErr
	}
	if err != nil {
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
	arg := func(v any) string { args = append(args, v); return fmt.Sprintf("$%d", len(args)) }
	if len(f.States) > 0 {
		states := make([]string, len(f.States))
		for i, st := range f.States {
			states[i] = string(st)
		}
		where = append(where, "state = ANY("+arg(states)+")")
	}
	if len(f.Severity) > 0 {
		sev := make([]string, len(f.Severity))
		for i, v := range f.Severity {
			sev[i] = string(v)
		}
		where = append(where, "severity = ANY("+arg(sev)+")")
	}
	if f.DeviceID != 0 {
		where = append(where, "device_id = "+arg(f.DeviceID))
	}
	if !f.From.IsZero() {
		where = append(where, "first_seen >= "+arg(f.From))
	}
	if !f.To.IsZero() {
		where = append(where, "first_seen < "+arg(f.To))
	}
	if f.BBox != nil {
		b := f.BBox
		where = append(where, fmt.Sprintf("peak_lon BETWEEN %s AND %s AND peak_lat BETWEEN %s AND %s", arg(b[0]), arg(b[2]), arg(b[1]), arg(b[3])))
	}
	if f.Imported != nil {
		where = append(where, "imported = "+arg(*f.Imported))
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
		q += " LIMIT " + arg(limit)
	}
	return q, args
}
