package store

import (
	"context"

	"github.com/radtrack/radtrack/rules"
	"github.com/radtrack/radtrack/sample"
)

// AlarmUpdate is the coalesced progress of one open episode: what changes
// no state (last seen, sample count, a higher peak, significance). Every
// field only grows, so updates of one episode commute: they may be stored
// in any order, by any node, in one batch.
type AlarmUpdate struct {
	// Episode is the latest snapshot; ID, LastSeen, the peak fields and
	// Significance are stored (never the state or the condition).
	Episode rules.Episode `json:"episode"`
	// AddSamples is added to the stored sample count.
	AddSamples int `json:"add_samples"`
}

// AlarmBatcher stores coalesced episode updates, alone or in the same
// transaction as a group commit of samples, so that acknowledging the
// samples means their episodes' progress is durable too.
type AlarmBatcher interface {
	// UpdateAlarms applies updates (one per episode) in one transaction;
	// resolved or missing episodes are skipped.
	UpdateAlarms(ctx context.Context, updates []AlarmUpdate) error
	// WriteSamplesAndAlarms is WriteSamples and UpdateAlarms in one
	// transaction: both are stored or neither.
	WriteSamplesAndAlarms(ctx context.Context, samples []sample.Sample, updates []AlarmUpdate) error
}
