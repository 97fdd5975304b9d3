-- Stored digests' events, each stored once (see 0019_outbox_events.pg.sql):
-- events is a JSON array of the keys of the events a row's pages index.
CREATE TABLE notify_events (
    key   TEXT PRIMARY KEY,
    event TEXT NOT NULL CHECK (json_valid(event))
) STRICT, WITHOUT ROWID;
ALTER TABLE notify_outbox ADD COLUMN events TEXT NOT NULL DEFAULT '[]';
