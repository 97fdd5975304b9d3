-- Stored digests (issue 14, the storm). A planning pass that pages several
-- incidents to one receiver (a phone, an e-mail address, a JSON webhook)
-- stores one outbox row for them, not one per incident: in a storm of 100
-- incidents × 1 000 subscribers the rows, their outcomes and their attempts
-- were the bottleneck. covers lists the incidents such a row pages (empty
-- for a row of one incident: incident_id); dropped, those of them
-- acknowledged or resolved before it went out (their pages are not sent;
-- a row whose incidents are all dropped is cancelled).
ALTER TABLE notify_outbox
    ADD COLUMN covers  bigint[] NOT NULL DEFAULT '{}',
    ADD COLUMN dropped bigint[] NOT NULL DEFAULT '{}';
CREATE INDEX notify_outbox_covers ON notify_outbox USING gin (covers) WHERE cardinality(covers) > 0;
-- An incident's attempts include those of the digests that covered it.
CREATE INDEX notify_attempts_outbox ON notify_attempts (outbox_id);
