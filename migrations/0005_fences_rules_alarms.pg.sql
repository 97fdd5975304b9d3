-- Geofences, alarm rules, alarm episodes and their audit trail.
--
-- A fence is stored as the GeoJSON Feature the API speaks ([lon, lat]);
-- name and kind are columns too for listing. Rules are stored as their JSON
-- definition (kind-specific parameters vary). No spatial index here: fences
-- are few and the spatial index lives in memory (geo package).
CREATE TABLE fences (
    id          bigserial PRIMARY KEY,
    name        text NOT NULL,
    kind        text NOT NULL CHECK (kind IN ('restricted', 'patrol', 'monitoring')),
    feature     jsonb NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE rules (
    id          bigserial PRIMARY KEY,
    definition  jsonb NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now()
);

-- One row per alarm episode. At most one unresolved episode per
-- (device, rule, fence, imported): the partial unique index is what keeps
-- two nodes that see the same device from raising the same alarm twice.
CREATE TABLE alarms (
    id                  bigserial PRIMARY KEY,
    device_id           bigint NOT NULL,
    rule_id             bigint NOT NULL,
    fence_id            bigint NOT NULL DEFAULT 0,
    imported            boolean NOT NULL DEFAULT false,
    rule_name           text NOT NULL,
    kind                text NOT NULL,
    severity            text NOT NULL,
    state               text NOT NULL CHECK (state IN ('raised', 'acknowledged', 'resolved')),
    first_seen          timestamptz NOT NULL,
    last_seen           timestamptz NOT NULL,
    samples             integer NOT NULL,
    condition_active    boolean NOT NULL,
    condition_ended_at  timestamptz,
    peak_dose           double precision,
    peak_time           timestamptz NOT NULL,
    peak_lon            double precision NOT NULL,
    peak_lat            double precision NOT NULL,
    peak_gps_valid      boolean NOT NULL,
    significance        double precision NOT NULL DEFAULT 0,
    acked_by            text NOT NULL DEFAULT '',
    acked_at            timestamptz,
    ack_comment         text NOT NULL DEFAULT '',
    implicit_ack        boolean NOT NULL DEFAULT false,
    resolved_by         text NOT NULL DEFAULT '',
    resolved_at         timestamptz,
    code                text NOT NULL DEFAULT '',
    resolve_comment     text NOT NULL DEFAULT '',
    created_at          timestamptz NOT NULL DEFAULT now(),
    updated_at          timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX alarms_open_key ON alarms (device_id, rule_id, fence_id, imported) WHERE state <> 'resolved';
CREATE INDEX alarms_first_seen ON alarms (first_seen DESC);
CREATE INDEX alarms_unresolved ON alarms (state) WHERE state <> 'resolved';

-- Every transition of an alarm (raised, condition ended, acknowledged,
-- resolved) with who, when, why, and the episode as it was.
CREATE TABLE alarm_events (
    id          bigserial PRIMARY KEY,
    alarm_id    bigint NOT NULL REFERENCES alarms (id),
    type        text NOT NULL,
    time        timestamptz NOT NULL,
    username    text NOT NULL DEFAULT '',
    comment     text NOT NULL DEFAULT '',
    code        text NOT NULL DEFAULT '',
    snapshot    jsonb NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX alarm_events_alarm ON alarm_events (alarm_id, id);

-- One-time facts about this installation (e.g. that default rules were
-- seeded, so deleting them all does not bring them back).
CREATE TABLE settings (
    key    text PRIMARY KEY,
    value  jsonb NOT NULL
);
