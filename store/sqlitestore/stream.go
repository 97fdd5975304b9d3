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
	return s.eachSample(ctx, fmt.Sprintf("stream samples of device %d", q.DeviceID), `SELECT `+strings.Join(measurementColumns, ", ")+`
		FROM measurements WHERE device_id = ? AND time >= ? AND time < ?
		ORDER BY time LIMIT ?`, []any{q.DeviceID, micros(q.From), micros(q.To), limit}, fn)
}

// eachSample steps a query of measurementColumns into fn; fn's own error
// goes back as it is, the database's wrapped in what.
func (s *Store) eachSample(ctx context.Context, what, query string, args []any, fn store.SampleFunc) error {
	rows, err := s.r.QueryContext(ctx, query, args...)
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	defer rows.Close()
	for rows.Next() {
		smp, err := scanSample(rows)
		if err != nil {
			return fmt.Errorf("%s: %w", what, err)
		}
		if err := fn(&smp); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	return nil
}
