-- The group commits whose episode updates are stored (see
-- 0016_alarm_update_batches.pg.sql): a replayed batch that is here is
-- skipped. stored_at in Unix microseconds.
CREATE TABLE alarm_update_batches (
    id         INTEGER PRIMARY KEY,
    stored_at  INTEGER NOT NULL DEFAULT (CAST(unixepoch('subsec') * 1000000 AS INTEGER))
) STRICT;
CREATE INDEX alarm_update_batches_stored_at ON alarm_update_batches (stored_at);
