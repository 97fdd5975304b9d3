-- Measurements: every sample of every device. (device_id, time) is the
-- natural key: the unique index doubles as the per-device time index and
-- makes retried uploads idempotent. No foreign key to devices: it would cost
-- a lookup per row on the COPY path, and devices are revoked, never deleted.
CREATE TABLE measurements (
    time            timestamptz NOT NULL,
    device_id       bigint NOT NULL,
    received_at     timestamptz NOT NULL,
    lon             double precision,
    lat             double precision,
    gps_valid       boolean NOT NULL,
    altitude        double precision,
    speed           double precision,
    heading         double precision,
    hdop            double precision,
    accuracy        double precision,
    satellites      smallint,
    dose_rate       double precision,
    cpm             double precision,
    counts          double precision,
    count_interval  double precision,
    rad_valid       boolean NOT NULL,
    battery         double precision,
    source          text NOT NULL,
    imported        boolean NOT NULL DEFAULT false,
    attributes      jsonb
);

CREATE UNIQUE INDEX measurements_device_time ON measurements (device_id, time DESC);
