-- dose_1m's refresh policy covers all time, not only the last 3 hours.
-- A real-time aggregate answers from materialised buckets below its
-- watermark and from raw rows above it; a policy window of 3 hours moved the
-- watermark past rows it never materialised, so minutes older than that
-- vanished from dose_1m: data already in the table when it became a
-- hypertable (radtrack migrate -to-timescaledb), a vehicle back after days
-- without network, an imported log. A window without a start still only
-- recomputes ranges that new rows invalidated, so a run stays cheap.
-- Oldest batch first: the watermark then only ever passes materialised
-- minutes, so the aggregate stays complete while a long history (the first
-- run after a conversion) is being materialised; newest first (the default)
-- hid everything older until the last batch was done.
SELECT remove_continuous_aggregate_policy('dose_1m', if_exists => true);

SELECT add_continuous_aggregate_policy('dose_1m',
    start_offset => NULL,
    end_offset => INTERVAL '1 minute',
    schedule_interval => INTERVAL '1 minute',
    refresh_newest_first => false);
