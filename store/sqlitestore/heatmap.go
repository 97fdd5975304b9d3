package sqlitestore

import (
	"context"
	"fmt"
	"math"
	"strings"

	"github.com/radtrack/radtrack/store"
)

// maxHeatCells bounds a heatmap answer.
const maxHeatCells = 50_000

// Heatmap groups samples with a fix and a dose into grid cells of whole
// base cells (store.HeatGridDeg) anchored at 0°,0°, like pgstore, so both
// give the same cells. A cell index is floor(x / size), written without
// floor() (an optional SQLite function) as truncation corrected for
// negative values; integer division of the base cell index by the cell's
// steps is floored the same way.
func (s *Store) Heatmap(ctx context.Context, q store.HeatmapQuery) ([]store.HeatCell, error) {
	limit := q.Limit
	if limit <= 0 || limit > maxHeatCells {
		limit = maxHeatCells
	}
	kLon, kLat := q.GridSteps()
	b := store.HeatGridDeg
	gx0, gy0 := int64(math.Floor(q.BBox[0]/b)), int64(math.Floor(q.BBox[1]/b))
	gx1, gy1 := int64(math.Floor(q.BBox[2]/b)), int64(math.Floor(q.BBox[3]/b))
	if q.DeviceIDs != nil && len(q.DeviceIDs) == 0 {
		return nil, nil
	}
	devices, args := "", []any{b, micros(q.From), micros(q.To), gx0, gy0, gx1, gy1, limit, kLon, kLat}
	if q.DeviceIDs != nil {
		devices = " AND device_id IN (" + strings.Repeat("?,", len(q.DeviceIDs)-1) + "?)"
		for _, id := range q.DeviceIDs {
			args = append(args, id)
		}
	}
	out, err := queryAll(ctx, s.r, func(row scanner) (store.HeatCell, error) {
		var c store.HeatCell
		var cx, cy int64
		err := row.Scan(&cx, &cy, &c.Max, &c.Avg, &c.Samples)
		c.Lon, c.Lat = (float64(cx)+0.5)*float64(kLon)*b, (float64(cy)+0.5)*float64(kLat)*b
		return c, err
	}, `SELECT (gx - ((gx % ?9) + ?9) % ?9) / ?9 AS cx, (gy - ((gy % ?10) + ?10) % ?10) / ?10 AS cy,
			max(dose_rate), sum(dose_rate) / count(*), count(*)
		FROM (
			SELECT CAST(lon / ?1 AS INTEGER) - (lon / ?1 < CAST(lon / ?1 AS INTEGER)) AS gx,
			       CAST(lat / ?1 AS INTEGER) - (lat / ?1 < CAST(lat / ?1 AS INTEGER)) AS gy,
			       dose_rate
			FROM measurements
			WHERE time >= ?2 AND time < ?3 AND gps_valid AND dose_rate IS NOT NULL`+devices+`)
		WHERE gx BETWEEN ?4 AND ?6 AND gy BETWEEN ?5 AND ?7
		GROUP BY cx, cy ORDER BY max(dose_rate) DESC, cx, cy LIMIT ?8`,
		args...)
	if err != nil {
		return nil, fmt.Errorf("heatmap: %w", err)
	}
	return out, nil
}
