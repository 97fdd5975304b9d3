-- A counter that every change of fences or rules moves, in the change's own
-- transaction (triggers, so every path counts). Each node remembers the
-- version it loaded and reloads when it moved.
CREATE TABLE config_version (
    id       INTEGER PRIMARY KEY CHECK (id = 1),
    version  INTEGER NOT NULL
) STRICT;
INSERT INTO config_version (id, version) VALUES (1, 1);

CREATE TRIGGER fences_insert_config_version AFTER INSERT ON fences
BEGIN UPDATE config_version SET version = version + 1; END;
CREATE TRIGGER fences_update_config_version AFTER UPDATE ON fences
BEGIN UPDATE config_version SET version = version + 1; END;
CREATE TRIGGER fences_delete_config_version AFTER DELETE ON fences
BEGIN UPDATE config_version SET version = version + 1; END;
CREATE TRIGGER rules_insert_config_version AFTER INSERT ON rules
BEGIN UPDATE config_version SET version = version + 1; END;
CREATE TRIGGER rules_update_config_version AFTER UPDATE ON rules
BEGIN UPDATE config_version SET version = version + 1; END;
CREATE TRIGGER rules_delete_config_version AFTER DELETE ON rules
BEGIN UPDATE config_version SET version = version + 1; END;
