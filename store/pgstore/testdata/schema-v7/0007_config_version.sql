-- A counter that every change of fences or rules moves, in the change's own
-- transaction (row triggers, so every path counts: API, import, seed,
-- a hand-made UPDATE). Each node remembers the version it loaded and
-- reloads when it moved: the catch-up for a change broadcast it missed.
CREATE TABLE config_version (
    id       boolean PRIMARY KEY DEFAULT true CHECK (id),
    version  bigint NOT NULL
);
INSERT INTO config_version (id, version) VALUES (true, 1);

CREATE FUNCTION bump_config_version() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE config_version SET version = version + 1;
    RETURN NULL;
END
$$;

CREATE TRIGGER fences_config_version AFTER INSERT OR UPDATE OR DELETE ON fences
    FOR EACH ROW EXECUTE FUNCTION bump_config_version();
CREATE TRIGGER rules_config_version AFTER INSERT OR UPDATE OR DELETE ON rules
    FOR EACH ROW EXECUTE FUNCTION bump_config_version();
