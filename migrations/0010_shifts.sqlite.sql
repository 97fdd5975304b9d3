-- Crew shifts: who was in which vehicle when, entered by an operator, so
-- the dose of each shift can be accounted (dose package). A shift is
-- [starts_at, ends_at) of one device; shifts may overlap.
CREATE TABLE shifts (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    device_id   INTEGER NOT NULL REFERENCES devices (id) ON DELETE CASCADE,
    crew        TEXT NOT NULL,
    starts_at   INTEGER NOT NULL,
    ends_at     INTEGER NOT NULL,
    note        TEXT NOT NULL DEFAULT '',
    created_by  TEXT NOT NULL DEFAULT '',
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL,
    CHECK (ends_at > starts_at)
) STRICT;
CREATE INDEX shifts_device_starts ON shifts (device_id, starts_at);
CREATE INDEX shifts_starts ON shifts (starts_at);
