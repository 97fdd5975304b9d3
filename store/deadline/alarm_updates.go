package deadline

import (
	"context"
	"errors"

	"github.com/radtrack/radtrack/sample"
	"github.com/radtrack/radtrack/store"
)

var _ store.AlarmBatcher = (*Store)(nil)

// errNotBatcher: the wrapped store cannot take batched episode updates
// (the node only coalesces them over a store that can: check Batches).
var errNotBatcher = errors.New("deadline: the wrapped store is not a store.AlarmBatcher")

// Batches reports whether the wrapped store takes batched episode updates.
func (x *Store) Batches() bool {
	_, ok := x.s.(store.AlarmBatcher)
	return ok
}

// UpdateAlarms is a Write call: coalesced episode updates ride with (or
// stand in for) a group commit.
func (x *Store) UpdateAlarms(ctx context.Context, updates []store.AlarmUpdate) (err error) {
	b, ok := x.s.(store.AlarmBatcher)
	if !ok {
		return errNotBatcher
	}
	var end func(*error)
	if ctx, end, err = x.begin(ctx, kindWrite); err != nil {
		return
	}
	defer end(&err)
	return b.UpdateAlarms(ctx, updates)
}

// WriteSamplesAndAlarms is a group commit: a Write call.
func (x *Store) WriteSamplesAndAlarms(ctx context.Context, samples []sample.Sample, updates []store.AlarmUpdate) (err error) {
	b, ok := x.s.(store.AlarmBatcher)
	if !ok {
		return errNotBatcher
	}
	var end func(*error)
	if ctx, end, err = x.begin(ctx, kindWrite); err != nil {
		return
	}
	defer end(&err)
	return b.WriteSamplesAndAlarms(ctx, samples, updates)
}
