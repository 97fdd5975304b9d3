package sqlitestore

import (
	"context"
	"strings"

	"github.com/radtrack/radtrack/store"
)

// EachSampleInArea implements store.AreaStreamer. The table's key is
// (device_id, time): with Devices given each device's time range is a
// range of the key; without, every device known is joined in.
func (s *Store) EachSampleInArea(ctx context.Context, q store.AreaQuery, fn store.SampleFunc) error {
	limit := int64(-1) // SQLite: no limit
	if q.Limit > 0 {
		limit = int64(q.Limit)
	}
	devices := `SELECT id FROM devices`
	args := []any{}
	if q.Devices != nil {
		if len(q.Devices) == 0 {
			return nil
		}
		devices = `VALUES (?)` + strings.Repeat(`, (?)`, len(q.Devices)-1)
		for _, id := range q.Devices {
			args = append(args, id)
		}
	}
	args = append(args, micros(q.From), micros(q.To), q.Box[0], q.Box[2], q.Box[1], q.Box[3], limit)
	cols := make([]string, len(measurementColumns))
	for i, c := range measurementColumns {
		cols[i] = "m." + c
	}
	return s.eachSample(ctx, "stream samples in area", `WITH d(id) AS (`+devices+`)
		SELECT `+strings.Join(cols, ", ")+` FROM d CROSS JOIN measurements m
		WHERE m.device_id = d.id AND m.time >= ? AND m.time < ?
		AND m.gps_valid AND m.lon BETWEEN ? AND ? AND m.lat BETWEEN ? AND ?
		ORDER BY m.device_id, m.time LIMIT ?`, args, fn)
}
