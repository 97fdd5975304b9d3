package pgstore

import (
	"context"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"

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
	return s.eachSample(ctx, fmt.Sprintf("stream samples of device %d", q.DeviceID), `SELECT `+strings.Join(measurementColumns, ", ")+`
		FROM measurements WHERE device_id = $1 AND time >= $2 AND time < $3
		ORDER BY time LIMIT $4`, []any{q.DeviceID, q.From, q.To, limit}, fn)
}

// eachSample streams the samples a query of measurementColumns selects to
// fn; fn's own error goes back as it is, the database's wrapped in what.
func (s *Store) eachSample(ctx context.Context, what, sql string, args []any, fn store.SampleFunc) error {
	var fnErr error
	err := s.stream(ctx, sql, args, func(rows pgx.Rows) error {
		smp, err := scanSample(rows)
		if err != nil {
			return err
		}
		fnErr = fn(&smp)
		return fnErr
	})
	if fnErr != nil {
		return fnErr
	}
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	return nil
}

// stream runs a read-only query and hands each row to each. A stream (an
// export of millions of rows) may rightly outlast the connection's
// statement_timeout, which would cut it: the stream lifts it for its own
// transaction, and the caller bounds it instead (store/deadline stops a
// stream whose rows stop coming).
func (s *Store) stream(ctx context.Context, sql string, args []any, each func(pgx.Rows) error) error {
	tx, err := s.pool.BeginTx(ctx, pgx.TxOptions{AccessMode: pgx.ReadOnly})
	if err != nil {
		return err
	}
	defer tx.Rollback(context.WithoutCancel(ctx)) //nolint:errcheck // read-only: nothing to undo
	if _, err := tx.Exec(ctx, `SET LOCAL statement_timeout = 0`); err != nil {
		return err
	}
	rows, err := tx.Query(ctx, sql, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		if err := each(rows); err != nil {
			return err
		}
	}
	return rows.Err()
}
