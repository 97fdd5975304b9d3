package pgstore

import (
	"context"
	"fmt"
	"strings"

	"github.com/radtrack/radtrack/store"
)

// EachSample streams one device's samples in [From, To), oldest first,
// straight from the result set: pgx reads it from the socket as fn takes
// rows, so memory is one network buffer whatever the range. The query
// holds one pool connection until it ends; callers bound how many run.
func (s *Store) EachSample(ctx context.Context, q store.StreamQuery, fn store.SampleFunc) error {
	var limit any // NULL: no limit
	if q.Limit > 0 {
		limit = q.Limit
	}
	rows, err := s.pool.Query(ctx, `SELECT `+strings.Join(measurementColumns, ", ")+`
		FROM measurements WHERE device_id = $1 AND time >= $2 AND time < $3
		ORDER BY time LIMIT $4`, q.DeviceID, q.From, q.To, limit)
	if err != nil {
		return fmt.Errorf("stream samples of device %d: %w", q.DeviceID, err)
	}
	defer rows.Close()
	for rows.Next() {
		smp, err := scanSample(rows)
		if err != nil {
			return fmt.Errorf("stream samples of device %d: %w", q.DeviceID, err)
		}
		if err := fn(&smp); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("stream samples of device %d: %w", q.DeviceID, err)
	}
	return nil
}
