// Package batch decodes RadTrack's own HTTP batch format: a JSON array of
// samples, or NDJSON (one sample object per line).
//
// A syntax error anywhere refuses the whole request (*SyntaxError names the
// byte offset and line); a well-formed sample with a bad or unknown field is
// reported by index (*SampleError) and the others are kept.
package batch

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/radtrack/radtrack/sample"
)

// Wire is one sample as sent over HTTP. Units: µSv/h, m/s, degrees, metres.
type Wire struct {
	Time          json.RawMessage `json:"time"` // RFC 3339 string or Unix seconds/milliseconds
	Lat           *float64        `json:"lat"`
	Lon           *float64        `json:"lon"`
	GPSValid      *bool           `json:"gps_valid"` // default: true when lat and lon are given
	Altitude      *float64        `json:"altitude"`
	Speed         *float64        `json:"speed"`
	Heading       *float64        `json:"heading"`
	HDOP          *float64        `json:"hdop"`
	Accuracy      *float64        `json:"accuracy"`
	Satellites    *int            `json:"satellites"`
	DoseRate      *float64        `json:"dose_rate"`
	CPM           *float64        `json:"cpm"`
	Counts        *float64        `json:"counts"`
	CountInterval *float64        `json:"count_interval"`
	RadValid      *bool           `json:"rad_valid"` // default true
	Battery       *float64        `json:"battery"`
	Attributes    map[string]any  `json:"attributes"`
}

// SyntaxError is malformed JSON; nothing of the request may be stored.
type SyntaxError struct {
	Offset int64 // byte offset in the body
	Line   int   // 1-based line
	Msg    string
}

func (e *SyntaxError) Error() string {
	return fmt.Sprintf("malformed JSON at line %d, byte offset %d: %s", e.Line, e.Offset, e.Msg)
}

// SampleError is one sample that cannot be decoded; the others stand.
type SampleError struct {
	Index int
	Field string
	Msg   string

	syntax error // set when the sample is not even well-formed JSON
}

func (e *SampleError) Error() string {
	return fmt.Sprintf("sample %d: %s: %s", e.Index, e.Field, e.Msg)
}

// Decoded is the outcome of decoding one body. Samples[i] belongs to the
// request's sample Index[i]; Errors hold the samples that failed.
type Decoded struct {
	Samples []sample.Sample
	Index   []int
	Errors  []*SampleError
}

// Decode reads a JSON array (or a single object) or, when ndjson is true,
// one object per line (blank lines ignored).
func Decode(body []byte, ndjson bool) (Decoded, error) {
	if ndjson {
		return decodeNDJSON(body)
	}
	var raws []json.RawMessage
	trimmed := bytes.TrimSpace(body)
	switch {
	case len(trimmed) == 0:
		return Decoded{}, &SyntaxError{Offset: 0, Line: 1, Msg: "empty body"}
	case trimmed[0] == '{':
		if !json.Valid(trimmed) {
			return Decoded{}, syntaxError(body, json.Unmarshal(trimmed, new(any)))
		}
		raws = []json.RawMessage{trimmed}
	default:
		if err := json.Unmarshal(body, &raws); err != nil {
			return Decoded{}, syntaxError(body, err)
		}
	}
	out := Decoded{Samples: make([]sample.Sample, 0, len(raws)), Index: make([]int, 0, len(raws))}
	for i, raw := range raws {
		out.add(i, raw)
	}
	return out, nil
}

// decodeNDJSON decodes line by line; the per-line decode is also the
// syntax check, so each line is scanned once.
func decodeNDJSON(body []byte) (Decoded, error) {
	lines := splitNDJSON(body)
	out := Decoded{Samples: make([]sample.Sample, 0, len(lines)), Index: make([]int, 0, len(lines))}
	for i, l := range lines {
		if l.text[0] != '{' {
			return Decoded{}, &SyntaxError{Offset: int64(l.offset), Line: l.line, Msg: "each line must be one JSON object"}
		}
		if se := out.add(i, l.text); se != nil {
			return Decoded{}, &SyntaxError{Offset: int64(l.offset) + se.Offset, Line: l.line, Msg: se.Msg}
		}
	}
	return out, nil
}

// add decodes one sample and files it, or its error, under index i. A
// syntax error is returned instead: it refuses the whole request.
func (d *Decoded) add(i int, raw []byte) *SyntaxError {
	s, err := decodeOne(raw)
	if err == nil {
		d.Samples = append(d.Samples, s)
		d.Index = append(d.Index, i)
		return nil
	}
	if err.syntax != nil {
		return syntaxError(raw, err.syntax)
	}
	err.Index = i
	d.Errors = append(d.Errors, err)
	return nil
}

// ndjsonLine is one non-blank line of an NDJSON body.
type ndjsonLine struct {
	text   []byte
	offset int // byte offset of text in the body
	line   int // 1-based
}

func splitNDJSON(body []byte) []ndjsonLine {
	var lines []ndjsonLine
	offset := 0
	for line := 1; offset < len(body); line++ {
		end := bytes.IndexByte(body[offset:], '\n')
		if end < 0 {
			end = len(body) - offset
		}
		raw := body[offset : offset+end]
		text := bytes.TrimSpace(raw)
		if len(text) > 0 {
			lead := len(raw) - len(bytes.TrimLeft(raw, " \t\r"))
			lines = append(lines, ndjsonLine{text: text, offset: offset + lead, line: line})
		}
		offset += end + 1
	}
	return lines
}

func syntaxError(body []byte, err error) *SyntaxError {
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	var off int64
	switch {
	case errors.As(err, &se):
		// encoding/json counts the offending byte as read; point at it,
		// except at end of input where there is no byte to point at.
		off = se.Offset
		if off > 0 && off <= int64(len(body)) && se.Error() != "unexpected end of JSON input" {
			off--
		}
	case errors.As(err, &te):
		off = te.Offset
		err = fmt.Errorf("expected an array of sample objects, found %s", te.Value)
	default:
		off = int64(len(body))
	}
	off = max(0, min(off, int64(len(body))))
	return &SyntaxError{Offset: off, Line: 1 + bytes.Count(body[:off], []byte{'\n'}), Msg: err.Error()}
}

func decodeOne(raw json.RawMessage) (sample.Sample, *SampleError) {
	if w, ok := decodeFast(raw); ok {
		return w.toSample()
	}
	return decodeSlow(raw)
}

// decodeSlow decodes with encoding/json: every input the fast path does
// not take, and every error message.
func decodeSlow(raw json.RawMessage) (sample.Sample, *SampleError) {
	if len(raw) == 0 || raw[0] != '{' {
		return sample.Sample{}, &SampleError{Field: "sample", Msg: "must be a JSON object"}
	}
	var w Wire
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&w); err != nil {
		var se *json.SyntaxError
		if errors.As(err, &se) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
			return sample.Sample{}, &SampleError{syntax: err}
		}
		return sample.Sample{}, fieldError(err)
	}
	if dec.More() {
		return sample.Sample{}, &SampleError{syntax: errors.New("data after the sample object")}
	}
	return w.toSample()
}

func fieldError(err error) *SampleError {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		return &SampleError{Field: te.Field, Msg: fmt.Sprintf("must be %s, got %s", jsonType(te.Type.Kind().String()), te.Value)}
	}
	if name, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
		return &SampleError{Field: strings.Trim(name, `"`), Msg: "unknown field"}
	}
	return &SampleError{Field: "sample", Msg: err.Error()}
}

func jsonType(kind string) string {
	switch kind {
	case "float64", "int":
		return "a number"
	case "bool":
		return "true or false"
	case "map":
		return "an object"
	}
	return kind
}

// Bits of fields.has: which keys a sample gave (not null).
const (
	hasLat = 1 << iota
	hasLon
	hasGPSValid
	hasAltitude
	hasSpeed
	hasHeading
	hasHDOP
	hasAccuracy
	hasSatellites
	hasDoseRate
	hasCPM
	hasCounts
	hasCountInterval
	hasRadValid
	hasBattery
)

// fields is one sample's keys as decoded, before the checks that span
// keys: values plus a bit per key given, so that the fast path allocates
// nothing per key (a Wire's pointers cost one allocation each).
type fields struct {
	time                                                         json.RawMessage // as in Wire
	has                                                          uint32
	lat, lon, altitude, speed, heading, hdop, accuracy, doseRate float64
	cpm, counts, countInterval, battery                          float64
	gpsValid, radValid                                           bool
	satellites                                                   int
	attributes                                                   map[string]any
}

// fields is w without its pointers.
func (w *Wire) fields() fields {
	f := fields{time: w.Time, attributes: w.Attributes}
	num := func(bit uint32, dst *float64, v *float64) {
		if v != nil {
			f.has |= bit
			*dst = *v
		}
	}
	num(hasLat, &f.lat, w.Lat)
	num(hasLon, &f.lon, w.Lon)
	num(hasAltitude, &f.altitude, w.Altitude)
	num(hasSpeed, &f.speed, w.Speed)
	num(hasHeading, &f.heading, w.Heading)
	num(hasHDOP, &f.hdop, w.HDOP)
	num(hasAccuracy, &f.accuracy, w.Accuracy)
	num(hasDoseRate, &f.doseRate, w.DoseRate)
	num(hasCPM, &f.cpm, w.CPM)
	num(hasCounts, &f.counts, w.Counts)
	num(hasCountInterval, &f.countInterval, w.CountInterval)
	num(hasBattery, &f.battery, w.Battery)
	if w.GPSValid != nil {
		f.has |= hasGPSValid
		f.gpsValid = *w.GPSValid
	}
	if w.RadValid != nil {
		f.has |= hasRadValid
		f.radValid = *w.RadValid
	}
	if w.Satellites != nil {
		f.has |= hasSatellites
		f.satellites = *w.Satellites
	}
	return f
}

func (w *Wire) toSample() (sample.Sample, *SampleError) {
	f := w.fields()
	return f.toSample()
}

func (f *fields) toSample() (sample.Sample, *SampleError) {
	s := sample.New()
	s.Source = sample.SourceHTTP
	t, err := parseTime(f.time)
	if err != nil {
		return s, &SampleError{Field: "time", Msg: err.Error()}
	}
	s.Time = t
	hasLat, hasLon := f.has&hasLat != 0, f.has&hasLon != 0
	if hasLat != hasLon {
		return s, &SampleError{Field: "lat", Msg: "lat and lon must be given together"}
	}
	if hasLat {
		s.Lat, s.Lon, s.GPSValid = f.lat, f.lon, true
	}
	if f.has&hasGPSValid != 0 {
		if f.gpsValid && !hasLat {
			return s, &SampleError{Field: "gps_valid", Msg: "true without lat/lon"}
		}
		s.GPSValid = f.gpsValid
	}
	s.RadValid = f.has&hasRadValid == 0 || f.radValid
	set := func(bit uint32, dst *float64, v float64) {
		if f.has&bit != 0 {
			*dst = v
		}
	}
	set(hasAltitude, &s.Altitude, f.altitude)
	set(hasSpeed, &s.Speed, f.speed)
	set(hasHeading, &s.Heading, f.heading)
	set(hasHDOP, &s.HDOP, f.hdop)
	set(hasAccuracy, &s.Accuracy, f.accuracy)
	set(hasDoseRate, &s.DoseRate, f.doseRate)
	set(hasCPM, &s.CPM, f.cpm)
	set(hasCounts, &s.Counts, f.counts)
	set(hasCountInterval, &s.CountInterval, f.countInterval)
	set(hasBattery, &s.Battery, f.battery)
	if f.has&hasSatellites != 0 {
		if f.satellites < 0 {
			return s, &SampleError{Field: "satellites", Msg: "must not be negative"}
		}
		s.Satellites = f.satellites
	}
	if f.has&hasCounts != 0 && f.has&hasCountInterval == 0 {
		return s, &SampleError{Field: "count_interval", Msg: "required with counts"}
	}
	s.Attributes = f.attributes
	return s, nil
}

// parseTime accepts an RFC 3339 string or a Unix time in seconds (below
// 1e10) or milliseconds. A missing time means "now" (stamped later).
func parseTime(raw json.RawMessage) (time.Time, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return time.Time{}, nil
	}
	if raw[0] == '"' {
		var t time.Time
		var err error
		if inner, ok := plainQuoted(raw); ok {
			// The common case, without allocating: the string is its
			// bytes, and time.Parse keeps no reference to it.
			t, err = time.Parse(time.RFC3339Nano, string(inner))
		} else {
			var s string
			if s, err = unquote(raw); err != nil {
				return time.Time{}, fmt.Errorf("invalid string: %w", err)
			}
			t, err = time.Parse(time.RFC3339Nano, s)
		}
		if err != nil {
			s, _ := unquote(raw)
			return time.Time{}, fmt.Errorf("must be RFC 3339 (e.g. 2026-01-02T15:04:05Z), got %q", s)
		}
		if t.IsZero() {
			// The zero time means "no time sent" to the pipeline, which
			// would stamp the receive time on it: refuse it like any other
			// time before 2000 instead.
			s, _ := unquote(raw)
			return time.Time{}, fmt.Errorf("%s is before the year 2000", s)
		}
		return t.UTC(), nil
	}
	var n float64
	var err error
	if c := raw[0]; c == '-' || c >= '0' && c <= '9' {
		// raw is valid JSON (both decoders checked it), so a number's
		// text is one ParseFloat reads alike.
		n, err = strconv.ParseFloat(string(raw), 64)
	} else {
		err = json.Unmarshal(raw, &n)
	}
	if err != nil || math.IsNaN(n) || n <= 0 {
		return time.Time{}, fmt.Errorf("must be an RFC 3339 string or positive Unix seconds/milliseconds")
	}
	if n < 1e10 {
		sec, frac := math.Modf(n)
		return time.Unix(int64(sec), int64(frac*1e9)).UTC(), nil
	}
	if n > 1e14 {
		return time.Time{}, fmt.Errorf("Unix time %v is out of range", n)
	}
	return time.UnixMilli(int64(n)).UTC(), nil
}

// plainQuoted is the text of a JSON string made of printable ASCII without
// escapes, which is what encoding/json would decode it to; ok=false for
// any other string (encoding/json decodes those).
func plainQuoted(raw []byte) ([]byte, bool) {
	if len(raw) < 2 || raw[0] != '"' || raw[len(raw)-1] != '"' {
		return nil, false
	}
	inner := raw[1 : len(raw)-1]
	for _, c := range inner {
		if c < 0x20 || c > 0x7e || c == '\\' || c == '"' {
			return nil, false
		}
	}
	return inner, true
}

// unquote decodes the JSON string raw.
func unquote(raw []byte) (string, error) {
	var s string
	err := json.Unmarshal(raw, &s)
	return s, err
}
