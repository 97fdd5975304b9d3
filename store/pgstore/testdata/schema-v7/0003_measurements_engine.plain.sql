-- Plain PostgreSQL: a heap table (rows arrive in time order, so a BRIN index
-- on time is tiny and prunes time-range scans) and a view with the same
-- columns as TimescaleDB's continuous aggregate.
CREATE INDEX measurements_time_brin ON measurements USING brin (time);

CREATE VIEW dose_1m AS
SELECT device_id,
       date_trunc('minute', time) AS bucket,
       min(dose_rate)   AS dose_min,
       avg(dose_rate)   AS dose_avg,
       max(dose_rate)   AS dose_max,
       count(*)         AS samples,
       (array_agg(lon ORDER BY time DESC) FILTER (WHERE gps_valid))[1] AS lon,
       (array_agg(lat ORDER BY time DESC) FILTER (WHERE gps_valid))[1] AS lat
FROM measurements
GROUP BY device_id, bucket;
