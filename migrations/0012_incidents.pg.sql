-- Incidents: the alarms one radiological event causes (one vehicle's pass,
-- or several vehicles near the same place within a time and distance
-- window) grouped so people handle one card, not one per rule. The row is
-- a summary the incidents package computes from its alarms (state,
-- highest severity, peak); the alarms keep their own state and audit trail.
CREATE TABLE incidents (
    id              bigserial PRIMARY KEY,
    imported        boolean NOT NULL DEFAULT false,
    state           text NOT NULL CHECK (state IN ('raised', 'acknowledged', 'resolved')),
    severity        text NOT NULL,
    first_seen      timestamptz NOT NULL,
    last_seen       timestamptz NOT NULL,
    peak_dose       double precision,
    peak_time       timestamptz NOT NULL,
    peak_lon        double precision NOT NULL,
    peak_lat        double precision NOT NULL,
    peak_gps_valid  boolean NOT NULL,
    peak_device_id  bigint NOT NULL,
    realarmed_at    timestamptz,
    acked_by        text NOT NULL DEFAULT '',
    acked_at        timestamptz,
    resolved_by     text NOT NULL DEFAULT '',
    resolved_at     timestamptz,
    code            text NOT NULL DEFAULT '',
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX incidents_unresolved ON incidents (last_seen DESC) WHERE state <> 'resolved';
CREATE INDEX incidents_first_seen ON incidents (first_seen DESC);

ALTER TABLE alarms ADD COLUMN incident_id bigint REFERENCES incidents (id);
CREATE INDEX alarms_incident ON alarms (incident_id) WHERE incident_id IS NOT NULL;
