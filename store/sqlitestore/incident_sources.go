package sqlitestore

import (
	"context"
	"database/sql"
	"fmt"
	"strings"

	"github.com/radtrack/radtrack/store"
)

// SaveIncidentSource implements store.IncidentSources.
func (s *Store) SaveIncidentSource(ctx context.Context, src store.IncidentSource) error {
	what := fmt.Sprintf("save source of incident %d", src.IncidentID)
	return s.writeTx(ctx, what, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `INSERT INTO incident_sources (incident_id, fitted_at, through, estimate)
			SELECT ?1, ?2, ?3, ?4 WHERE EXISTS (SELECT 1 FROM incidents WHERE id = ?1)
			ON CONFLICT (incident_id) DO UPDATE SET fitted_at = excluded.fitted_at, through = excluded.through, estimate = excluded.estimate`,
			src.IncidentID, micros(src.FittedAt), micros(src.Through), string(src.Estimate))
		if err != nil {
			return fmt.Errorf("%s: %w", what, err)
		}
		if n, err := res.RowsAffected(); err != nil || n == 0 {
			return fmt.Errorf("%s: %w", what, store.ErrNotFound)
		}
		return nil
	})
}

// IncidentSource implements store.IncidentSources.
func (s *Store) IncidentSource(ctx context.Context, id int64) (store.IncidentSource, error) {
	list, err := s.incidentSources(ctx, []int64{id})
	return store.OneIncidentSource(id, list, err)
}

// IncidentSourcesOf implements store.IncidentSources.
func (s *Store) IncidentSourcesOf(ctx context.Context, ids []int64) ([]store.IncidentSource, error) {
	out, err := s.incidentSources(ctx, ids)
	if err != nil {
		return nil, fmt.Errorf("sources of %d incidents: %w", len(ids), err)
	}
	return out, nil
}

// incidentSources reads the estimates of ids, in chunks that stay well
// under SQLite's bound on parameters.
func (s *Store) incidentSources(ctx context.Context, ids []int64) ([]store.IncidentSource, error) {
	var out []store.IncidentSource
	for len(ids) > 0 {
		chunk := ids[:min(len(ids), 500)]
		ids = ids[len(chunk):]
		args := make([]any, len(chunk))
		for i, id := range chunk {
			args[i] = id
		}
		rows, err := s.r.QueryContext(ctx, `SELECT incident_id, fitted_at, through, estimate FROM incident_sources
			WHERE incident_id IN (?`+strings.Repeat(",?", len(chunk)-1)+`)`, args...)
		if err != nil {
			return nil, err
		}
		for rows.Next() {
			var (
				src          store.IncidentSource
				fitted, thru int64
				est          string
			)
			if err := rows.Scan(&src.IncidentID, &fitted, &thru, &est); err != nil {
				rows.Close()
				return nil, err
			}
			src.FittedAt, src.Through, src.Estimate = fromMicros(fitted), fromMicros(thru), []byte(est)
			out = append(out, src)
		}
		if err := rows.Close(); err != nil {
			return nil, err
		}
		if err := rows.Err(); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// OpenIncidentSources implements store.IncidentSources.
func (s *Store) OpenIncidentSources(ctx context.Context) ([]store.OpenIncidentSource, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT s.incident_id, s.fitted_at, s.through, s.estimate, i.peak_device_id
		FROM incident_sources s JOIN incidents i ON i.id = s.incident_id
		WHERE i.state <> 'resolved' AND NOT i.imported AND s.through = i.last_seen`)
	if err != nil {
		return nil, fmt.Errorf("sources of open incidents: %w", err)
	}
	defer rows.Close()
	var out []store.OpenIncidentSource
	for rows.Next() {
		var (
			src          store.OpenIncidentSource
			fitted, thru int64
			est          string
		)
		if err := rows.Scan(&src.IncidentID, &fitted, &thru, &est, &src.PeakDeviceID); err != nil {
			return nil, fmt.Errorf("sources of open incidents: %w", err)
		}
		src.FittedAt, src.Through, src.Estimate = fromMicros(fitted), fromMicros(thru), []byte(est)
		out = append(out, src)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sources of open incidents: %w", err)
	}
	return out, nil
}
