package store

import (
	"context"

	"github.com/radtrack/radtrack/rules"
)

// Realarms stores re-alarms (rules/realarm.go).
type Realarms interface {
	// RealarmAlarm puts an unresolved alarm back to raised (clearing its
	// acknowledgement, taking ev's severity if higher) and stores ev in its
	// audit trail, in one transaction. Progress (samples, peak) is stored
	// by UpdateAlarm. ErrConflict if the alarm was resolved meanwhile (the
	// caller raises a new one), ErrNotFound if there is no such alarm.
	RealarmAlarm(ctx context.Context, alarmID int64, ev rules.Event) error
}
