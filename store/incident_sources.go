package store

import (
	"context"
	"encoding/json"
	"fmt"
	"time"
)

// IncidentSource is the latest source estimate of an incident. The store
// keeps the estimate as the JSON package localize renders (it knows no
// fit); Through is the incident's LastSeen it was fitted for.
type IncidentSource struct {
	IncidentID int64
	FittedAt   time.Time
	Through    time.Time
	Estimate   json.RawMessage
}

// IncidentSources stores each incident's latest source estimate.
type IncidentSources interface {
	// SaveIncidentSource replaces the incident's estimate (ErrNotFound if
	// there is no such incident).
	SaveIncidentSource(ctx context.Context, s IncidentSource) error
	// IncidentSource returns an incident's estimate (ErrNotFound if none).
	IncidentSource(ctx context.Context, incidentID int64) (IncidentSource, error)
	// IncidentSourcesOf returns the estimates of those of ids that have
	// one, in no particular order.
	IncidentSourcesOf(ctx context.Context, ids []int64) ([]IncidentSource, error)
	// OpenIncidentSources returns the estimates that stand for the
	// unresolved live incidents (fitted through their present last_seen),
	// with each incident's peak device, in no particular order: a live
	// snapshot's, without reading the incidents' alarms.
	OpenIncidentSources(ctx context.Context) ([]OpenIncidentSource, error)
}

// OpenIncidentSource is an estimate of an unresolved incident with the
// device of the incident's peak (who may see the incident).
type OpenIncidentSource struct {
	IncidentSource
	PeakDeviceID int64
}

// OneIncidentSource is what IncidentSource answers from a look-up of
// IncidentSourcesOf([]int64{id}): its one estimate, or ErrNotFound.
func OneIncidentSource(id int64, list []IncidentSource, err error) (IncidentSource, error) {
	if err != nil {
		return IncidentSource{}, fmt.Errorf("source of incident %d: %w", id, err)
	}
	if len(list) == 0 {
		return IncidentSource{}, fmt.Errorf("source of incident %d: %w", id, ErrNotFound)
	}
	return list[0], nil
}
