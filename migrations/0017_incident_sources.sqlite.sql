-- Incident source estimates (see 0017_incident_sources.pg.sql). Times are
-- Unix microseconds; estimate is JSON text.
CREATE TABLE incident_sources (
    incident_id  INTEGER PRIMARY KEY REFERENCES incidents (id) ON DELETE CASCADE,
    fitted_at    INTEGER NOT NULL,
    through      INTEGER NOT NULL,
    estimate     TEXT NOT NULL CHECK (json_valid(estimate))
) STRICT;
