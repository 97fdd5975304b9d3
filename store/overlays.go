package store

import (
	"context"
	"encoding/json"
	"time"
)

// Overlay is an imported site plan (roads, quays, buildings, bays) drawn
// under the vehicles. Features is the validated GeoJSON FeatureCollection
// (siteplan package); the store never looks inside it.
type Overlay struct {
	ID           int64           `json:"id"`
	Name         string          `json:"name"`
	Features     json.RawMessage `json:"features"`
	FeatureCount int             `json:"feature_count"`
	CreatedBy    string          `json:"created_by"`
	CreatedAt    time.Time       `json:"created_at"`
}

// Overlays stores site plans. Names are unique (ErrConflict).
type Overlays interface {
	// ListOverlays returns every overlay with its features, oldest first.
	ListOverlays(ctx context.Context) ([]Overlay, error)
	CreateOverlay(ctx context.Context, o Overlay) (Overlay, error)
	// DeleteOverlay removes one (ErrNotFound if there is none).
	DeleteOverlay(ctx context.Context, id int64) error
}
