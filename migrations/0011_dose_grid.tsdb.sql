-- The heatmap's pre-aggregated grid: per hour and per day, per base cell of
-- 0.0005° (store.HeatGridDeg; the expressions must stay identical to the
-- raw part of pgstore.Heatmap), the highest dose, the sum of doses and the
-- number of samples with a fix and a dose. A heatmap over a long range
-- reads these instead of every sample. Both answer in real time: buckets
-- above their watermark are computed from raw rows. The daily one reads raw
-- rows too, not the hourly one: built on the hourly one (a hierarchical
-- aggregate), its answers came out short in the conversion test while the
-- hourly one's first refresh was still running.
CREATE MATERIALIZED VIEW dose_grid_1h WITH (timescaledb.continuous, timescaledb.materialized_only = false) AS
SELECT time_bucket(INTERVAL '1 hour', time) AS bucket,
       floor(lon / 0.0005)::bigint AS gx,
       floor(lat / 0.0005)::bigint AS gy,
       max(dose_rate) AS dose_max,
       sum(dose_rate) AS dose_sum,
       count(*)       AS samples
FROM measurements
WHERE gps_valid AND dose_rate IS NOT NULL
GROUP BY bucket, gx, gy
WITH NO DATA;

CREATE MATERIALIZED VIEW dose_grid_1d WITH (timescaledb.continuous, timescaledb.materialized_only = false) AS
SELECT time_bucket(INTERVAL '1 day', time) AS bucket,
       floor(lon / 0.0005)::bigint AS gx,
       floor(lat / 0.0005)::bigint AS gy,
       max(dose_rate) AS dose_max,
       sum(dose_rate) AS dose_sum,
       count(*)       AS samples
FROM measurements
WHERE gps_valid AND dose_rate IS NOT NULL
GROUP BY bucket, gx, gy
WITH NO DATA;

-- All time, oldest first, like dose_1m (0008): late rows (a vehicle back
-- after days without network, an imported log) are materialised too.
SELECT add_continuous_aggregate_policy('dose_grid_1h',
    start_offset => NULL,
    end_offset => INTERVAL '1 hour',
    schedule_interval => INTERVAL '10 minutes',
    refresh_newest_first => false);

SELECT add_continuous_aggregate_policy('dose_grid_1d',
    start_offset => NULL,
    end_offset => INTERVAL '1 day',
    schedule_interval => INTERVAL '1 hour',
    refresh_newest_first => false);
