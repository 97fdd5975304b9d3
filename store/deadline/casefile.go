package deadline

import (
	"context"
	"sync/atomic"
	"time"

	"github.com/radtrack/radtrack/rules"
	"github.com/radtrack/radtrack/sample"
	"github.com/radtrack/radtrack/store"
)

// Streams (exports, long tracks) may rightly run for minutes, so they get
// no overall budget; instead each row must follow the last within the
// Query budget, so a database that stops answering mid-stream still ends
// the wait. A stall does not trip fail-fast: like any Query it may be a
// slow, healthy database.

// EachSample streams under the idle deadline.
func (x *Store) EachSample(ctx context.Context, q store.StreamQuery, fn store.SampleFunc) error {
	if x.unresponsive.Load() {
		return ErrUnresponsive
	}
	ctx, touch, stop := x.idle(ctx)
	defer stop()
	return x.s.EachSample(ctx, q, func(s *sample.Sample) error { touch(); return fn(s) })
}

// EachAlarm streams under the idle deadline.
func (x *Store) EachAlarm(ctx context.Context, f store.AlarmFilter, fn func(*rules.Episode) error) error {
	if x.unresponsive.Load() {
		return ErrUnresponsive
	}
	ctx, touch, stop := x.idle(ctx)
	defer stop()
	return x.s.EachAlarm(ctx, f, func(ep *rules.Episode) error { touch(); return fn(ep) })
}

// idle returns a context cancelled when touch has not been called for the
// Query budget (counted from the start for the first row).
func (x *Store) idle(parent context.Context) (ctx context.Context, touch func(), stop func()) {
	ctx, cancel := context.WithCancelCause(parent)
	var last atomic.Int64
	last.Store(time.Now().UnixNano())
	done := make(chan struct{})
	go func() {
		t := time.NewTicker(x.t.Query / 4)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				if time.Since(time.Unix(0, last.Load())) > x.t.Query {
					cancel(context.DeadlineExceeded)
					return
				}
			}
		}
	}()
	return ctx, func() { last.Store(time.Now().UnixNano()) }, func() { close(done); cancel(nil) }
}

// Shifts are people's edits and reads: Query.

func (x *Store) ListShifts(ctx context.Context, f store.ShiftFilter) (_ []store.Shift, err error) {
	var end func(*error)
	if ctx, end, err = x.begin(ctx, kindQuery); err != nil {
		return
	}
	defer end(&err)
	return x.s.ListShifts(ctx, f)
}

func (x *Store) Shift(ctx context.Context, id int64) (_ store.Shift, err error) {
	var end func(*error)
	if ctx, end, err = x.begin(ctx, kindQuery); err != nil {
		return
	}
	defer end(&err)
	return x.s.Shift(ctx, id)
}

func (x *Store) CreateShift(ctx context.Context, s store.Shift) (_ store.Shift, err error) {
	var end func(*error)
	if ctx, end, err = x.begin(ctx, kindQuery); err != nil {
		return
	}
	defer end(&err)
	return x.s.CreateShift(ctx, s)
}

func (x *Store) UpdateShift(ctx context.Context, s store.Shift) (_ store.Shift, err error) {
	var end func(*error)
	if ctx, end, err = x.begin(ctx, kindQuery); err != nil {
		return
	}
	defer end(&err)
	return x.s.UpdateShift(ctx, s)
}

func (x *Store) DeleteShift(ctx context.Context, id int64) (err error) {
	var end func(*error)
	if ctx, end, err = x.begin(ctx, kindQuery); err != nil {
		return
	}
	defer end(&err)
	return x.s.DeleteShift(ctx, id)
}
