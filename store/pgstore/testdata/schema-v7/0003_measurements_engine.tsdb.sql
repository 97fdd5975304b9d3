-- TimescaleDB: measurements become a hypertable of 1-day chunks, compressed
-- per device (policy set at start-up from configuration), with a continuous
-- aggregate of per-device 1-minute dose statistics.
CREATE EXTENSION IF NOT EXISTS timescaledb;

SELECT create_hypertable('measurements', 'time',
    chunk_time_interval => INTERVAL '1 day',
    create_default_indexes => false,
    migrate_data => true);

ALTER TABLE measurements SET (
    timescaledb.compress,
    timescaledb.compress_segmentby = 'device_id',
    timescaledb.compress_orderby = 'time DESC'
);

CREATE MATERIALIZED VIEW dose_1m WITH (timescaledb.continuous, timescaledb.materialized_only = false) AS
SELECT device_id,
       time_bucket(INTERVAL '1 minute', time) AS bucket,
       min(dose_rate)   AS dose_min,
       avg(dose_rate)   AS dose_avg,
       max(dose_rate)   AS dose_max,
       count(*)         AS samples,
       last(lon, time) FILTER (WHERE gps_valid) AS lon,
       last(lat, time) FILTER (WHERE gps_valid) AS lat
FROM measurements
GROUP BY device_id, bucket
WITH NO DATA;

SELECT add_continuous_aggregate_policy('dose_1m',
    start_offset => INTERVAL '3 hours',
    end_offset => INTERVAL '1 minute',
    schedule_interval => INTERVAL '1 minute');
