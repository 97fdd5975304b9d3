package pgstore

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/radtrack/radtrack/store"
)

// SaveIncidentSource implements store.IncidentSources.
func (s *Store) SaveIncidentSource(ctx context.Context, src store.IncidentSource) error {
	tag, err := s.pool.Exec(ctx, `INSERT INTO incident_sources (incident_id, fitted_at, through, estimate)
		SELECT $1, $2, $3, $4 WHERE EXISTS (SELECT 1 FROM incidents WHERE id = $1)
		ON CONFLICT (incident_id) DO UPDATE SET fitted_at = EXCLUDED.fitted_at, through = EXCLUDED.through, estimate = EXCLUDED.estimate`,
		src.IncidentID, src.FittedAt, src.Through, []byte(src.Estimate))
	if err != nil {
		return fmt.Errorf("save source of incident %d: %w", src.IncidentID, err)
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("save source of incident %d: %w", src.IncidentID, store.ErrNotFound)
	}
	return nil
}

// IncidentSource implements store.IncidentSources.
func (s *Store) IncidentSource(ctx context.Context, id int64) (store.IncidentSource, error) {
	list, err := s.incidentSources(ctx, `WHERE incident_id = $1`, id)
	return store.OneIncidentSource(id, list, err)
}

// IncidentSourcesOf implements store.IncidentSources.
func (s *Store) IncidentSourcesOf(ctx context.Context, ids []int64) ([]store.IncidentSource, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	out, err := s.incidentSources(ctx, `WHERE incident_id = ANY($1)`, ids)
	if err != nil {
		return nil, fmt.Errorf("sources of %d incidents: %w", len(ids), err)
	}
	return out, nil
}

func (s *Store) incidentSources(ctx context.Context, where string, arg any) ([]store.IncidentSource, error) {
	rows, err := s.pool.Query(ctx, `SELECT incident_id, fitted_at, through, estimate FROM incident_sources `+where, arg)
	if err != nil {
		return nil, err
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (store.IncidentSource, error) {
		var src store.IncidentSource
		var est []byte
		err := r.Scan(&src.IncidentID, &src.FittedAt, &src.Through, &est)
		src.FittedAt, src.Through, src.Estimate = src.FittedAt.UTC(), src.Through.UTC(), est
		return src, err
	})
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, nil
	}
	return out, err
}

// OpenIncidentSources implements store.IncidentSources.
func (s *Store) OpenIncidentSources(ctx context.Context) ([]store.OpenIncidentSource, error) {
	rows, err := s.pool.Query(ctx, `SELECT s.incident_id, s.fitted_at, s.through, s.estimate, i.peak_device_id
		FROM incident_sources s JOIN incidents i ON i.id = s.incident_id
		WHERE i.state <> 'resolved' AND NOT i.imported AND s.through = i.last_seen`)
	if err != nil {
		return nil, fmt.Errorf("sources of open incidents: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (store.OpenIncidentSource, error) {
		var src store.OpenIncidentSource
		var est []byte
		err := r.Scan(&src.IncidentID, &src.FittedAt, &src.Through, &est, &src.PeakDeviceID)
		src.FittedAt, src.Through, src.Estimate = src.FittedAt.UTC(), src.Through.UTC(), est
		return src, err
	})
	if err != nil {
		return nil, fmt.Errorf("sources of open incidents: %w", err)
	}
	return out, nil
}
