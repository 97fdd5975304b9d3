-- Stored digests' events, each stored once (issue 14, the storm). A
-- planning pass pages 20 incidents to every receiver, one row per
-- receiver; with each row holding its events' JSON, a pass of a 100 × 1 000
-- storm wrote 7.8 MB (39 MB in all) and parsed it as jsonb in the same
-- transaction as the escalations. Now the rows name their events by key
-- (a hash of the event's JSON), in the order their pages index them, and
-- each event is stored here once.
CREATE TABLE notify_events (
    key   text PRIMARY KEY,
    event jsonb NOT NULL      -- notify.Event
);
ALTER TABLE notify_outbox ADD COLUMN events text[] NOT NULL DEFAULT '{}';
