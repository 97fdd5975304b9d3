-- Gamma spectra (see 0014_spectra.pg.sql). Times are Unix microseconds;
-- calibration is a JSON array of numbers.
CREATE TABLE spectra (
    device_id    INTEGER NOT NULL,
    time         INTEGER NOT NULL,
    detector     TEXT NOT NULL DEFAULT '',
    real_time    REAL,
    live_time    REAL,
    calibration  TEXT NOT NULL DEFAULT '[]' CHECK (json_valid(calibration)),
    channels     INTEGER NOT NULL CHECK (channels > 0),
    total        INTEGER NOT NULL CHECK (total >= 0),
    counts       BLOB NOT NULL,
    nuclides     TEXT CHECK (nuclides IS NULL OR json_valid(nuclides)),
    PRIMARY KEY (device_id, time, detector)
) STRICT, WITHOUT ROWID;
