-- Measurements: every sample of every device. (device_id, time) is the
-- natural key: as the primary key of a WITHOUT ROWID table it is the
-- table's own order, so a device's track is one contiguous range scan, and
-- retried uploads are idempotent (INSERT ... ON CONFLICT DO NOTHING). No
-- foreign key to devices: devices are revoked, never deleted, and the
-- lookup would cost on every row.
CREATE TABLE measurements (
    time            INTEGER NOT NULL,
    device_id       INTEGER NOT NULL,
    received_at     INTEGER NOT NULL,
    lon             REAL,
    lat             REAL,
    gps_valid       INTEGER NOT NULL CHECK (gps_valid IN (0, 1)),
    altitude        REAL,
    speed           REAL,
    heading         REAL,
    hdop            REAL,
    accuracy        REAL,
    satellites      INTEGER,
    dose_rate       REAL,
    cpm             REAL,
    counts          REAL,
    count_interval  REAL,
    rad_valid       INTEGER NOT NULL CHECK (rad_valid IN (0, 1)),
    battery         REAL,
    source          TEXT NOT NULL,
    imported        INTEGER NOT NULL DEFAULT 0 CHECK (imported IN (0, 1)),
    attributes      TEXT,
    PRIMARY KEY (device_id, time)
) STRICT, WITHOUT ROWID;
