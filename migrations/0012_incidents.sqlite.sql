-- Incidents (see 0012_incidents.pg.sql). Times are Unix microseconds.
CREATE TABLE incidents (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    imported        INTEGER NOT NULL DEFAULT 0,
    state           TEXT NOT NULL CHECK (state IN ('raised', 'acknowledged', 'resolved')),
    severity        TEXT NOT NULL,
    first_seen      INTEGER NOT NULL,
    last_seen       INTEGER NOT NULL,
    peak_dose       REAL,
    peak_time       INTEGER NOT NULL,
    peak_lon        REAL NOT NULL,
    peak_lat        REAL NOT NULL,
    peak_gps_valid  INTEGER NOT NULL,
    peak_device_id  INTEGER NOT NULL,
    realarmed_at    INTEGER,
    acked_by        TEXT NOT NULL DEFAULT '',
    acked_at        INTEGER,
    resolved_by     TEXT NOT NULL DEFAULT '',
    resolved_at     INTEGER,
    code            TEXT NOT NULL DEFAULT '',
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL
) STRICT;
CREATE INDEX incidents_last_seen ON incidents (last_seen DESC);

ALTER TABLE alarms ADD COLUMN incident_id INTEGER REFERENCES incidents (id);
CREATE INDEX alarms_incident ON alarms (incident_id) WHERE incident_id IS NOT NULL;
