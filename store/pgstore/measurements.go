package pgstore

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/radtrack/radtrack/sample"
	"github.com/radtrack/radtrack/store"
)

// measurementColumns is the column order of the COPY and INSERT paths.
var measurementColumns = []string{
	"time", "device_id", "received_at", "lon", "lat", "gps_valid", "altitude", "speed", "heading",
	"hdop", "accuracy", "satellites", "dose_rate", "cpm", "counts", "count_interval", "rad_valid",
	"battery", "source", "imported", "attributes",
}

// insertChunk keeps a multi-row INSERT under PostgreSQL's 65535 parameters.
const insertChunk = 1000

// maxTrackRows caps a track query that sets no limit.
const maxTrackRows = 100_000

// WriteSamples commits samples. The fast path is one binary COPY; if the
// batch repeats a stored (device, time) — a client retry — the COPY fails
// on the unique index and the batch is written again through a staging
// table with ON CONFLICT DO NOTHING, so retries cost only when they happen.
func (s *Store) WriteSamples(ctx context.Context, samples []sample.Sample) error {
	if len(samples) == 0 {
		return nil
	}
	if s.mode == WriteInsert {
		return s.insertSamples(ctx, samples)
	}
	conn, err := s.pool.Acquire(ctx)
	if err != nil {
		return fmt.Errorf("copy %d samples: %w", len(samples), err)
	}
	err = s.copySamples(ctx, conn.Conn().PgConn(), "measurements", samples)
	conn.Release()
	if err == nil {
		return nil
	}
	if !isUniqueViolation(err) {
		return fmt.Errorf("copy %d samples: %w", len(samples), withColumn(err, measurementColumns))
	}
	return s.copyDeduplicated(ctx, samples)
}

// WriteSamplesAndAlarms commits samples and coalesced episode updates in
// one transaction (the COPY, then one UPDATE), so that the ack of the
// samples covers their episodes' progress. Without updates it is
// WriteSamples.
func (s *Store) WriteSamplesAndAlarms(ctx context.Context, samples []sample.Sample, updates []store.AlarmUpdate) error {
	if len(updates) == 0 {
		return s.WriteSamples(ctx, samples)
	}
	if len(samples) == 0 || s.mode == WriteInsert {
		// The insert path is for tests and tools: two transactions are fine
		// there (updates are idempotent only across the whole batch, so
		// samples go first; a failure of either is reported).
		if err := s.WriteSamples(ctx, samples); err != nil {
			return err
		}
		return s.UpdateAlarms(ctx, updates)
	}
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		return fmt.Errorf("copy %d samples with %d alarm updates: %w", len(samples), len(updates), err)
	}
	defer tx.Rollback(ctx) //nolint:errcheck // no-op after commit
	err = s.copySamples(ctx, tx.Conn().PgConn(), "measurements", samples)
	if err != nil {
		tx.Rollback(ctx) //nolint:errcheck // the deduplicating path starts over
		if !isUniqueViolation(err) {
			return fmt.Errorf("copy %d samples: %w", len(samples), withColumn(err, measurementColumns))
		}
		return s.copyDeduplicatedWith(ctx, samples, updates)
	}
	if err := updateAlarms(ctx, tx, updates); err != nil {
		return err
	}
	if err := tx.Commit(ctx); err != nil {
		return fmt.Errorf("commit %d samples with %d alarm updates: %w", len(samples), len(updates), err)
	}
	return nil
}

func (s *Store) copyDeduplicated(ctx context.Context, samples []sample.Sample) error {
	return s.copyDeduplicatedWith(ctx, samples, nil)
}

func (s *Store) copyDeduplicatedWith(ctx context.Context, samples []sample.Sample, updates []store.AlarmUpdate) error {
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		return fmt.Errorf("begin deduplicating write: %w", err)
	}
	defer tx.Rollback(ctx) //nolint:errcheck // no-op after commit
	if _, err := tx.Exec(ctx, `CREATE TEMP TABLE IF NOT EXISTS measurements_stage
		(LIKE measurements INCLUDING DEFAULTS) ON COMMIT DELETE ROWS`); err != nil {
		return fmt.Errorf("create staging table: %w", err)
	}
	if err := s.copySamples(ctx, tx.Conn().PgConn(), "measurements_stage", samples); err != nil {
		return fmt.Errorf("copy %d samples to staging: %w", len(samples), withColumn(err, measurementColumns))
	}
	cols := strings.Join(measurementColumns, ", ")
	if _, err := tx.Exec(ctx, `INSERT INTO measurements (`+cols+`) SELECT `+cols+
		` FROM measurements_stage ON CONFLICT (device_id, time) DO NOTHING`); err != nil {
		return fmt.Errorf("merge staged samples: %w", err)
	}
	if len(updates) > 0 {
		if err := updateAlarms(ctx, tx, updates); err != nil {
			return err
		}
	}
	if err := tx.Commit(ctx); err != nil {
		return fmt.Errorf("commit deduplicating write: %w", err)
	}
	return nil
}

func (s *Store) insertSamples(ctx context.Context, samples []sample.Sample) error {
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		return fmt.Errorf("begin insert: %w", err)
	}
	defer tx.Rollback(ctx) //nolint:errcheck // no-op after commit
	for start := 0; start < len(samples); start += insertChunk {
		chunk := samples[min(start, len(samples)):min(start+insertChunk, len(samples))]
		var sql strings.Builder
		sql.WriteString("INSERT INTO measurements (" + strings.Join(measurementColumns, ", ") + ") VALUES ")
		args := make([]any, 0, len(chunk)*len(measurementColumns))
		for i := range chunk {
			if i > 0 {
				sql.WriteString(", ")
			}
			sql.WriteByte('(')
			for c := range measurementColumns {
				if c > 0 {
					sql.WriteString(", ")
				}
				fmt.Fprintf(&sql, "$%d", len(args)+c+1)
			}
			sql.WriteByte(')')
			row, err := sampleRow(&chunk[i])
			if err != nil {
				return err
			}
			args = append(args, row...)
		}
		sql.WriteString(" ON CONFLICT (device_id, time) DO NOTHING")
		if _, err := tx.Exec(ctx, sql.String(), args...); err != nil {
			return fmt.Errorf("insert %d samples: %w", len(chunk), withColumn(err, measurementColumns))
		}
	}
	if err := tx.Commit(ctx); err != nil {
		return fmt.Errorf("commit insert: %w", err)
	}
	return nil
}

// sampleRows feeds samples to CopyFrom without building all rows up front.
type sampleRows struct {
	samples []sample.Sample
	i       int
	row     []any
	err     error
}

func (r *sampleRows) Next() bool {
	if r.i >= len(r.samples) || r.err != nil {
		return false
	}
	r.row, r.err = sampleRow(&r.samples[r.i])
	r.i++
	return r.err == nil
}

func (r *sampleRows) Values() ([]any, error) { return r.row, r.err }
func (r *sampleRows) Err() error             { return r.err }

func sampleRow(s *sample.Sample) ([]any, error) {
	var attrs any
	if len(s.Attributes) > 0 {
		b, err := json.Marshal(s.Attributes)
		if err != nil {
			return nil, fmt.Errorf("encode attributes of device %d at %s: %w", s.DeviceID, s.Time.Format(time.RFC3339), err)
		}
		attrs = json.RawMessage(b)
	}
	var sats any
	if s.Satellites >= 0 {
		sats = int16(min(s.Satellites, math.MaxInt16))
	}
	var lon, lat any // NULL without a fix: a table reader must never see 0,0
	if s.GPSValid {
		lon, lat = s.Lon, s.Lat
	}
	return []any{
		s.Time, s.DeviceID, s.ReceivedAt, lon, lat, s.GPSValid, opt(s.Altitude), opt(s.Speed), opt(s.Heading),
		opt(s.HDOP), opt(s.Accuracy), sats, opt(s.DoseRate), opt(s.CPM), opt(s.Counts), opt(s.CountInterval), s.RadValid,
		opt(s.Battery), s.Source, s.Imported, attrs,
	}, nil
}

// opt maps the sample's NaN-for-absent convention to SQL NULL.
func opt(v float64) any {
	if math.IsNaN(v) {
		return nil
	}
	return v
}

// Track returns one device's samples in [From, To), oldest first.
func (s *Store) Track(ctx context.Context, q store.TrackQuery) ([]sample.Sample, error) {
	limit := q.Limit
	if limit <= 0 || limit > maxTrackRows {
		limit = maxTrackRows
	}
	rows, err := s.pool.Query(ctx, `SELECT `+strings.Join(measurementColumns, ", ")+`
		FROM measurements WHERE device_id = $1 AND time >= $2 AND time < $3
		ORDER BY time LIMIT $4`, q.DeviceID, q.From, q.To, limit)
	if err != nil {
		return nil, fmt.Errorf("track of device %d: %w", q.DeviceID, err)
	}
	out, err := pgx.CollectRows(rows, scanSample)
	if err != nil {
		return nil, fmt.Errorf("track of device %d: %w", q.DeviceID, err)
	}
	return out, nil
}

func scanSample(row pgx.CollectableRow) (sample.Sample, error) {
	var (
		s                                                         sample.Sample
		lon, lat                                                  *float64
		alt, speed, heading, hdop, acc, dose, cpm, counts, ci, bt *float64
		sats                                                      *int16
		attrs                                                     []byte
	)
	err := row.Scan(&s.Time, &s.DeviceID, &s.ReceivedAt, &lon, &lat, &s.GPSValid, &alt, &speed, &heading,
		&hdop, &acc, &sats, &dose, &cpm, &counts, &ci, &s.RadValid, &bt, &s.Source, &s.Imported, &attrs)
	if err != nil {
		return s, err
	}
	s.Lon, s.Lat = orZero(lon), orZero(lat)
	s.Altitude, s.Speed, s.Heading, s.HDOP, s.Accuracy = orNaN(alt), orNaN(speed), orNaN(heading), orNaN(hdop), orNaN(acc)
	s.DoseRate, s.CPM, s.Counts, s.CountInterval, s.Battery = orNaN(dose), orNaN(cpm), orNaN(counts), orNaN(ci), orNaN(bt)
	s.Satellites = -1
	if sats != nil {
		s.Satellites = int(*sats)
	}
	s.Time, s.ReceivedAt = s.Time.UTC(), s.ReceivedAt.UTC()
	if len(attrs) > 0 {
		if err := json.Unmarshal(attrs, &s.Attributes); err != nil {
			return s, fmt.Errorf("decode attributes: %w", err)
		}
	}
	return s, nil
}

func orNaN(p *float64) float64 {
	if p == nil {
		return math.NaN()
	}
	return *p
}

func orZero(p *float64) float64 {
	if p == nil {
		return 0
	}
	return *p
}

// DoseMinutes returns per-minute dose statistics of one device in [from, to).
// On TimescaleDB they come from the dose_1m continuous aggregate (real-time:
// materialised buckets plus the newest raw rows); on plain PostgreSQL from
// the same grouping over the raw table, bounded by time so BRIN prunes.
func (s *Store) DoseMinutes(ctx context.Context, deviceID int64, from, to time.Time) ([]store.DoseMinute, error) {
	query := `SELECT device_id, bucket, dose_min, dose_avg, dose_max, samples, lon, lat
		FROM dose_1m WHERE device_id = $1 AND bucket >= $2 AND bucket < $3 ORDER BY bucket`
	if !s.timescale {
		query = `SELECT * FROM (SELECT device_id, date_trunc('minute', time) AS bucket,
			min(dose_rate), avg(dose_rate), max(dose_rate), count(*),
			(array_agg(lon ORDER BY time DESC) FILTER (WHERE gps_valid))[1],
			(array_agg(lat ORDER BY time DESC) FILTER (WHERE gps_valid))[1]
		FROM measurements WHERE device_id = $1 AND time >= date_trunc('minute', $2::timestamptz) AND time < $3
		GROUP BY device_id, bucket) m WHERE bucket >= $2 ORDER BY bucket`
	}
	rows, err := s.pool.Query(ctx, query, deviceID, from, to)
	if err != nil {
		return nil, fmt.Errorf("dose minutes of device %d: %w", deviceID, err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (store.DoseMinute, error) {
		var m store.DoseMinute
		err := r.Scan(&m.DeviceID, &m.Bucket, &m.Min, &m.Avg, &m.Max, &m.Samples, &m.Lon, &m.Lat)
		m.Bucket = m.Bucket.UTC()
		return m, err
	})
	if err != nil {
		return nil, fmt.Errorf("dose minutes of device %d: %w", deviceID, err)
	}
	return out, nil
}

// MeasurementColumns is the column order SampleRows produces, for
// benchmarks that COPY straight into a table shaped like measurements.
func MeasurementColumns() []string { return slices.Clone(measurementColumns) }

// SampleRows adapts samples to pgx.CopyFromSource.
func SampleRows(samples []sample.Sample) pgx.CopyFromSource { return &sampleRows{samples: samples} }
