-- Gamma spectra beside the samples: one row per device, measurement time
-- and detector. counts is packed by store.EncodeCounts (zigzag varints of
-- channel differences, ~1 byte a channel); channels and total repeat its
-- length and sum so summaries need not unpack it. calibration is the
-- polynomial energy calibration in keV (empty when unknown); nuclides the
-- instrument's own identifications (N42 AnalysisResults) as reported.
-- No foreign key to devices, as for measurements.
CREATE TABLE spectra (
    device_id    bigint NOT NULL,
    time         timestamptz NOT NULL,
    detector     text NOT NULL DEFAULT '',
    real_time    double precision,
    live_time    double precision,
    calibration  double precision[] NOT NULL DEFAULT '{}',
    channels     integer NOT NULL CHECK (channels > 0),
    total        bigint NOT NULL CHECK (total >= 0),
    counts       bytea NOT NULL,
    nuclides     jsonb,
    PRIMARY KEY (device_id, time, detector)
);
