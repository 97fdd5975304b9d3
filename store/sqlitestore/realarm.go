package sqlitestore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/radtrack/radtrack/rules"
	"github.com/radtrack/radtrack/store"
)

// RealarmAlarm implements store.Realarms.
func (s *Store) RealarmAlarm(ctx context.Context, alarmID int64, ev rules.Event) error {
	what := fmt.Sprintf("realarm alarm %d", alarmID)
	return s.writeTx(ctx, what, func(tx *sql.Tx) error {
		var state, severity string
		err := tx.QueryRowContext(ctx, `SELECT state, severity FROM alarms WHERE id = ?`, alarmID).Scan(&state, &severity)
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("%s: %w", what, store.ErrNotFound)
		}
		if err != nil {
			return fmt.Errorf("%s: %w", what, err)
		}
		if state == string(rules.StateResolved) {
			return fmt.Errorf("%s: resolved meanwhile: %w", what, store.ErrConflict)
		}
		if rules.SeverityRank(ev.Episode.Severity) > rules.SeverityRank(rules.Severity(severity)) {
			severity = string(ev.Episode.Severity)
		}
		if _, err := tx.ExecContext(ctx, `UPDATE alarms SET state = 'raised', severity = ?,
				acked_by = '', acked_at = NULL, ack_comment = '', implicit_ack = 0, updated_at = ?
			WHERE id = ?`, severity, micros(time.Now()), alarmID); err != nil {
			return fmt.Errorf("%s: %w", what, err)
		}
		return appendEvent(ctx, tx, alarmID, ev)
	})
}
