-- Sites: a tree of control centres (centre → sub-centres → rooms, any
-- depth). path is the ids from the root down, '/1/5/9/', so a subtree is
-- one prefix match (path LIKE '/1/5/%') and a move is never needed: a
-- site's parent is fixed when it is created.
--
-- Everything that belongs somewhere gets site_id, default the root site
-- (id 1), so existing data lands in the root: a user at the root sees all
-- as before.
CREATE TABLE sites (
    id          bigserial PRIMARY KEY,
    parent_id   bigint REFERENCES sites (id),
    name        text NOT NULL CHECK (name <> ''),
    path        text NOT NULL UNIQUE,
    created_at  timestamptz NOT NULL DEFAULT now(),
    CHECK ((id = 1) = (parent_id IS NULL)),
    UNIQUE (parent_id, name)
);
INSERT INTO sites (id, parent_id, name, path) VALUES (1, NULL, 'root', '/1/');
SELECT setval(pg_get_serial_sequence('sites', 'id'), 1);
CREATE INDEX sites_path ON sites (path text_pattern_ops);

ALTER TABLE devices ADD COLUMN site_id bigint NOT NULL DEFAULT 1 REFERENCES sites (id);
ALTER TABLE users ADD COLUMN site_id bigint NOT NULL DEFAULT 1 REFERENCES sites (id);
ALTER TABLE fences ADD COLUMN site_id bigint NOT NULL DEFAULT 1 REFERENCES sites (id);
ALTER TABLE rules ADD COLUMN site_id bigint NOT NULL DEFAULT 1 REFERENCES sites (id);
ALTER TABLE notify_config ADD COLUMN site_id bigint NOT NULL DEFAULT 1 REFERENCES sites (id);
CREATE INDEX devices_site ON devices (site_id);
CREATE INDEX users_site ON users (site_id);
