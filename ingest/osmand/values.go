package osmand

import (
	"encoding/json"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/radtrack/radtrack/sample"
)

// maxSecondsTimestamp is the boundary Traccar uses between epoch seconds and
// epoch milliseconds: values below it are seconds.
const maxSecondsTimestamp = 2147483647

// ParseTimestamp parses an OsmAnd timestamp: epoch seconds (< 2147483647),
// epoch milliseconds, ISO-8601 (with "T"; no zone means UTC) or
// "yyyy-MM-dd HH:mm:ss" (UTC). Fractional epoch values are accepted. The
// result is UTC. Errors are *sample.FieldError with Field "timestamp".
func ParseTimestamp(v string) (time.Time, error) {
	v = strings.TrimSpace(v)
	if v == "" {
		return time.Time{}, &sample.FieldError{Field: "timestamp", Reason: "empty"}
	}
	if isNumber(v) {
		f, err := strconv.ParseFloat(v, 64)
		if err != nil || math.IsInf(f, 0) || math.IsNaN(f) {
			return time.Time{}, &sample.FieldError{Field: "timestamp", Reason: fmt.Sprintf("%q is not a valid epoch time", v)}
		}
		if f < 0 {
			return time.Time{}, &sample.FieldError{Field: "timestamp", Reason: "must not be negative"}
		}
		var t time.Time
		if f < maxSecondsTimestamp {
			sec, frac := math.Modf(f)
			t = time.Unix(int64(sec), int64(math.Round(frac*1e9)))
		} else {
			if f > 253402300799999 { // 9999-12-31T23:59:59.999Z
				return time.Time{}, &sample.FieldError{Field: "timestamp", Reason: fmt.Sprintf("%q is beyond the year 9999", v)}
			}
			ms, frac := math.Modf(f)
			t = time.UnixMilli(int64(ms)).Add(time.Duration(math.Round(frac * 1e6)))
		}
		return t.UTC(), nil
	}
	layouts := []string{time.RFC3339Nano, "2006-01-02T15:04:05.999999999Z0700", "2006-01-02T15:04:05.999999999"}
	if !strings.Contains(v, "T") {
		layouts = []string{"2006-01-02 15:04:05.999999999", "2006-01-02 15:04:05.999999999Z07:00", "2006-01-02 15:04:05.999999999Z0700"}
	}
	for _, l := range layouts {
		if t, err := time.Parse(l, v); err == nil && !t.IsZero() {
			return t.UTC(), nil
		}
	}
	return time.Time{}, &sample.FieldError{Field: "timestamp", Reason: fmt.Sprintf("%q is neither epoch seconds/milliseconds, ISO-8601 nor yyyy-MM-dd HH:mm:ss", v)}
}

// isNumber reports whether v is a plain decimal number: optional minus,
// digits, optional fraction and exponent. It rejects what strconv accepts
// beyond that (NaN, Inf, hex, underscores, a leading '+').
func isNumber(v string) bool {
	i, n := 0, len(v)
	if i < n && v[i] == '-' {
		i++
	}
	start := i
	for i < n && v[i] >= '0' && v[i] <= '9' {
		i++
	}
	digits := i - start
	if i < n && v[i] == '.' {
		i++
		fs := i
		for i < n && v[i] >= '0' && v[i] <= '9' {
			i++
		}
		digits += i - fs
	}
	if digits == 0 {
		return false
	}
	if i < n && (v[i] == 'e' || v[i] == 'E') {
		i++
		if i < n && (v[i] == '+' || v[i] == '-') {
			i++
		}
		es := i
		for i < n && v[i] >= '0' && v[i] <= '9' {
			i++
		}
		if i == es {
			return false
		}
	}
	return i == n
}

// parseFloat parses a finite decimal number for the named field.
func parseFloat(field, v string) (float64, error) {
	v = strings.TrimSpace(v)
	if !isNumber(v) {
		return 0, &sample.FieldError{Field: field, Reason: fmt.Sprintf("%q is not a number", v)}
	}
	f, err := strconv.ParseFloat(v, 64)
	if err != nil || math.IsInf(f, 0) || math.IsNaN(f) {
		return 0, &sample.FieldError{Field: field, Reason: fmt.Sprintf("%q is not a finite number", v)}
	}
	return f, nil
}

// TypedValue turns a query-string value into a typed attribute: "true" and
// "false" become bool, a decimal integer without leading zeros int64, another
// finite decimal number float64, and anything else stays a string (so "007"
// or "00-14-22-01-23-45" keep their spelling).
func TypedValue(v string) any {
	switch v {
	case "true":
		return true
	case "false":
		return false
	}
	if !isNumber(v) {
		return v
	}
	digits := strings.TrimPrefix(v, "-")
	if len(digits) > 1 && digits[0] == '0' && digits[1] != '.' {
		return v
	}
	if !strings.ContainsAny(v, ".eE") {
		if i, err := strconv.ParseInt(v, 10, 64); err == nil {
			return i
		}
	}
	f, err := strconv.ParseFloat(v, 64)
	if err != nil || math.IsInf(f, 0) || math.IsNaN(f) {
		return v
	}
	return f
}

// JSONValue turns a value decoded with json.Decoder.UseNumber into a typed
// attribute: bool and string stay, a json.Number without fraction or exponent
// that fits becomes int64 (so 12 stays the integer 12), other numbers
// float64, null is dropped (ok false), and objects or arrays become their
// compact JSON text.
func JSONValue(v any) (any, bool) {
	switch x := v.(type) {
	case nil:
		return nil, false
	case bool, string:
		return x, true
	case json.Number:
		s := x.String()
		if !strings.ContainsAny(s, ".eE") {
			if i, err := strconv.ParseInt(s, 10, 64); err == nil {
				return i, true
			}
		}
		f, err := strconv.ParseFloat(s, 64)
		if err != nil || math.IsInf(f, 0) || math.IsNaN(f) {
			return s, true
		}
		return f, true
	case float64:
		if math.IsInf(x, 0) || math.IsNaN(x) {
			return nil, false
		}
		return x, true
	default:
		b, err := json.Marshal(x)
		if err != nil {
			return nil, false
		}
		return string(b), true
	}
}

// attrNumber reads a typed attribute as a finite float64.
func attrNumber(field string, v any) (float64, error) {
	switch x := v.(type) {
	case int64:
		return float64(x), nil
	case float64:
		if math.IsInf(x, 0) || math.IsNaN(x) {
			return 0, &sample.FieldError{Field: field, Reason: "must be a finite number"}
		}
		return x, nil
	case string:
		return parseFloat(field, x)
	default:
		return 0, &sample.FieldError{Field: field, Reason: fmt.Sprintf("must be a number, got %T", v)}
	}
}

// Dose attribute names, matched case-insensitively, in order of preference.
var (
	doseRateKeys = []string{"doseRate", "dose_rate", "dose"} // µSv/h
	cpmKeys      = []string{"cpm"}
)

// TakeDose moves a dose the device sent from attrs into s: the first of
// doseRate, dose_rate, dose (µSv/h; keys compared case-insensitively) sets
// DoseRate and cpm sets CPM. Used keys are deleted from attrs; others stay.
// A non-numeric or negative value is a *sample.FieldError naming the key.
// It never derives a dose from CPM: that needs the device calibration and
// is the pipeline's job (sample.FillDose).
func TakeDose(s *sample.Sample, attrs map[string]any) error {
	if len(attrs) == 0 {
		return nil
	}
	take := func(names []string, dst *float64) error {
		keys := make([]string, 0, len(attrs))
		for k := range attrs {
			keys = append(keys, k)
		}
		sort.Strings(keys) // deterministic when two spellings are present
		for _, want := range names {
			for _, k := range keys {
				if !strings.EqualFold(k, want) {
					continue
				}
				f, err := attrNumber(k, attrs[k])
				if err != nil {
					return err
				}
				if f < 0 {
					return &sample.FieldError{Field: k, Reason: "must not be negative"}
				}
				*dst = f
				delete(attrs, k)
				return nil
			}
		}
		return nil
	}
	if err := take(doseRateKeys, &s.DoseRate); err != nil {
		return err
	}
	return take(cpmKeys, &s.CPM)
}
