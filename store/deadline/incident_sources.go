package deadline

import (
	"context"

	"github.com/radtrack/radtrack/store"
)

// Source estimates are written and read by the background estimator and
// the people who look at them: neither is on the hot path.

func (x *Store) SaveIncidentSource(ctx context.Context, src store.IncidentSource) (err error) {
	var end func(*error)
	if ctx, end, err = x.begin(ctx, kindQuery); err != nil {
		return
	}
	defer end(&err)
	return x.s.SaveIncidentSource(ctx, src)
}

func (x *Store) IncidentSource(ctx context.Context, id int64) (_ store.IncidentSource, err error) {
	var end func(*error)
	if ctx, end, err = x.begin(ctx, kindQuery); err != nil {
		return
	}
	defer end(&err)
	return x.s.IncidentSource(ctx, id)
}

func (x *Store) IncidentSourcesOf(ctx context.Context, ids []int64) (_ []store.IncidentSource, err error) {
	var end func(*error)
	if ctx, end, err = x.begin(ctx, kindQuery); err != nil {
		return
	}
	defer end(&err)
	return x.s.IncidentSourcesOf(ctx, ids)
}

func (x *Store) OpenIncidentSources(ctx context.Context) (_ []store.OpenIncidentSource, err error) {
	var end func(*error)
	if ctx, end, err = x.begin(ctx, kindQuery); err != nil {
		return
	}
	defer end(&err)
	return x.s.OpenIncidentSources(ctx)
}
