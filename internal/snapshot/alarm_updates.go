package snapshot

import (
	"context"
	"errors"

	"github.com/radtrack/radtrack/sample"
	"github.com/radtrack/radtrack/store"
)

// Coalesced episode updates (issue 19) pass through to the wrapped store:
// like samples, they are writes the snapshot has nothing to say about.

var _ store.AlarmBatcher = (*Fallback)(nil)

var errNotBatcher = errors.New("snapshot: the wrapped store is not a store.AlarmBatcher")

// Batches reports whether the wrapped store takes batched episode updates.
func (f *Fallback) Batches() bool {
	if b, ok := f.Store.(interface{ Batches() bool }); ok {
		return b.Batches()
	}
	_, ok := f.Store.(store.AlarmBatcher)
	return ok
}

// UpdateAlarms passes through.
func (f *Fallback) UpdateAlarms(ctx context.Context, updates []store.AlarmUpdate) error {
	b, ok := f.Store.(store.AlarmBatcher)
	if !ok {
		return errNotBatcher
	}
	return b.UpdateAlarms(ctx, updates)
}

// WriteSamplesAndAlarms passes through.
func (f *Fallback) WriteSamplesAndAlarms(ctx context.Context, samples []sample.Sample, updates []store.AlarmUpdate) error {
	b, ok := f.Store.(store.AlarmBatcher)
	if !ok {
		return errNotBatcher
	}
	return b.WriteSamplesAndAlarms(ctx, samples, updates)
}
