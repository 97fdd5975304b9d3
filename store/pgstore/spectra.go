package pgstore

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/radtrack/radtrack/store"
)

// WriteSpectra stores spectra in one transaction; stored keys are kept.
func (s *Store) WriteSpectra(ctx context.Context, spectra []store.Spectrum) error {
	if len(spectra) == 0 {
		return nil
	}
	var b pgx.Batch
	for _, sp := range spectra {
		if err := sp.Validate(); err != nil {
			return fmt.Errorf("write spectra: %w", err)
		}
		var nuclides any
		if len(sp.Nuclides) > 0 {
			j, err := json.Marshal(sp.Nuclides)
			if err != nil {
				return fmt.Errorf("write spectra: nuclides: %w", err)
			}
			nuclides = j
		}
		cal := sp.Calibration
		if cal == nil {
			cal = []float64{}
		}
		b.Queue(`INSERT INTO spectra (device_id, time, detector, real_time, live_time, calibration, channels, total, counts, nuclides)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) ON CONFLICT (device_id, time, detector) DO NOTHING`,
			sp.DeviceID, sp.Time, sp.Detector, opt(sp.RealTime), opt(sp.LiveTime), cal, len(sp.Counts), sp.Total(),
			store.EncodeCounts(sp.Counts), nuclides)
	}
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		return fmt.Errorf("write %d spectra: %w", len(spectra), err)
	}
	defer tx.Rollback(ctx) //nolint:errcheck // no-op after commit
	if err := tx.SendBatch(ctx, &b).Close(); err != nil {
		return fmt.Errorf("write %d spectra: %w", len(spectra), err)
	}
	if err := tx.Commit(ctx); err != nil {
		return fmt.Errorf("write %d spectra: commit: %w", len(spectra), err)
	}
	return nil
}

// SpectraRange returns one device's spectra in [From, To), oldest first.
func (s *Store) SpectraRange(ctx context.Context, q store.SpectrumQuery) ([]store.Spectrum, error) {
	limit := q.Limit
	if limit <= 0 {
		limit = store.DefaultSpectrumLimit
	}
	rows, err := s.pool.Query(ctx, `SELECT time, detector, real_time, live_time, calibration, counts, nuclides
		FROM spectra WHERE device_id = $1 AND time >= $2 AND time < $3 ORDER BY time, detector LIMIT $4`,
		q.DeviceID, q.From, q.To, limit)
	if err != nil {
		return nil, fmt.Errorf("spectra of device %d: %w", q.DeviceID, err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (store.Spectrum, error) {
		sp := store.Spectrum{DeviceID: q.DeviceID}
		var (
			real, live *float64
			counts     []byte
			nuclides   []byte
		)
		if err := r.Scan(&sp.Time, &sp.Detector, &real, &live, &sp.Calibration, &counts, &nuclides); err != nil {
			return sp, err
		}
		sp.Time = sp.Time.UTC()
		sp.RealTime, sp.LiveTime = orNaN(real), orNaN(live)
		if len(sp.Calibration) == 0 {
			sp.Calibration = nil
		}
		var err error
		if sp.Counts, err = store.DecodeCounts(counts); err != nil {
			return sp, err
		}
		if len(nuclides) > 0 {
			if err := json.Unmarshal(nuclides, &sp.Nuclides); err != nil {
				return sp, fmt.Errorf("nuclides: %w", err)
			}
		}
		return sp, nil
	})
	if err != nil {
		return nil, fmt.Errorf("spectra of device %d: %w", q.DeviceID, err)
	}
	return out, nil
}

func (s *Store) DeleteSpectraBefore(ctx context.Context, before time.Time, limit int) (int64, error) {
	tag, err := s.pool.Exec(ctx, `DELETE FROM spectra WHERE (device_id, time, detector) IN
		(SELECT device_id, time, detector FROM spectra WHERE time < $1 LIMIT $2)`, before, limit)
	if err != nil {
		return 0, fmt.Errorf("delete spectra before %s: %w", before.Format(time.RFC3339), err)
	}
	return tag.RowsAffected(), nil
}
