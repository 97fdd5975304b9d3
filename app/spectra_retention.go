package app

import (
	"context"
	"time"

	"github.com/radtrack/radtrack/store"
)

// Spectra retention: a one-second NaI spectrometer adds ~1 KB a second
// (~86 MB per vehicle-day); spectra older than Config.SpectraRetain are
// deleted every spectraPruneEvery, in batches so that no statement runs
// long or holds many locks.
const (
	spectraPruneEvery = time.Hour
	spectraPruneBatch = 5000
)

// runSpectraRetention prunes at once and then every spectraPruneEvery,
// until ctx ends; it does nothing when SpectraRetain is not positive.
func (n *Node) runSpectraRetention(ctx context.Context) {
	if n.cfg.SpectraRetain <= 0 {
		return
	}
	t := time.NewTicker(spectraPruneEvery)
	defer t.Stop()
	for {
		deleted, err := pruneSpectra(ctx, n.Store, time.Now().Add(-n.cfg.SpectraRetain))
		if err != nil && ctx.Err() == nil {
			n.log.Warn("spectra retention: not all old spectra deleted; next try in an hour", "deleted", deleted, "err", err)
		} else if deleted > 0 {
			n.log.Info("spectra retention", "deleted", deleted, "older_than", n.cfg.SpectraRetain)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// pruneSpectra deletes every spectrum older than before, batch by batch.
func pruneSpectra(ctx context.Context, st store.Spectra, before time.Time) (int64, error) {
	var total int64
	for {
		n, err := st.DeleteSpectraBefore(ctx, before, spectraPruneBatch)
		total += n
		if err != nil || n < spectraPruneBatch {
			return total, err
		}
	}
}
