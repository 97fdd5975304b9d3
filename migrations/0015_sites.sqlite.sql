-- Sites (see 0015_sites.pg.sql). With foreign keys on, SQLite adds a
-- REFERENCES column only with a NULL default, so site_id columns are plain
-- integers here; the store checks the site exists before it sets one.
CREATE TABLE sites (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    parent_id   INTEGER REFERENCES sites (id),
    name        TEXT NOT NULL CHECK (name <> ''),
    path        TEXT NOT NULL UNIQUE,
    created_at  INTEGER NOT NULL DEFAULT (CAST(unixepoch('subsec') * 1000000 AS INTEGER)),
    CHECK ((id = 1) = (parent_id IS NULL)),
    UNIQUE (parent_id, name)
) STRICT;
INSERT INTO sites (id, parent_id, name, path) VALUES (1, NULL, 'root', '/1/');

ALTER TABLE devices ADD COLUMN site_id INTEGER NOT NULL DEFAULT 1;
ALTER TABLE users ADD COLUMN site_id INTEGER NOT NULL DEFAULT 1;
ALTER TABLE fences ADD COLUMN site_id INTEGER NOT NULL DEFAULT 1;
ALTER TABLE rules ADD COLUMN site_id INTEGER NOT NULL DEFAULT 1;
ALTER TABLE notify_config ADD COLUMN site_id INTEGER NOT NULL DEFAULT 1;
CREATE INDEX devices_site ON devices (site_id);
CREATE INDEX users_site ON users (site_id);
