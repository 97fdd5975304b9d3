package sqlitestore

import (
	"database/sql"
	"encoding/json"
	"math"
	"time"
)

// Column encodings shared by every table (see the package comment).

// micros encodes a time as microseconds since the Unix epoch.
func micros(t time.Time) int64 { return t.UnixMicro() }

// fromMicros decodes micros, in UTC like pgstore's results.
func fromMicros(v int64) time.Time { return time.UnixMicro(v).UTC() }

// nullMicros stores the zero time as NULL (the episode's "not yet").
func nullMicros(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return micros(t)
}

func timeOrZero(v sql.NullInt64) time.Time {
	if !v.Valid {
		return time.Time{}
	}
	return fromMicros(v.Int64)
}

func timePtr(v sql.NullInt64) *time.Time {
	if !v.Valid {
		return nil
	}
	t := fromMicros(v.Int64)
	return &t
}

func nullTimePtr(t *time.Time) any {
	if t == nil {
		return nil
	}
	return micros(*t)
}

// opt maps the NaN-for-absent convention to SQL NULL.
func opt(v float64) any {
	if math.IsNaN(v) {
		return nil
	}
	return v
}

func orNaN(v sql.NullFloat64) float64 {
	if !v.Valid {
		return math.NaN()
	}
	return v.Float64
}

func finiteOr0(v float64) float64 {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return 0
	}
	return v
}

// jsonText binds JSON as TEXT: SQLite's json() reads a BLOB as its binary
// JSONB format, so raw bytes must not reach it as a BLOB. Empty is NULL.
func jsonText(b []byte) any {
	if len(b) == 0 {
		return nil
	}
	return string(b)
}

func rawJSON(v sql.NullString) json.RawMessage {
	if !v.Valid {
		return nil
	}
	return json.RawMessage(v.String)
}
