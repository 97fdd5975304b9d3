-- The latest source estimate of each incident (package localize, refitted
-- in the background as its alarms progress). estimate is the estimate as
-- the REST API renders it; through is the incident's last_seen it was
-- fitted for, so a reader knows whether alarms progressed since.
CREATE TABLE incident_sources (
    incident_id  bigint PRIMARY KEY REFERENCES incidents (id) ON DELETE CASCADE,
    fitted_at    timestamptz NOT NULL,
    through      timestamptz NOT NULL,
    estimate     jsonb NOT NULL
);
