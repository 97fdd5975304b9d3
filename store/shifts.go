package store

import (
	"context"
	"time"
)

// Shift is a crew's time in one vehicle, [Start, End).
type Shift struct {
	ID        int64     `json:"id"`
	DeviceID  int64     `json:"device_id"`
	Crew      string    `json:"crew"`
	Start     time.Time `json:"start"`
	End       time.Time `json:"end"`
	Note      string    `json:"note"`
	CreatedBy string    `json:"created_by"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

// ShiftFilter selects shifts; zero fields select all. From/To keep the
// shifts that overlap [From, To).
type ShiftFilter struct {
	DeviceID int64
	Crew     string
	From, To time.Time
	Limit    int // 0: the store's cap
}

// Shifts stores crew shifts.
type Shifts interface {
	// ListShifts returns the matching shifts by start, oldest first.
	ListShifts(ctx context.Context, f ShiftFilter) ([]Shift, error)
	Shift(ctx context.Context, id int64) (Shift, error)
	CreateShift(ctx context.Context, s Shift) (Shift, error)
	// UpdateShift replaces device, crew, times and note (ErrNotFound).
	UpdateShift(ctx context.Context, s Shift) (Shift, error)
	DeleteShift(ctx context.Context, id int64) error
}

// MaxShifts caps a shift listing.
const MaxShifts = 10_000
