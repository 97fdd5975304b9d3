-- Devices: one row per reporting unit. Tokens are random 256-bit secrets;
-- only their SHA-256 is stored.
--
-- Encodings (as in every table): times are INTEGER microseconds since the
-- Unix epoch (UTC), booleans INTEGER 0/1, JSON is TEXT. AUTOINCREMENT keeps
-- ids from ever being reused, like PostgreSQL's bigserial.
CREATE TABLE devices (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    uid             TEXT NOT NULL UNIQUE,
    name            TEXT NOT NULL,
    group_name      TEXT NOT NULL DEFAULT '',
    token_hash      BLOB UNIQUE,
    cpm_per_usvh    REAL NOT NULL DEFAULT 334 CHECK (cpm_per_usvh > 0),
    legacy_id_only  INTEGER NOT NULL DEFAULT 0 CHECK (legacy_id_only IN (0, 1)),
    revoked_at      INTEGER,
    created_at      INTEGER NOT NULL DEFAULT (CAST(unixepoch('subsec') * 1000000 AS INTEGER)),
    updated_at      INTEGER NOT NULL DEFAULT (CAST(unixepoch('subsec') * 1000000 AS INTEGER))
) STRICT;
