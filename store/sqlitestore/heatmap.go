package sqlitestore

import (
	"context"
	"fmt"

	"github.com/radtrack/radtrack/store"
)

// maxHeatCells bounds a heatmap answer.
const maxHeatCells = 50_000

// Heatmap groups samples with a fix and a dose into grid cells anchored at
// 0°,0°, like pgstore. The cell index is floor(coordinate / size), written
// without floor() (an optional SQLite function) as truncation corrected
// for negative values.
func (s *Store) Heatmap(ctx context.Context, q store.HeatmapQuery) ([]store.HeatCell, error) {
	limit := q.Limit
	if limit <= 0 || limit > maxHeatCells {
		limit = maxHeatCells
	}
	out, err := queryAll(ctx, s.r, func(row scanner) (store.HeatCell, error) {
		var c store.HeatCell
		var gx, gy int64
		err := row.Scan(&gx, &gy, &c.Max, &c.Avg, &c.Samples)
		c.Lon, c.Lat = (float64(gx)+0.5)*q.CellLon, (float64(gy)+0.5)*q.CellLat
		return c, err
	}, `SELECT gx, gy, max(dose_rate), avg(dose_rate), count(*) FROM (
			SELECT CAST(lon / ?1 AS INTEGER) - (lon / ?1 < CAST(lon / ?1 AS INTEGER)) AS gx,
			       CAST(lat / ?2 AS INTEGER) - (lat / ?2 < CAST(lat / ?2 AS INTEGER)) AS gy,
			       dose_rate
			FROM measurements
			WHERE time >= ?3 AND time < ?4 AND gps_valid AND dose_rate IS NOT NULL
			  AND lon BETWEEN ?5 AND ?7 AND lat BETWEEN ?6 AND ?8)
		GROUP BY gx, gy ORDER BY max(dose_rate) DESC LIMIT ?9`,
		q.CellLon, q.CellLat, micros(q.From), micros(q.To), q.BBox[0], q.BBox[1], q.BBox[2], q.BBox[3], limit)
	if err != nil {
		return nil, fmt.Errorf("heatmap: %w", err)
	}
	return out, nil
}
