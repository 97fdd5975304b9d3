-- Site plans drawn under the vehicles: roads, quays, buildings,
-- inspection bays, as the validated GeoJSON FeatureCollection.
CREATE TABLE overlays (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    name           TEXT NOT NULL UNIQUE,
    features       TEXT NOT NULL CHECK (json_valid(features)),
    feature_count  INTEGER NOT NULL,
    created_by     TEXT NOT NULL DEFAULT '',
    created_at     INTEGER NOT NULL
) STRICT;
