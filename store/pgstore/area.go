package pgstore

import (
	"context"
	"strings"

	"github.com/radtrack/radtrack/store"
)

// EachSampleInArea implements store.AreaStreamer: one query, each device's
// time range from its (device_id, time) index when Devices are given.
func (s *Store) EachSampleInArea(ctx context.Context, q store.AreaQuery, fn store.SampleFunc) error {
	var limit any // NULL: no limit
	if q.Limit > 0 {
		limit = q.Limit
	}
	var devices any // NULL: every device
	if q.Devices != nil {
		devices = q.Devices
	}
	return s.eachSample(ctx, "stream samples in area", `SELECT `+strings.Join(measurementColumns, ", ")+`
		FROM measurements WHERE ($1::bigint[] IS NULL OR device_id = ANY($1)) AND time >= $2 AND time < $3
		AND gps_valid AND lon BETWEEN $4 AND $6 AND lat BETWEEN $5 AND $7
		ORDER BY device_id, time LIMIT $8`,
		[]any{devices, q.From, q.To, q.Box[0], q.Box[1], q.Box[2], q.Box[3], limit}, fn)
}
