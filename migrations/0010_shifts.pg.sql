-- Crew shifts: who was in which vehicle when, entered by an operator, so
-- the dose of each shift can be accounted (dose package). A shift is
-- [starts_at, ends_at) of one device; shifts may overlap (two crews
-- share a vehicle, a handover).
CREATE TABLE shifts (
    id          bigserial PRIMARY KEY,
    device_id   bigint NOT NULL REFERENCES devices (id) ON DELETE CASCADE,
    crew        text NOT NULL,
    starts_at   timestamptz NOT NULL,
    ends_at     timestamptz NOT NULL,
    note        text NOT NULL DEFAULT '',
    created_by  text NOT NULL DEFAULT '',
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    CHECK (ends_at > starts_at)
);
CREATE INDEX shifts_device_starts ON shifts (device_id, starts_at);
CREATE INDEX shifts_starts ON shifts (starts_at);
