-- Notification routing, escalation and the durable outbox (notify/dispatch);
-- see the .pg.sql file. Times are Unix microseconds. The embedded store is
-- single-node: the lease columns only guard against a crashed worker.
CREATE TABLE notify_config (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    kind        TEXT NOT NULL CHECK (kind IN ('endpoint', 'rule', 'policy')),
    name        TEXT NOT NULL,
    spec        TEXT NOT NULL CHECK (json_valid(spec)),
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL,
    UNIQUE (kind, name)
) STRICT;

CREATE TABLE notify_contacts (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id     INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    kind        TEXT NOT NULL CHECK (kind IN ('push', 'email')),
    value       TEXT NOT NULL,
    spec        TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(spec)),
    created_at  INTEGER NOT NULL,
    UNIQUE (user_id, kind, value)
) STRICT;

CREATE TABLE notify_escalations (
    incident_id INTEGER NOT NULL,
    rule_id     INTEGER NOT NULL,
    policy_id   INTEGER NOT NULL,
    step        INTEGER NOT NULL,
    cycle       INTEGER NOT NULL,
    due_at      INTEGER NOT NULL,
    active      INTEGER NOT NULL,
    event       TEXT NOT NULL CHECK (json_valid(event)),
    updated_at  INTEGER NOT NULL,
    PRIMARY KEY (incident_id, rule_id)
) STRICT;
CREATE INDEX notify_escalations_due ON notify_escalations (due_at) WHERE active;

CREATE TABLE notify_outbox (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    key             TEXT NOT NULL UNIQUE,
    incident_id     INTEGER NOT NULL,
    version         INTEGER NOT NULL,
    channel         TEXT NOT NULL,
    endpoint_id     INTEGER NOT NULL DEFAULT 0,
    recipient       TEXT NOT NULL,
    pages           INTEGER NOT NULL,
    delivery        TEXT NOT NULL CHECK (json_valid(delivery)),
    state           TEXT NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'sent', 'failed', 'cancelled')),
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER NOT NULL,
    lease_owner     TEXT,
    lease_until     INTEGER,
    last_status     INTEGER NOT NULL DEFAULT 0,
    last_error      TEXT NOT NULL DEFAULT '',
    created_at      INTEGER NOT NULL,
    sent_at         INTEGER
) STRICT;
CREATE INDEX notify_outbox_due ON notify_outbox (next_attempt_at) WHERE state = 'pending';
CREATE INDEX notify_outbox_incident ON notify_outbox (incident_id);

CREATE TABLE notify_attempts (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    outbox_id   INTEGER NOT NULL REFERENCES notify_outbox (id) ON DELETE CASCADE,
    incident_id INTEGER NOT NULL,
    at          INTEGER NOT NULL,
    node        TEXT NOT NULL,
    channel     TEXT NOT NULL,
    recipient   TEXT NOT NULL,
    ok          INTEGER NOT NULL,
    status      INTEGER NOT NULL,
    error       TEXT NOT NULL DEFAULT ''
) STRICT;
CREATE INDEX notify_attempts_incident ON notify_attempts (incident_id, at);
