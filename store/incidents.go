package store

import (
	"context"
	"encoding/json"
	"math"
	"time"

	"github.com/radtrack/radtrack/rules"
)

// Incident is a group of alarms one radiological event caused. Its fields
// are a summary of its alarms (package incidents computes it); Alarms is
// filled on reading, newest first.
type Incident struct {
	ID       int64          `json:"id"`
	Imported bool           `json:"imported"`
	State    rules.State    `json:"state"`
	Severity rules.Severity `json:"severity"`

	FirstSeen time.Time `json:"first_seen"`
	LastSeen  time.Time `json:"last_seen"`

	PeakDose     float64   `json:"peak_dose_usvh"` // NaN (JSON null) when no alarm carried a dose
	PeakTime     time.Time `json:"peak_time"`
	PeakLon      float64   `json:"peak_lon"`
	PeakLat      float64   `json:"peak_lat"`
	PeakGPSValid bool      `json:"peak_gps_valid"`
	PeakDeviceID int64     `json:"peak_device_id"`

	RealarmedAt time.Time  `json:"realarmed_at,omitzero"`
	AckedBy     string     `json:"acked_by,omitempty"`
	AckedAt     time.Time  `json:"acked_at,omitzero"`
	ResolvedBy  string     `json:"resolved_by,omitempty"`
	ResolvedAt  time.Time  `json:"resolved_at,omitzero"`
	Code        rules.Code `json:"code,omitempty"`

	Alarms []rules.Episode `json:"alarms"`
}

// IncidentFilter selects incidents; zero fields do not filter.
type IncidentFilter struct {
	States   []rules.State
	Imported *bool
	// Since selects incidents last seen at or after it.
	Since time.Time
	// Near, if set, selects incidents with an alarm of Near's device or
	// with an alarm's peak within its box: the candidates an alarm may
	// join, without reading every open incident.
	Near  *IncidentNear
	Limit int
}

// IncidentNear is an alarm's device and a box around its peak.
type IncidentNear struct {
	DeviceID int64
	// Box is west, south, east, north in degrees; nil matches by device
	// only (a peak without a valid position).
	Box *[4]float64
}

// BoxAround returns the box that holds every point within radiusM of
// (lon, lat); where it would cross the antimeridian it spans every
// longitude, so it never misses a point.
func BoxAround(lon, lat, radiusM float64) [4]float64 {
	const mPerDegLat = 111320.0
	dLat := radiusM / mPerDegLat
	cos := math.Cos(lat * math.Pi / 180)
	if cos < 0.01 {
		cos = 0.01
	}
	dLon := radiusM / (mPerDegLat * cos)
	b := [4]float64{lon - dLon, max(lat-dLat, -90), lon + dLon, min(lat+dLat, 90)}
	if b[0] < -180 || b[2] > 180 {
		b[0], b[2] = -180, 180
	}
	return b
}

// Incidents stores incidents and which alarm belongs to which.
type Incidents interface {
	// SaveIncident inserts inc (ID 0) or updates its summary, then puts
	// the alarms addAlarms into it; it returns the incident's id.
	SaveIncident(ctx context.Context, inc Incident, addAlarms ...int64) (int64, error)
	// Incident returns one incident with its alarms (ErrNotFound).
	Incident(ctx context.Context, id int64) (Incident, error)
	// ListIncidents returns incidents with their alarms: raised first, then
	// acknowledged, then resolved; most severe first; newest last_seen first.
	ListIncidents(ctx context.Context, f IncidentFilter) ([]Incident, error)
	// AlarmIncident returns the id of the incident an alarm belongs to, 0
	// if none (ErrNotFound if there is no such alarm).
	AlarmIncident(ctx context.Context, alarmID int64) (int64, error)
}

// incidentJSON is Incident without its methods, for MarshalJSON.
type incidentJSON Incident

// MarshalJSON writes an absent peak dose (NaN) as null: JSON has no NaN.
func (inc Incident) MarshalJSON() ([]byte, error) {
	var peak *float64
	if !math.IsNaN(inc.PeakDose) && !math.IsInf(inc.PeakDose, 0) {
		peak = &inc.PeakDose
	}
	return json.Marshal(struct {
		incidentJSON
		PeakDose *float64 `json:"peak_dose_usvh"`
	}{incidentJSON(inc), peak})
}
