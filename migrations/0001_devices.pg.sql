-- Devices: one row per reporting unit (vehicle detector, phone app, gateway).
-- Tokens are random 256-bit secrets; only their SHA-256 is stored.
CREATE TABLE devices (
    id              bigserial PRIMARY KEY,
    uid             text NOT NULL UNIQUE,
    name            text NOT NULL,
    group_name      text NOT NULL DEFAULT '',
    token_hash      bytea UNIQUE,
    cpm_per_usvh    double precision NOT NULL DEFAULT 334 CHECK (cpm_per_usvh > 0),
    legacy_id_only  boolean NOT NULL DEFAULT false,
    revoked_at      timestamptz,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now()
);
