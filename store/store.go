// Package store defines RadTrack's storage interface and the types it moves.
// Implementations live in sub-packages (pgstore for PostgreSQL/TimescaleDB);
// SQL lives only there and in migrations/.
package store

import (
	"context"
	"errors"
	"time"

	"github.com/radtrack/radtrack/sample"
)

// ErrNotFound is returned when a looked-up record does not exist.
var ErrNotFound = errors.New("not found")

// ErrConflict is returned when a record would violate a uniqueness rule.
var ErrConflict = errors.New("already exists")

// Device is one reporting unit.
type Device struct {
	ID           int64      `json:"id"`
	UID          string     `json:"uid"`
	Name         string     `json:"name"`
	Group        string     `json:"group"`
	CPMPerUSvH   float64    `json:"cpm_per_usvh"`
	LegacyIDOnly bool       `json:"legacy_id_only"`
	RevokedAt    *time.Time `json:"revoked_at,omitempty"`
	CreatedAt    time.Time  `json:"created_at"`
	UpdatedAt    time.Time  `json:"updated_at"`
}

// Active reports whether the device may report.
func (d Device) Active() bool { return d.RevokedAt == nil }

// TrackQuery selects the samples of one device in a time window.
type TrackQuery struct {
	DeviceID int64
	From, To time.Time // [From, To)
	Limit    int       // 0 means the store's default cap
}

// DoseMinute is one row of the per-device 1-minute dose statistics. Dose
// fields are nil for a minute whose samples carried no dose.
type DoseMinute struct {
	DeviceID int64     `json:"device_id"`
	Bucket   time.Time `json:"bucket"`
	Min      *float64  `json:"min"`
	Avg      *float64  `json:"avg"`
	Max      *float64  `json:"max"`
	Samples  int64     `json:"samples"`
	Lon      *float64  `json:"lon,omitempty"`
	Lat      *float64  `json:"lat,omitempty"`
}

// SampleWriter persists samples durably. WriteSamples returns only after the
// samples are committed; rewriting a (device, time) that is already stored is
// not an error and stores nothing new.
type SampleWriter interface {
	WriteSamples(ctx context.Context, samples []sample.Sample) error
}

// Devices stores reporting units and their hashed secrets.
type Devices interface {
	CreateDevice(ctx context.Context, d Device, tokenHash []byte) (Device, error)
	DeviceByTokenHash(ctx context.Context, tokenHash []byte) (Device, error)
	DeviceByUID(ctx context.Context, uid string) (Device, error)
	DeviceByID(ctx context.Context, id int64) (Device, error)
	ListDevices(ctx context.Context) ([]Device, error)
	SetDeviceToken(ctx context.Context, id int64, tokenHash []byte) error
	RevokeDevice(ctx context.Context, id int64, at time.Time) error
}

// Measurements reads stored samples.
type Measurements interface {
	SampleWriter
	Track(ctx context.Context, q TrackQuery) ([]sample.Sample, error)
	DoseMinutes(ctx context.Context, deviceID int64, from, to time.Time) ([]DoseMinute, error)
}

// Store is everything the server needs from storage.
type Store interface {
	Devices
	Measurements
	Users
	Alarms
	Realarms
	Incidents
	Aggregates
	Overlays
	// Ping checks that the backing database answers.
	Ping(ctx context.Context) error
	Close()
}

// HeatmapQuery selects samples for a dose heatmap: a time window, a
// bounding box and a square-ish grid cell size.
type HeatmapQuery struct {
	From, To time.Time
	BBox     [4]float64 // west, south, east, north
	CellLon  float64    // cell width in degrees
	CellLat  float64    // cell height in degrees
	Limit    int        // most cells returned
}

// HeatCell is one grid cell of the heatmap; Lon/Lat is its centre.
type HeatCell struct {
	Lon     float64 `json:"lon"`
	Lat     float64 `json:"lat"`
	Max     float64 `json:"max"`
	Avg     float64 `json:"avg"`
	Samples int64   `json:"samples"`
}

// Aggregates computes server-side summaries over many samples.
type Aggregates interface {
	Heatmap(ctx context.Context, q HeatmapQuery) ([]HeatCell, error)
}
