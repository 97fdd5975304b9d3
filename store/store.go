// Package store defines RadTrack's storage interface and the types it moves.
// Implementations live in sub-packages (pgstore for PostgreSQL/TimescaleDB);
// SQL lives only there and in migrations/.
package store

import (
	"context"
	"errors"
	"math"
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
	SiteID       int64      `json:"site_id"` // 0 on create: the root site
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
	Streamer
}

// Store is everything the server needs from storage.
type Store interface {
	Devices
	Measurements
	Users
	Alarms
	Realarms
	Incidents
	IncidentSources
	Aggregates
	Overlays
	Spectra
	Shifts
	Sites
	AlarmStreamer
	AreaStreamer
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
	// DeviceIDs, when not nil, keeps only these devices' samples (a
	// site-scoped user's heatmap); empty then means no cell at all. The
	// pre-aggregated grid has no device, so such a heatmap reads raw rows.
	DeviceIDs []int64
}

// HeatGridDeg is the side of the heatmap's base grid cell in degrees
// (0.0005°: about 55 m north–south, 35 m east–west at 50°). A heatmap cell
// is a whole number of base cells in each direction, anchored at 0°,0°, so
// every store groups samples into the same cells and TimescaleDB can answer
// long ranges from its pre-aggregated grid (dose_grid_1h, dose_grid_1d)
// with the same answer as from raw rows.
const HeatGridDeg = 0.0005

// GridSteps is how many base cells a heatmap cell spans east–west and
// north–south: the requested sizes rounded to whole base cells, at least 1.
func (q HeatmapQuery) GridSteps() (lon, lat int64) {
	steps := func(deg float64) int64 { return max(int64(math.Round(deg/HeatGridDeg)), 1) }
	return steps(q.CellLon), steps(q.CellLat)
}

// SnappedCell is the cell size in degrees an answer to q uses.
func (q HeatmapQuery) SnappedCell() (lon, lat float64) {
	kLon, kLat := q.GridSteps()
	return float64(kLon) * HeatGridDeg, float64(kLat) * HeatGridDeg
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
