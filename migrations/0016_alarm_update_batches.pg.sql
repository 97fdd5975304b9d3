-- The group commits whose episode updates are stored (issue 19). A commit
-- whose reply a database cut loses leaves the writer unsure whether it
-- committed; its updates go to the alarm journal and are replayed. Each
-- commit's updates carry a random batch id, recorded here in the same
-- transaction, so a replay of a batch that did commit is skipped instead of
-- adding its sample counts twice. Ids older than a week are pruned by the
-- commits themselves: a journal replayed later than that is applied as
-- before (at least once).
CREATE TABLE alarm_update_batches (
    id         bigint PRIMARY KEY,
    stored_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX alarm_update_batches_stored_at ON alarm_update_batches (stored_at);
