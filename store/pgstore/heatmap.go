package pgstore

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/radtrack/radtrack/store"
)

// maxHeatCells bounds a heatmap answer.
const maxHeatCells = 50_000

// Heatmap groups samples with a fix and a dose into grid cells. The grid
// is anchored at 0°,0° so cells are stable across requests and zoom
// levels of the same cell size.
func (s *Store) Heatmap(ctx context.Context, q store.HeatmapQuery) ([]store.HeatCell, error) {
	limit := q.Limit
	if limit <= 0 || limit > maxHeatCells {
		limit = maxHeatCells
	}
	rows, err := s.pool.Query(ctx, `SELECT (floor(lon / $1) + 0.5) * $1, (floor(lat / $2) + 0.5) * $2,
			max(dose_rate), avg(dose_rate), count(*)
		FROM measurements
		WHERE time >= $3 AND time < $4 AND gps_valid AND dose_rate IS NOT NULL
		  AND lon BETWEEN $5 AND $7 AND lat BETWEEN $6 AND $8
		GROUP BY floor(lon / $1), floor(lat / $2)
		ORDER BY max(dose_rate) DESC LIMIT $9`,
		q.CellLon, q.CellLat, q.From, q.To, q.BBox[0], q.BBox[1], q.BBox[2], q.BBox[3], limit)
	if err != nil {
		return nil, fmt.Errorf("heatmap: %w", err)
	}
	cells, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (store.HeatCell, error) {
		var c store.HeatCell
		err := r.Scan(&c.Lon, &c.Lat, &c.Max, &c.Avg, &c.Samples)
		return c, err
	})
	if err != nil {
		return nil, fmt.Errorf("heatmap: %w", err)
	}
	return cells, nil
}
