package sqlitestore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/radtrack/radtrack/rules"
	"github.com/radtrack/radtrack/store"
)

const incidentColumns = `id, imported, state, severity, first_seen, last_seen,
	peak_dose, peak_time, peak_lon, peak_lat, peak_gps_valid, peak_device_id,
	realarmed_at, acked_by, acked_at, resolved_by, resolved_at, code`

func scanIncident(row scanner) (store.Incident, error) {
	var (
		inc                          store.Incident
		state, severity, code        string
		first, last, peakTime        int64
		peak                         sql.NullFloat64
		realarmed, ackedAt, resolved sql.NullInt64
	)
	err := row.Scan(&inc.ID, &inc.Imported, &state, &severity, &first, &last,
		&peak, &peakTime, &inc.PeakLon, &inc.PeakLat, &inc.PeakGPSValid, &inc.PeakDeviceID,
		&realarmed, &inc.AckedBy, &ackedAt, &inc.ResolvedBy, &resolved, &code)
	if err != nil {
		return inc, err
	}
	inc.State, inc.Severity, inc.Code = rules.State(state), rules.Severity(severity), rules.Code(code)
	inc.PeakDose = orNaN(peak)
	inc.FirstSeen, inc.LastSeen, inc.PeakTime = fromMicros(first), fromMicros(last), fromMicros(peakTime)
	inc.RealarmedAt, inc.AckedAt, inc.ResolvedAt = timeOrZero(realarmed), timeOrZero(ackedAt), timeOrZero(resolved)
	inc.Alarms = []rules.Episode{}
	return inc, nil
}

// SaveIncident implements store.Incidents.
func (s *Store) SaveIncident(ctx context.Context, inc store.Incident, addAlarms ...int64) (int64, error) {
	id := inc.ID
	err := s.writeTx(ctx, fmt.Sprintf("save incident %d", id), func(tx *sql.Tx) error {
		now := micros(time.Now())
		args := []any{inc.Imported, string(inc.State), string(inc.Severity), micros(inc.FirstSeen), micros(inc.LastSeen),
			opt(inc.PeakDose), micros(inc.PeakTime), inc.PeakLon, inc.PeakLat, inc.PeakGPSValid, inc.PeakDeviceID,
			nullMicros(inc.RealarmedAt), inc.AckedBy, nullMicros(inc.AckedAt), inc.ResolvedBy, nullMicros(inc.ResolvedAt), string(inc.Code), now}
		if id == 0 {
			err := tx.QueryRowContext(ctx, `INSERT INTO incidents (imported, state, severity, first_seen, last_seen,
					peak_dose, peak_time, peak_lon, peak_lat, peak_gps_valid, peak_device_id,
					realarmed_at, acked_by, acked_at, resolved_by, resolved_at, code, updated_at, created_at)
				VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`, append(args, now)...).Scan(&id)
			if err != nil {
				return fmt.Errorf("insert incident: %w", err)
			}
		} else {
			err := rowsAffected(tx.ExecContext(ctx, `UPDATE incidents SET imported = ?, state = ?, severity = ?, first_seen = ?, last_seen = ?,
					peak_dose = ?, peak_time = ?, peak_lon = ?, peak_lat = ?, peak_gps_valid = ?, peak_device_id = ?,
					realarmed_at = ?, acked_by = ?, acked_at = ?, resolved_by = ?, resolved_at = ?, code = ?, updated_at = ?
				WHERE id = ?`, append(args, id)...))
			if err != nil {
				return fmt.Errorf("save incident %d: %w", id, err)
			}
		}
		for _, a := range addAlarms {
			if _, err := tx.ExecContext(ctx, `UPDATE alarms SET incident_id = ? WHERE id = ?`, id, a); err != nil {
				return fmt.Errorf("put alarm %d into incident %d: %w", a, id, err)
			}
		}
		return nil
	})
	return id, err
}

// Incident implements store.Incidents.
func (s *Store) Incident(ctx context.Context, id int64) (store.Incident, error) {
	inc, err := scanIncident(s.r.QueryRowContext(ctx, `SELECT `+incidentColumns+` FROM incidents WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return inc, fmt.Errorf("incident %d: %w", id, store.ErrNotFound)
	}
	if err != nil {
		return inc, fmt.Errorf("incident %d: %w", id, err)
	}
	list := []store.Incident{inc}
	if err := s.attachAlarms(ctx, list); err != nil {
		return inc, err
	}
	return list[0], nil
}

// ListIncidents implements store.Incidents.
func (s *Store) ListIncidents(ctx context.Context, f store.IncidentFilter) ([]store.Incident, error) {
	var (
		where []string
		args  []any
	)
	if len(f.States) > 0 {
		marks := make([]string, len(f.States))
		for i, st := range f.States {
			marks[i] = "?"
			args = append(args, string(st))
		}
		where = append(where, "state IN ("+strings.Join(marks, ", ")+")")
	}
	if f.Imported != nil {
		where = append(where, "imported = ?")
		args = append(args, *f.Imported)
	}
	if !f.Since.IsZero() {
		where = append(where, "last_seen >= ?")
		args = append(args, micros(f.Since))
	}
	if n := f.Near; n != nil {
		near := "a.device_id = ?"
		args = append(args, n.DeviceID)
		if b := n.Box; b != nil {
			near += " OR (a.peak_gps_valid AND a.peak_lon BETWEEN ? AND ? AND a.peak_lat BETWEEN ? AND ?)"
			args = append(args, b[0], b[2], b[1], b[3])
		}
		where = append(where, "EXISTS (SELECT 1 FROM alarms a WHERE a.incident_id = incidents.id AND ("+near+"))")
	}
	limit := f.Limit
	if limit <= 0 || limit > maxAlarms {
		limit = maxAlarms
	}
	q := `SELECT ` + incidentColumns + ` FROM incidents`
	if len(where) > 0 {
		q += " WHERE " + strings.Join(where, " AND ")
	}
	q += ` ORDER BY CASE state WHEN 'raised' THEN 0 WHEN 'acknowledged' THEN 1 ELSE 2 END,
		CASE severity WHEN 'critical' THEN 0 WHEN 'alarm' THEN 1 WHEN 'warning' THEN 2 WHEN 'notice' THEN 3 ELSE 4 END,
		last_seen DESC, id DESC LIMIT ?`
	args = append(args, limit)
	list, err := queryAll(ctx, s.r, scanIncident, q, args...)
	if err != nil {
		return nil, fmt.Errorf("list incidents: %w", err)
	}
	if err := s.attachAlarms(ctx, list); err != nil {
		return nil, err
	}
	return list, nil
}

// attachAlarms fills each incident's Alarms, newest first.
func (s *Store) attachAlarms(ctx context.Context, list []store.Incident) error {
	if len(list) == 0 {
		return nil
	}
	at := make(map[int64]int, len(list))
	marks := make([]string, len(list))
	args := make([]any, len(list))
	for i, inc := range list {
		at[inc.ID], marks[i], args[i] = i, "?", inc.ID
	}
	type member struct {
		incident int64
		alarm    rules.Episode
	}
	rows, err := queryAll(ctx, s.r, func(row scanner) (member, error) {
		var m member
		var err error
		m.alarm, err = scanAlarm(prefixRow{row, &m.incident})
		return m, err
	}, `SELECT incident_id, `+alarmColumns+` FROM alarms WHERE incident_id IN (`+strings.Join(marks, ", ")+`)
		ORDER BY first_seen DESC, id DESC`, args...)
	if err != nil {
		return fmt.Errorf("alarms of incidents: %w", err)
	}
	for _, m := range rows {
		i := at[m.incident]
		list[i].Alarms = append(list[i].Alarms, m.alarm)
	}
	return nil
}

// prefixRow scans a leading column into first, the rest as the row's owner
// expects.
type prefixRow struct {
	scanner
	first any
}

func (r prefixRow) Scan(dest ...any) error { return r.scanner.Scan(append([]any{r.first}, dest...)...) }

// AlarmIncident implements store.Incidents.
func (s *Store) AlarmIncident(ctx context.Context, alarmID int64) (int64, error) {
	var id sql.NullInt64
	err := s.r.QueryRowContext(ctx, `SELECT incident_id FROM alarms WHERE id = ?`, alarmID).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, fmt.Errorf("incident of alarm %d: %w", alarmID, store.ErrNotFound)
	}
	if err != nil {
		return 0, fmt.Errorf("incident of alarm %d: %w", alarmID, err)
	}
	return id.Int64, nil
}
