package sample

import (
	"fmt"
	"math"
	"time"
)

// MaxClockSkew is how far in the future a device clock may run before a
// sample is refused: a GPS-timed sample ahead by more than this is corrupt.
const MaxClockSkew = 10 * time.Minute

// FieldError says which field of a sample is wrong and why.
type FieldError struct {
	Field  string
	Reason string
}

func (e *FieldError) Error() string { return e.Field + ": " + e.Reason }

// Validate checks a decoded sample against the invariants every store and
// rule relies on. now is the server's receive time.
func (s *Sample) Validate(now time.Time) error {
	if s.Time.IsZero() {
		return &FieldError{"time", "missing"}
	}
	if s.Time.After(now.Add(MaxClockSkew)) {
		return &FieldError{"time", fmt.Sprintf("%s is more than %s in the future", s.Time.UTC().Format(time.RFC3339), MaxClockSkew)}
	}
	if s.Time.Year() < 2000 {
		return &FieldError{"time", "before the year 2000"}
	}
	if s.GPSValid {
		if !finite(s.Lat) || s.Lat < -90 || s.Lat > 90 {
			return &FieldError{"lat", "must be a number in [-90, 90]"}
		}
		if !finite(s.Lon) || s.Lon < -180 || s.Lon > 180 {
			return &FieldError{"lon", "must be a number in [-180, 180]"}
		}
	} else if math.IsNaN(s.Lat) || math.IsInf(s.Lat, 0) || math.IsNaN(s.Lon) || math.IsInf(s.Lon, 0) {
		// Without a fix the coordinates are not used, but they are still stored.
		return &FieldError{"lat", "must be a finite number"}
	}
	for _, f := range []struct {
		name string
		v    float64
		min  float64
	}{
		{"dose_rate", s.DoseRate, 0},
		{"cpm", s.CPM, 0},
		{"counts", s.Counts, 0},
		{"count_interval", s.CountInterval, 0},
		{"speed", s.Speed, 0},
		{"hdop", s.HDOP, 0},
		{"accuracy", s.Accuracy, 0},
	} {
		if math.IsInf(f.v, 0) {
			return &FieldError{f.name, "must be finite"}
		}
		if Has(f.v) && f.v < f.min {
			return &FieldError{f.name, "must not be negative"}
		}
	}
	if math.IsInf(s.Altitude, 0) {
		return &FieldError{"altitude", "must be finite"}
	}
	if math.IsInf(s.Heading, 0) {
		return &FieldError{"heading", "must be finite"}
	}
	if Has(s.Battery) && (s.Battery < 0 || s.Battery > 100 || math.IsInf(s.Battery, 0)) {
		return &FieldError{"battery", "must be a percentage in [0, 100]"}
	}
	if s.Satellites < -1 {
		return &FieldError{"satellites", "must not be negative"}
	}
	if len(s.Attributes) > 0 {
		// What no store can hold is refused here, at every door (text.go).
		return CheckValue("attributes", s.Attributes)
	}
	return nil
}

func finite(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }
