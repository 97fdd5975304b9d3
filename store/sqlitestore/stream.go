package sqlitestore

import (
	"context"
	"fmt"
	"strings"

	"github.com/radtrack/radtrack/store"
)

// EachSample streams one device's samples in [From, To), oldest first,
// stepping the statement as fn takes rows: memory is one row whatever the
// range. It holds a read connection (and, in WAL mode, a read snapshot
// that keeps checkpoints from finishing) until it ends; callers bound how
// many run at once.
func (s *Store) EachSample(ctx context.Context, q store.StreamQuery, fn store.SampleFunc) error {
	limit := int64(-1) // SQLite: no limit
	if q.Limit > 0 {
		limit = int64(q.Limit)
	}
	rows, err := s.r.QueryContext(ctx, `SELECT `+strings.Join(measurementColumns, ", ")+`
		FROM measurements WHERE device_id = ? AND time >= ? AND time < ?
		ORDER BY time LIMIT ?`, q.DeviceID, micros(q.From), micros(q.To), limit)
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
