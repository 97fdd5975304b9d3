package deadline

import (
	"context"
	"time"

	"github.com/radtrack/radtrack/store"
)

// Writing spectra is ingest (Write); reading them is for people (Query).

func (x *Store) WriteSpectra(ctx context.Context, spectra []store.Spectrum) (err error) {
	var end func(*error)
	if ctx, end, err = x.begin(ctx, kindWrite); err != nil {
		return
	}
	defer end(&err)
	return x.s.WriteSpectra(ctx, spectra)
}

func (x *Store) SpectraRange(ctx context.Context, q store.SpectrumQuery) (_ []store.Spectrum, err error) {
	var end func(*error)
	if ctx, end, err = x.begin(ctx, kindQuery); err != nil {
		return
	}
	defer end(&err)
	return x.s.SpectraRange(ctx, q)
}

// Retention deletes in batches, each a write.
func (x *Store) DeleteSpectraBefore(ctx context.Context, before time.Time, limit int) (_ int64, err error) {
	var end func(*error)
	if ctx, end, err = x.begin(ctx, kindWrite); err != nil {
		return
	}
	defer end(&err)
	return x.s.DeleteSpectraBefore(ctx, before, limit)
}
