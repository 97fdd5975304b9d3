-- Removes what 0003_measurements_engine.plain.sql created, so that
-- "radtrack migrate -to-timescaledb" can then run
-- 0003_measurements_engine.tsdb.sql on a plain-PostgreSQL database that
-- already holds data. Never run on its own.
DROP VIEW dose_1m;
DROP INDEX measurements_time_brin;
