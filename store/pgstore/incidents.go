package pgstore

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/radtrack/radtrack/rules"
	"github.com/radtrack/radtrack/store"
)

const incidentColumns = `id, imported, state, severity, first_seen, last_seen,
	peak_dose, peak_time, peak_lon, peak_lat, peak_gps_valid, peak_device_id,
	realarmed_at, acked_by, acked_at, resolved_by, resolved_at, code`

func scanIncident(row pgx.Row) (store.Incident, error) {
	var (
		inc                          store.Incident
		state, severity, code        string
		peak                         *float64
		realarmed, ackedAt, resolved *time.Time
	)
	err := row.Scan(&inc.ID, &inc.Imported, &state, &severity, &inc.FirstSeen, &inc.LastSeen,
		&peak, &inc.PeakTime, &inc.PeakLon, &inc.PeakLat, &inc.PeakGPSValid, &inc.PeakDeviceID,
		&realarmed, &inc.AckedBy, &ackedAt, &inc.ResolvedBy, &resolved, &code)
	if err != nil {
		return inc, err
	}
	inc.State, inc.Severity, inc.Code = rules.State(state), rules.Severity(severity), rules.Code(code)
	inc.PeakDose = orNaN(peak)
	inc.FirstSeen, inc.LastSeen, inc.PeakTime = inc.FirstSeen.UTC(), inc.LastSeen.UTC(), inc.PeakTime.UTC()
	inc.RealarmedAt, inc.AckedAt, inc.ResolvedAt = utcOrZero(realarmed), utcOrZero(ackedAt), utcOrZero(resolved)
	inc.Alarms = []rules.Episode{}
	return inc, nil
}

// SaveIncident implements store.Incidents.
func (s *Store) SaveIncident(ctx context.Context, inc store.Incident, addAlarms ...int64) (int64, error) {
	// One statement (the incident and its new alarms in one implicit
	// transaction): the incident filer saves one incident after another,
	// and in a storm of raises every round trip of a BEGIN … COMMIT is
	// paid a hundred times in a row.
	if addAlarms == nil {
		addAlarms = []int64{}
	}
	args := []any{inc.Imported, string(inc.State), string(inc.Severity), inc.FirstSeen, inc.LastSeen,
		opt(inc.PeakDose), inc.PeakTime, inc.PeakLon, inc.PeakLat, inc.PeakGPSValid, inc.PeakDeviceID,
		nullTime(inc.RealarmedAt), inc.AckedBy, nullTime(inc.AckedAt), inc.ResolvedBy, nullTime(inc.ResolvedAt), string(inc.Code), addAlarms}
	id := inc.ID
	var err error
	if id == 0 {
		err = s.pool.QueryRow(ctx, `WITH i AS (INSERT INTO incidents (imported, state, severity, first_seen, last_seen,
				peak_dose, peak_time, peak_lon, peak_lat, peak_gps_valid, peak_device_id,
				realarmed_at, acked_by, acked_at, resolved_by, resolved_at, code)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17) RETURNING id),
			a AS (UPDATE alarms SET incident_id = (SELECT id FROM i) WHERE id = ANY($18::int8[]))
			SELECT id FROM i`, args...).Scan(&id)
	} else {
		var n int
		err = s.pool.QueryRow(ctx, `WITH u AS (UPDATE incidents SET imported = $1, state = $2, severity = $3, first_seen = $4, last_seen = $5,
				peak_dose = $6, peak_time = $7, peak_lon = $8, peak_lat = $9, peak_gps_valid = $10, peak_device_id = $11,
				realarmed_at = $12, acked_by = $13, acked_at = $14, resolved_by = $15, resolved_at = $16, code = $17,
				updated_at = now()
			WHERE id = $19 RETURNING id),
			a AS (UPDATE alarms SET incident_id = $19 WHERE id = ANY($18::int8[]) AND EXISTS (SELECT 1 FROM u))
			SELECT count(*) FROM u`, append(args, id)...).Scan(&n)
		if err == nil && n == 0 {
			err = store.ErrNotFound
		}
	}
	if err != nil {
		return 0, fmt.Errorf("save incident %d (alarms %v): %w", id, addAlarms, err)
	}
	return id, nil
}

// Incident implements store.Incidents.
func (s *Store) Incident(ctx context.Context, id int64) (store.Incident, error) {
	inc, err := scanIncident(s.pool.QueryRow(ctx, `SELECT `+incidentColumns+` FROM incidents WHERE id = $1`, id))
	if err != nil {
		return inc, fmt.Errorf("incident %d: %w", id, notFound(err))
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
	arg := func(v any) string { args = append(args, v); return fmt.Sprintf("$%d", len(args)) }
	if len(f.States) > 0 {
		states := make([]string, len(f.States))
		for i, st := range f.States {
			states[i] = string(st)
		}
		where = append(where, "state = ANY("+arg(states)+")")
	}
	if f.Imported != nil {
		where = append(where, "imported = "+arg(*f.Imported))
	}
	if !f.Since.IsZero() {
		where = append(where, "last_seen >= "+arg(f.Since))
	}
	if n := f.Near; n != nil {
		near := "a.device_id = " + arg(n.DeviceID)
		if b := n.Box; b != nil {
			near += " OR (a.peak_gps_valid AND a.peak_lon BETWEEN " + arg(b[0]) + " AND " + arg(b[2]) +
				" AND a.peak_lat BETWEEN " + arg(b[1]) + " AND " + arg(b[3]) + ")"
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
		` + severityRankSQL("severity") + ` DESC, last_seen DESC, id DESC LIMIT ` + arg(limit)
	rows, err := s.pool.Query(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("list incidents: %w", err)
	}
	list, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (store.Incident, error) { return scanIncident(r) })
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
	ids := make([]int64, len(list))
	at := make(map[int64]int, len(list))
	for i, inc := range list {
		ids[i], at[inc.ID] = inc.ID, i
	}
	rows, err := s.pool.Query(ctx, `SELECT incident_id, `+alarmColumns+` FROM alarms
		WHERE incident_id = ANY($1) ORDER BY first_seen DESC, id DESC`, ids)
	if err != nil {
		return fmt.Errorf("alarms of incidents: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var incID int64
		ep, err := scanAlarm(prefixRow{rows, &incID})
		if err != nil {
			return fmt.Errorf("alarms of incidents: %w", err)
		}
		i := at[incID]
		list[i].Alarms = append(list[i].Alarms, ep)
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("alarms of incidents: %w", err)
	}
	return nil
}

// prefixRow scans a leading column into first, the rest as the row's owner
// expects.
type prefixRow struct {
	pgx.Row
	first any
}

func (r prefixRow) Scan(dest ...any) error { return r.Row.Scan(append([]any{r.first}, dest...)...) }

// AlarmIncident implements store.Incidents.
func (s *Store) AlarmIncident(ctx context.Context, alarmID int64) (int64, error) {
	var id *int64
	if err := s.pool.QueryRow(ctx, `SELECT incident_id FROM alarms WHERE id = $1`, alarmID).Scan(&id); err != nil {
		return 0, fmt.Errorf("incident of alarm %d: %w", alarmID, notFound(err))
	}
	if id == nil {
		return 0, nil
	}
	return *id, nil
}
