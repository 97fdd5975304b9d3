-- Geofences, alarm rules, alarm episodes and their audit trail, and
-- one-time facts about the installation.
--
-- A fence is stored as the GeoJSON Feature the API speaks; name and kind
-- are columns too for listing. Rules are stored as their JSON definition.
CREATE TABLE fences (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    name        TEXT NOT NULL,
    kind        TEXT NOT NULL CHECK (kind IN ('restricted', 'patrol', 'monitoring')),
    feature     TEXT NOT NULL CHECK (json_valid(feature)),
    created_at  INTEGER NOT NULL DEFAULT (CAST(unixepoch('subsec') * 1000000 AS INTEGER)),
    updated_at  INTEGER NOT NULL DEFAULT (CAST(unixepoch('subsec') * 1000000 AS INTEGER))
) STRICT;

CREATE TABLE rules (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    definition  TEXT NOT NULL CHECK (json_valid(definition)),
    created_at  INTEGER NOT NULL DEFAULT (CAST(unixepoch('subsec') * 1000000 AS INTEGER)),
    updated_at  INTEGER NOT NULL DEFAULT (CAST(unixepoch('subsec') * 1000000 AS INTEGER))
) STRICT;

-- One row per alarm episode. At most one unresolved episode per
-- (device, rule, fence, imported), enforced by the partial unique index.
CREATE TABLE alarms (
    id                  INTEGER PRIMARY KEY AUTOINCREMENT,
    device_id           INTEGER NOT NULL,
    rule_id             INTEGER NOT NULL,
    fence_id            INTEGER NOT NULL DEFAULT 0,
    imported            INTEGER NOT NULL DEFAULT 0 CHECK (imported IN (0, 1)),
    rule_name           TEXT NOT NULL,
    kind                TEXT NOT NULL,
    severity            TEXT NOT NULL,
    state               TEXT NOT NULL CHECK (state IN ('raised', 'acknowledged', 'resolved')),
    first_seen          INTEGER NOT NULL,
    last_seen           INTEGER NOT NULL,
    samples             INTEGER NOT NULL,
    condition_active    INTEGER NOT NULL CHECK (condition_active IN (0, 1)),
    condition_ended_at  INTEGER,
    peak_dose           REAL,
    peak_time           INTEGER NOT NULL,
    peak_lon            REAL NOT NULL,
    peak_lat            REAL NOT NULL,
    peak_gps_valid      INTEGER NOT NULL CHECK (peak_gps_valid IN (0, 1)),
    significance        REAL NOT NULL DEFAULT 0,
    acked_by            TEXT NOT NULL DEFAULT '',
    acked_at            INTEGER,
    ack_comment         TEXT NOT NULL DEFAULT '',
    implicit_ack        INTEGER NOT NULL DEFAULT 0 CHECK (implicit_ack IN (0, 1)),
    resolved_by         TEXT NOT NULL DEFAULT '',
    resolved_at         INTEGER,
    code                TEXT NOT NULL DEFAULT '',
    resolve_comment     TEXT NOT NULL DEFAULT '',
    created_at          INTEGER NOT NULL DEFAULT (CAST(unixepoch('subsec') * 1000000 AS INTEGER)),
    updated_at          INTEGER NOT NULL DEFAULT (CAST(unixepoch('subsec') * 1000000 AS INTEGER))
) STRICT;
CREATE UNIQUE INDEX alarms_open_key ON alarms (device_id, rule_id, fence_id, imported) WHERE state <> 'resolved';
CREATE INDEX alarms_first_seen ON alarms (first_seen DESC);
CREATE INDEX alarms_unresolved ON alarms (state) WHERE state <> 'resolved';

-- Every transition of an alarm with who, when, why, and the episode as it was.
CREATE TABLE alarm_events (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    alarm_id    INTEGER NOT NULL REFERENCES alarms (id),
    type        TEXT NOT NULL,
    time        INTEGER NOT NULL,
    username    TEXT NOT NULL DEFAULT '',
    comment     TEXT NOT NULL DEFAULT '',
    code        TEXT NOT NULL DEFAULT '',
    snapshot    TEXT NOT NULL CHECK (json_valid(snapshot)),
    created_at  INTEGER NOT NULL DEFAULT (CAST(unixepoch('subsec') * 1000000 AS INTEGER))
) STRICT;
CREATE INDEX alarm_events_alarm ON alarm_events (alarm_id, id);

-- One-time facts about this installation (e.g. that default rules were
-- seeded, so deleting them all does not bring them back).
CREATE TABLE settings (
    key    TEXT PRIMARY KEY,
    value  TEXT NOT NULL CHECK (json_valid(value))
) STRICT;
