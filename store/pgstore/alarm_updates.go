package pgstore

import (
	"cmp"
	"context"
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/radtrack/radtrack/store"
)

// alarmUpdatesLockKey is the transaction-level advisory lock every batch
// of episode updates takes first ("radtrack" 19 in ASCII and hex). Two
// flushers (or nodes) whose batches share episodes must lock those rows in
// one order, or each can hold a row the other waits for: PostgreSQL's
// generic plan of the statement below (chosen after five executions of
// the prepared statement) probes a hash of the unnest with a sequential
// scan of alarms, so rows are locked in heap order, which differs between
// the two statements' snapshots once updates have moved rows; with every
// commit touching the same 200 episodes (BenchmarkGroupCommit) that was a
// "deadlock detected" within seconds. Batches sharing episodes wait for
// each other's commit anyway (row locks), so one lock costs them nothing.
const alarmUpdatesLockKey int64 = 0x7261647472616b19

// UpdateAlarms applies coalesced episode updates in one statement.
func (s *Store) UpdateAlarms(ctx context.Context, updates []store.AlarmUpdate) error {
	if len(updates) == 0 {
		return nil
	}
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		return fmt.Errorf("update %d alarms: %w", len(updates), err)
	}
	defer tx.Rollback(ctx) //nolint:errcheck // no-op after commit
	if err := updateAlarms(ctx, tx, updates); err != nil {
		return err
	}
	if err := tx.Commit(ctx); err != nil {
		return fmt.Errorf("update %d alarms: %w", len(updates), err)
	}
	return nil
}

// updateAlarms is one UPDATE … FROM unnest(…) for every update, rows in id
// order (the order the first, custom plans lock them in; the generic plan
// does not keep it, so concurrent batches are kept apart by
// alarmUpdatesLockKey, not by this order). Only the fields that grow are
// written: the condition and the state belong to immediate events. The
// same statement records the updates' batch id, and updates nothing if it
// was recorded before (a replay of a commit that did happen), and prunes
// the ids older than store.BatchPruneAfter. It runs in the caller's
// transaction, after alarmUpdatesLockKey, sent with it in one round trip.
func updateAlarms(ctx context.Context, tx pgx.Tx, updates []store.AlarmUpdate) error {
	ups := slices.Clone(updates)
	slices.SortFunc(ups, func(a, b store.AlarmUpdate) int { return cmp.Compare(a.ID, b.ID) })
	n := len(ups)
	var (
		ids      = make([]int64, n)
		lastSeen = make([]time.Time, n)
		add      = make([]int64, n)
		peak     = make([]*float64, n)
		peakTime = make([]time.Time, n)
		peakLon  = make([]float64, n)
		peakLat  = make([]float64, n)
		peakGPS  = make([]bool, n)
		signif   = make([]float64, n)
	)
	for i, u := range ups {
		ids[i], lastSeen[i], add[i] = u.ID, u.LastSeen, int64(u.AddSamples)
		if !math.IsNaN(u.PeakDose) {
			peak[i] = &ups[i].PeakDose
		}
		peakTime[i], peakLon[i], peakLat[i], peakGPS[i] = u.PeakTime, u.PeakLon, u.PeakLat, u.PeakGPSValid
		signif[i] = finiteOr0(u.Significance)
	}
	var b pgx.Batch
	b.Queue(`SELECT pg_advisory_xact_lock($1)`, alarmUpdatesLockKey)
	b.Queue(`WITH pruned AS (
			DELETE FROM alarm_update_batches WHERE stored_at < now() - make_interval(secs => $11::float8)
		), fresh AS (
			INSERT INTO alarm_update_batches (id) SELECT $10::bigint WHERE $10::bigint <> 0
			ON CONFLICT (id) DO NOTHING RETURNING id
		)
		UPDATE alarms a SET
			last_seen = GREATEST(a.last_seen, u.last_seen), samples = a.samples + u.add,
			peak_dose = CASE WHEN a.peak_dose IS NULL OR u.peak > a.peak_dose THEN u.peak ELSE a.peak_dose END,
			peak_time = CASE WHEN a.peak_dose IS NULL OR u.peak > a.peak_dose THEN u.peak_time ELSE a.peak_time END,
			peak_lon = CASE WHEN a.peak_dose IS NULL OR u.peak > a.peak_dose THEN u.peak_lon ELSE a.peak_lon END,
			peak_lat = CASE WHEN a.peak_dose IS NULL OR u.peak > a.peak_dose THEN u.peak_lat ELSE a.peak_lat END,
			peak_gps_valid = CASE WHEN a.peak_dose IS NULL OR u.peak > a.peak_dose THEN u.peak_gps ELSE a.peak_gps_valid END,
			significance = GREATEST(a.significance, u.signif), updated_at = now()
		FROM unnest($1::bigint[], $2::timestamptz[], $3::bigint[], $4::float8[], $5::timestamptz[],
			$6::float8[], $7::float8[], $8::bool[], $9::float8[])
			AS u(id, last_seen, add, peak, peak_time, peak_lon, peak_lat, peak_gps, signif)
		WHERE a.id = u.id AND a.state <> 'resolved' AND ($10::bigint = 0 OR EXISTS (SELECT 1 FROM fresh))`,
		ids, lastSeen, add, peak, peakTime, peakLon, peakLat, peakGPS, signif, ups[0].Batch, store.BatchPruneAfter.Seconds())
	if err := tx.SendBatch(ctx, &b).Close(); err != nil {
		return fmt.Errorf("update %d alarms: %w", n, err)
	}
	return nil
}
