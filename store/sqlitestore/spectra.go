package sqlitestore

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"time"

	"github.com/radtrack/radtrack/store"
)

// WriteSpectra stores spectra in one transaction; stored keys are kept.
func (s *Store) WriteSpectra(ctx context.Context, spectra []store.Spectrum) error {
	if len(spectra) == 0 {
		return nil
	}
	for _, sp := range spectra {
		if err := sp.Validate(); err != nil {
			return fmt.Errorf("write spectra: %w", err)
		}
	}
	return s.writeTx(ctx, fmt.Sprintf("write %d spectra", len(spectra)), func(tx *sql.Tx) error {
		stmt, err := tx.PrepareContext(ctx, `INSERT INTO spectra (device_id, time, detector, real_time, live_time, calibration, channels, total, counts, nuclides)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (device_id, time, detector) DO NOTHING`)
		if err != nil {
			return fmt.Errorf("prepare spectrum insert: %w", err)
		}
		defer stmt.Close()
		for _, sp := range spectra {
			cal := sp.Calibration
			if cal == nil {
				cal = []float64{}
			}
			calJSON, err := json.Marshal(cal)
			if err != nil {
				return fmt.Errorf("encode calibration: %w", err)
			}
			var nuclides any
			if len(sp.Nuclides) > 0 {
				j, err := json.Marshal(sp.Nuclides)
				if err != nil {
					return fmt.Errorf("encode nuclides: %w", err)
				}
				nuclides = string(j)
			}
			if _, err := stmt.ExecContext(ctx, sp.DeviceID, micros(sp.Time), sp.Detector, opt(sp.RealTime), opt(sp.LiveTime),
				string(calJSON), len(sp.Counts), sp.Total(), store.EncodeCounts(sp.Counts), nuclides); err != nil {
				return fmt.Errorf("insert spectrum of device %d: %w", sp.DeviceID, err)
			}
		}
		return nil
	})
}

// SpectraRange returns one device's spectra in [From, To), oldest first.
func (s *Store) SpectraRange(ctx context.Context, q store.SpectrumQuery) ([]store.Spectrum, error) {
	limit := q.Limit
	if limit <= 0 {
		limit = store.DefaultSpectrumLimit
	}
	out, err := queryAll(ctx, s.r, func(r scanner) (store.Spectrum, error) {
		sp := store.Spectrum{DeviceID: q.DeviceID}
		var (
			t          int64
			real, live sql.NullFloat64
			cal        string
			counts     []byte
			nuclides   sql.NullString
		)
		if err := r.Scan(&t, &sp.Detector, &real, &live, &cal, &counts, &nuclides); err != nil {
			return sp, err
		}
		sp.Time, sp.RealTime, sp.LiveTime = fromMicros(t), orNaN(real), orNaN(live)
		if err := json.Unmarshal([]byte(cal), &sp.Calibration); err != nil {
			return sp, fmt.Errorf("calibration: %w", err)
		}
		if len(sp.Calibration) == 0 {
			sp.Calibration = nil
		}
		var err error
		if sp.Counts, err = store.DecodeCounts(counts); err != nil {
			return sp, err
		}
		if nuclides.Valid {
			if err := json.Unmarshal([]byte(nuclides.String), &sp.Nuclides); err != nil {
				return sp, fmt.Errorf("nuclides: %w", err)
			}
		}
		return sp, nil
	}, `SELECT time, detector, real_time, live_time, calibration, counts, nuclides
		FROM spectra WHERE device_id = ? AND time >= ? AND time < ? ORDER BY time, detector LIMIT ?`,
		q.DeviceID, micros(q.From), micros(q.To), limit)
	if err != nil {
		return nil, fmt.Errorf("spectra of device %d: %w", q.DeviceID, err)
	}
	return out, nil
}

func (s *Store) DeleteSpectraBefore(ctx context.Context, before time.Time, limit int) (int64, error) {
	var n int64
	err := s.writeTx(ctx, "delete old spectra", func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM spectra WHERE (device_id, time, detector) IN
			(SELECT device_id, time, detector FROM spectra WHERE time < ? LIMIT ?)`, micros(before), limit)
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("delete spectra before %s: %w", before.Format(time.RFC3339), err)
	}
	return n, nil
}
