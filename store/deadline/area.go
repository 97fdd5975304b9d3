package deadline

import (
	"context"

	"github.com/radtrack/radtrack/sample"
	"github.com/radtrack/radtrack/store"
)

// EachSampleInArea streams under the idle deadline, as EachSample.
func (x *Store) EachSampleInArea(ctx context.Context, q store.AreaQuery, fn store.SampleFunc) error {
	if x.unresponsive.Load() {
		return ErrUnresponsive
	}
	ctx, touch, stop := x.idle(ctx)
	defer stop()
	return x.s.EachSampleInArea(ctx, q, func(s *sample.Sample) error { touch(); return fn(s) })
}
