-- Site plans drawn under the vehicles: roads, quays, buildings,
-- inspection bays. The validated GeoJSON FeatureCollection is kept as
-- the API speaks it; the map draws it as it is.
CREATE TABLE overlays (
    id             bigserial PRIMARY KEY,
    name           text NOT NULL UNIQUE,
    features       jsonb NOT NULL,
    feature_count  integer NOT NULL,
    created_by     text NOT NULL DEFAULT '',
    created_at     timestamptz NOT NULL DEFAULT now()
);
