package pgstore

import (
	"context"
	"fmt"

	"github.com/radtrack/radtrack/rules"
	"github.com/radtrack/radtrack/store"
)

// RealarmAlarm implements store.Realarms.
func (s *Store) RealarmAlarm(ctx context.Context, alarmID int64, ev rules.Event) error {
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		return fmt.Errorf("realarm alarm %d: %w", alarmID, err)
	}
	defer tx.Rollback(ctx) //nolint:errcheck // no-op after commit
	var state string
	err = tx.QueryRow(ctx, `SELECT state FROM alarms WHERE id = $1 FOR UPDATE`, alarmID).Scan(&state)
	if err != nil {
		return fmt.Errorf("realarm alarm %d: %w", alarmID, notFound(err))
	}
	if state == string(rules.StateResolved) {
		return fmt.Errorf("realarm alarm %d: resolved meanwhile: %w", alarmID, store.ErrConflict)
	}
	if _, err := tx.Exec(ctx, `UPDATE alarms SET state = 'raised',
			severity = CASE WHEN `+severityRankSQL("severity")+` < `+severityRankSQL("$2")+` THEN $2 ELSE severity END,
			acked_by = '', acked_at = NULL, ack_comment = '', implicit_ack = false, updated_at = now()
		WHERE id = $1`, alarmID, string(ev.Episode.Severity)); err != nil {
		return fmt.Errorf("realarm alarm %d: %w", alarmID, err)
	}
	if err := appendEvent(ctx, tx, alarmID, ev); err != nil {
		return err
	}
	if err := tx.Commit(ctx); err != nil {
		return fmt.Errorf("realarm alarm %d: %w", alarmID, err)
	}
	return nil
}

// severityRankSQL ranks a severity expression as rules.SeverityRank does.
func severityRankSQL(expr string) string {
	return `(CASE ` + expr + ` WHEN 'critical' THEN 5 WHEN 'alarm' THEN 4 WHEN 'warning' THEN 3 WHEN 'notice' THEN 2 WHEN 'info' THEN 1 ELSE 0 END)`
}
