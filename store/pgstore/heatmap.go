package pgstore

import (
	"context"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/radtrack/radtrack/store"
)

// maxHeatCells bounds a heatmap answer.
const maxHeatCells = 50_000

// Heatmap groups samples with a fix and a dose into grid cells of whole
// base cells (store.HeatGridDeg) anchored at 0°,0°, so cells are stable
// across requests, zoom levels and stores.
//
// On TimescaleDB the whole hours of the range come from the hourly grid
// aggregate and its whole days from the daily one; only the partial hours
// at its ends are read from raw rows. A month's heatmap then reads what
// the fleet did per cell and day instead of every sample (README,
// "Scale"). Plain PostgreSQL reads raw rows.
func (s *Store) Heatmap(ctx context.Context, q store.HeatmapQuery) ([]store.HeatCell, error) {
	limit := q.Limit
	if limit <= 0 || limit > maxHeatCells {
		limit = maxHeatCells
	}
	kLon, kLat := q.GridSteps()
	b := store.HeatGridDeg
	// The box in base cells: a sample counts when its base cell is in it.
	gx0, gy0 := int64(math.Floor(q.BBox[0]/b)), int64(math.Floor(q.BBox[1]/b))
	gx1, gy1 := int64(math.Floor(q.BBox[2]/b)), int64(math.Floor(q.BBox[3]/b))

	// raw reads samples in a time range as base cells; grid reads an
	// aggregate's base cells. Both give (gx, gy, max, sum, count). The
	// expressions must stay those of migrations/0011_dose_grid.tsdb.sql.
	const raw = `SELECT floor(lon / $1)::bigint AS gx, floor(lat / $1)::bigint AS gy,
			max(dose_rate) AS mx, sum(dose_rate) AS sm, count(*) AS n
		FROM measurements
		WHERE time >= %s AND time < %s AND gps_valid AND dose_rate IS NOT NULL%s
		  AND floor(lon / $1)::bigint BETWEEN $2 AND $4 AND floor(lat / $1)::bigint BETWEEN $3 AND $5
		GROUP BY 1, 2`
	const grid = `SELECT gx, gy, dose_max, dose_sum, samples FROM %s
		WHERE bucket >= %s AND bucket < %s AND gx BETWEEN $2 AND $4 AND gy BETWEEN $3 AND $5`
	args := []any{b, gx0, gy0, gx1, gy1, kLon, kLat, limit}
	arg := func(v any) string { args = append(args, v); return fmt.Sprintf("$%d", len(args)) }

	var parts []string
	from, to := q.From.UTC(), q.To.UTC()
	h0, h1 := ceilTo(from, time.Hour), to.Truncate(time.Hour)
	devices := ""
	if q.DeviceIDs != nil {
		devices = " AND device_id = ANY(" + arg(q.DeviceIDs) + ")"
	}
	if !s.Timescale() || !h0.Before(h1) || q.DeviceIDs != nil {
		parts = append(parts, fmt.Sprintf(raw, arg(from), arg(to), devices))
	} else {
		parts = append(parts, fmt.Sprintf(raw, arg(from), arg(h0), devices), fmt.Sprintf(raw, arg(h1), arg(to), devices))
		d0, d1 := ceilTo(h0, 24*time.Hour), h1.Truncate(24*time.Hour)
		if d0.Before(d1) {
			parts = append(parts,
				fmt.Sprintf(grid, "dose_grid_1h", arg(h0), arg(d0)),
				fmt.Sprintf(grid, "dose_grid_1d", arg(d0), arg(d1)),
				fmt.Sprintf(grid, "dose_grid_1h", arg(d1), arg(h1)))
		} else {
			parts = append(parts, fmt.Sprintf(grid, "dose_grid_1h", arg(h0), arg(h1)))
		}
	}
	sql := `SELECT (floor(gx::float8 / $6) + 0.5) * $6 * $1, (floor(gy::float8 / $7) + 0.5) * $7 * $1,
			max(mx), sum(sm) / sum(n), sum(n)::bigint
		FROM (` + strings.Join(parts, "\n\tUNION ALL\n\t") + `) AS cells
		GROUP BY floor(gx::float8 / $6), floor(gy::float8 / $7)
		ORDER BY max(mx) DESC, 1, 2 LIMIT $8`
	rows, err := s.pool.Query(ctx, sql, args...)
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

// ceilTo rounds t up to a multiple of d (counted from the zero time, so
// hours and days fall on UTC hours and midnights, like time_bucket's).
func ceilTo(t time.Time, d time.Duration) time.Time {
	f := t.Truncate(d)
	if f.Equal(t) {
		return t
	}
	return f.Add(d)
}
