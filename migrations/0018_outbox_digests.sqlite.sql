-- Stored digests (see 0018_outbox_digests.pg.sql): the incidents an outbox
-- row pages when it covers several, and whether each was dropped
-- (acknowledged or resolved before the row went out).
CREATE TABLE notify_outbox_covers (
    outbox_id   INTEGER NOT NULL REFERENCES notify_outbox (id) ON DELETE CASCADE,
    incident_id INTEGER NOT NULL,
    dropped     INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (outbox_id, incident_id)
) STRICT, WITHOUT ROWID;
CREATE INDEX notify_outbox_covers_incident ON notify_outbox_covers (incident_id);
CREATE INDEX notify_attempts_outbox ON notify_attempts (outbox_id);
