-- Notification routing, escalation and the durable outbox (notify/dispatch).
--
-- notify_config holds what admins edit, one JSON document per row:
-- endpoints (webhook URL + secret, e-mail address, MQTT topic cluster),
-- routing rules and escalation policies. The dispatch package validates
-- the documents; the store keeps them as they are.
CREATE TABLE notify_config (
    id          bigserial PRIMARY KEY,
    kind        text NOT NULL CHECK (kind IN ('endpoint', 'rule', 'policy')),
    name        text NOT NULL,
    spec        jsonb NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    UNIQUE (kind, name)
);

-- What users manage themselves: their browsers' push subscriptions and
-- their e-mail addresses.
CREATE TABLE notify_contacts (
    id          bigserial PRIMARY KEY,
    user_id     bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    kind        text NOT NULL CHECK (kind IN ('push', 'email')),
    value       text NOT NULL,          -- push endpoint URL or e-mail address
    spec        jsonb NOT NULL DEFAULT '{}',
    created_at  timestamptz NOT NULL DEFAULT now(),
    UNIQUE (user_id, kind, value)
);

-- One running escalation per (incident, routing rule): the next step and
-- when it is due. Durable so a restart continues the timers; a node claims
-- due rows with FOR UPDATE SKIP LOCKED, so each step is planned once.
CREATE TABLE notify_escalations (
    incident_id bigint NOT NULL,
    rule_id     bigint NOT NULL,
    policy_id   bigint NOT NULL,
    step        integer NOT NULL,
    cycle       integer NOT NULL,
    due_at      timestamptz NOT NULL,
    active      boolean NOT NULL,
    event       jsonb NOT NULL,          -- the latest notify.Event of the incident
    updated_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (incident_id, rule_id)
);
CREATE INDEX notify_escalations_due ON notify_escalations (due_at) WHERE active;

-- The outbox: a delivery is stored here before its first attempt.
-- key is the idempotency key (incident, event, recipient): inserting it
-- twice stores it once.
CREATE TABLE notify_outbox (
    id              bigserial PRIMARY KEY,
    key             text NOT NULL UNIQUE,
    incident_id     bigint NOT NULL,
    version         bigint NOT NULL,
    channel         text NOT NULL,
    endpoint_id     bigint NOT NULL DEFAULT 0,
    recipient       text NOT NULL,
    pages           boolean NOT NULL,
    delivery        jsonb NOT NULL,      -- notify.Delivery
    state           text NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'sent', 'failed', 'cancelled')),
    attempts        integer NOT NULL DEFAULT 0,
    next_attempt_at timestamptz NOT NULL,
    lease_owner     text,
    lease_until     timestamptz,
    last_status     integer NOT NULL DEFAULT 0,
    last_error      text NOT NULL DEFAULT '',
    created_at      timestamptz NOT NULL DEFAULT now(),
    sent_at         timestamptz
);
CREATE INDEX notify_outbox_due ON notify_outbox (next_attempt_at) WHERE state = 'pending';
CREATE INDEX notify_outbox_incident ON notify_outbox (incident_id);

-- Every attempt and its outcome: the incident's notification audit trail.
CREATE TABLE notify_attempts (
    id          bigserial PRIMARY KEY,
    outbox_id   bigint NOT NULL REFERENCES notify_outbox (id) ON DELETE CASCADE,
    incident_id bigint NOT NULL,
    at          timestamptz NOT NULL,
    node        text NOT NULL,
    channel     text NOT NULL,
    recipient   text NOT NULL,
    ok          boolean NOT NULL,
    status      integer NOT NULL,
    error       text NOT NULL DEFAULT ''
);
CREATE INDEX notify_attempts_incident ON notify_attempts (incident_id, at);
