// Package traccar decodes the JSON that a stock Traccar server (6.x) posts
// with its position forwarder, so that any of the GPS units Traccar speaks
// to can feed RadTrack (design.md §4).
//
// Enable it in Traccar's conf/traccar.xml (the forwarder is created when
// forward.url is set; forward.type selects the JSON body; forward.header
// adds request headers, one "Name: value" per line):
//
//	<entry key='forward.type'>json</entry>
//	<entry key='forward.url'>http://radtrack.example:8080/api/v1/traccar</entry>
//	<entry key='forward.header'>Authorization: Bearer DEVICE-OR-GATEWAY-TOKEN</entry>
//	<entry key='forward.retry.enable'>true</entry>
//
// Traccar 6 has no forward.enable key: releases before 5.x used
// forward.enable=true with forward.json=true instead (same body; extra keys
// are harmless). Source, traccar/traccar on GitHub:
// src/main/java/org/traccar/config/Keys.java (FORWARD_TYPE "forward.type"
// default "url", FORWARD_URL "forward.url", FORWARD_HEADER "forward.header",
// FORWARD_RETRY_ENABLE "forward.retry.enable"),
// src/main/java/org/traccar/MainModule.java (providePositionForwarder:
// if config.hasKey(FORWARD_URL), "json" → PositionForwarderJson),
// src/main/java/org/traccar/forward/PositionForwarderJson.java (POSTs
// objectMapper.writeValueAsString(positionData) as application/json) and
// src/main/java/org/traccar/forward/PositionData.java (two properties,
// "position" and "device", nulls omitted). Traccar's ObjectMapper disables
// WRITE_DATES_AS_TIMESTAMPS, so times are ISO-8601 strings such as
// "2024-05-01T10:00:00.000+00:00".
//
// Body shape (org.traccar.model.Position and Device):
//
//	{"position":{"id":1,"deviceId":7,"protocol":"gt06","serverTime":"…",
//	  "deviceTime":"…","fixTime":"…","outdated":false,"valid":true,
//	  "latitude":…,"longitude":…,"altitude":…,"speed":<knots>,"course":…,
//	  "address":null,"accuracy":0.0,"network":null,"geofenceIds":null,
//	  "attributes":{"sat":9,"hdop":0.9,"batteryLevel":87,…}},
//	 "device":{"id":7,"name":"Van 3","uniqueId":"864…","status":"online",…}}
//
// Mapping: DeviceUID = device.uniqueId (required); Time = fixTime, else
// deviceTime (zero if neither: the caller fills its receive time); speed
// knots → m/s; course → Heading; altitude → Altitude; accuracy → Accuracy
// when > 0 (Traccar writes 0 for unknown); attributes sat → Satellites,
// hdop → HDOP, batteryLevel → Battery (%), doseRate / dose_rate / dose
// (µSv/h) → DoseRate and cpm → CPM exactly as in package osmand (a Traccar
// Client or OsmAnd device sending doseRate=0.12 arrives here as the
// attribute doseRate). GPSValid = valid && !outdated && not 0,0; HasFix is
// the same without the valid flag. Everything else in position.attributes
// becomes a typed attribute (integers int64), plus traccar_protocol,
// traccar_device_id and traccar_server_time. Source is "traccar".
package traccar

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"strings"
	"time"

	"github.com/radtrack/radtrack/ingest/osmand"
	"github.com/radtrack/radtrack/sample"
)

// Position is one decoded forwarder request.
type Position struct {
	Sample     sample.Sample
	DeviceName string // device.name, for display
	HasFix     bool   // the position has coordinates of its own (not outdated, not 0,0)
}

type body struct {
	Position *position `json:"position"`
	Device   *device   `json:"device"`
}

type position struct {
	DeviceID   json.Number    `json:"deviceId"`
	Protocol   string         `json:"protocol"`
	ServerTime any            `json:"serverTime"` // string, or epoch ms number
	DeviceTime any            `json:"deviceTime"`
	FixTime    any            `json:"fixTime"`
	Outdated   bool           `json:"outdated"`
	Valid      bool           `json:"valid"`
	Latitude   *float64       `json:"latitude"`
	Longitude  *float64       `json:"longitude"`
	Altitude   *float64       `json:"altitude"`
	Speed      *float64       `json:"speed"`
	Course     *float64       `json:"course"`
	Accuracy   *float64       `json:"accuracy"`
	Attributes map[string]any `json:"attributes"`
}

type device struct {
	ID       json.Number `json:"id"`
	Name     string      `json:"name"`
	UniqueID string      `json:"uniqueId"`
}

// Decode decodes one forwarder body. A missing device.uniqueId or position
// is a *sample.FieldError ("device.uniqueId", "position"); a bad value a
// *sample.FieldError naming it; malformed JSON a wrapped error.
func Decode(b []byte) (Position, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var in body
	if err := dec.Decode(&in); err != nil {
		return Position{}, fmt.Errorf("traccar: malformed JSON body: %w", err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return Position{}, errors.New("traccar: malformed JSON body: data after the top-level object")
	}
	if in.Device == nil || strings.TrimSpace(in.Device.UniqueID) == "" {
		return Position{}, &sample.FieldError{Field: "device.uniqueId", Reason: "missing"}
	}
	if in.Position == nil {
		return Position{}, &sample.FieldError{Field: "position", Reason: "missing"}
	}
	p, d := in.Position, in.Device

	s := sample.New()
	s.Source = sample.SourceTraccar
	s.DeviceUID = strings.TrimSpace(d.UniqueID)
	out := Position{DeviceName: d.Name}

	var err error
	if s.Time, err = parseTime("position.fixTime", p.FixTime); err != nil {
		return Position{}, err
	}
	if s.Time.IsZero() {
		if s.Time, err = parseTime("position.deviceTime", p.DeviceTime); err != nil {
			return Position{}, err
		}
	}

	for _, f := range []struct {
		name string
		v    *float64
	}{{"latitude", p.Latitude}, {"longitude", p.Longitude}, {"altitude", p.Altitude}, {"speed", p.Speed}, {"course", p.Course}, {"accuracy", p.Accuracy}} {
		if f.v != nil && (math.IsNaN(*f.v) || math.IsInf(*f.v, 0)) {
			return Position{}, &sample.FieldError{Field: "position." + f.name, Reason: "must be finite"}
		}
	}
	var lat, lon float64
	if p.Latitude != nil {
		lat = *p.Latitude
	}
	if p.Longitude != nil {
		lon = *p.Longitude
	}
	if lat < -90 || lat > 90 {
		return Position{}, &sample.FieldError{Field: "position.latitude", Reason: fmt.Sprintf("%v is outside [-90, 90]", lat)}
	}
	if lon < -180 || lon > 180 {
		return Position{}, &sample.FieldError{Field: "position.longitude", Reason: fmt.Sprintf("%v is outside [-180, 180]", lon)}
	}
	s.Lat, s.Lon = lat, lon
	out.HasFix = p.Latitude != nil && p.Longitude != nil && !p.Outdated && !(lat == 0 && lon == 0)
	s.GPSValid = out.HasFix && p.Valid
	if p.Altitude != nil {
		s.Altitude = *p.Altitude
	}
	if p.Speed != nil {
		if *p.Speed < 0 {
			return Position{}, &sample.FieldError{Field: "position.speed", Reason: "must not be negative"}
		}
		s.Speed = sample.KnotsToMS(*p.Speed)
	}
	if p.Course != nil {
		s.Heading = *p.Course
	}
	if p.Accuracy != nil && *p.Accuracy > 0 {
		s.Accuracy = *p.Accuracy
	}

	attrs := map[string]any{}
	for k, v := range p.Attributes {
		if tv, ok := osmand.JSONValue(v); ok {
			attrs[k] = tv
		}
	}
	if err := takeKnown(&s, attrs); err != nil {
		return Position{}, err
	}
	if err := osmand.TakeDose(&s, attrs); err != nil {
		return Position{}, err
	}
	if p.Protocol != "" {
		attrs["traccar_protocol"] = p.Protocol
	}
	id := d.ID
	if id == "" {
		id = p.DeviceID
	}
	if v, ok := osmand.JSONValue(id); ok && id != "" {
		attrs["traccar_device_id"] = v
	}
	if t, err := parseTime("position.serverTime", p.ServerTime); err == nil && !t.IsZero() {
		attrs["traccar_server_time"] = t.Format(time.RFC3339Nano)
	}
	if len(attrs) > 0 {
		s.Attributes = attrs
	}
	out.Sample = s
	return out, nil
}

// takeKnown moves Traccar's standard attributes sat, hdop and batteryLevel
// into the sample.
func takeKnown(s *sample.Sample, attrs map[string]any) error {
	if v, ok := attrs["sat"]; ok {
		n, isInt := v.(int64)
		if !isInt || n < 0 || n > 1000 {
			return &sample.FieldError{Field: "sat", Reason: fmt.Sprintf("%v is not a satellite count", v)}
		}
		s.Satellites = int(n)
		delete(attrs, "sat")
	}
	for _, f := range []struct {
		key string
		dst *float64
	}{{"hdop", &s.HDOP}, {"batteryLevel", &s.Battery}} {
		v, ok := attrs[f.key]
		if !ok {
			continue
		}
		var x float64
		switch n := v.(type) {
		case int64:
			x = float64(n)
		case float64:
			x = n
		default:
			return &sample.FieldError{Field: f.key, Reason: fmt.Sprintf("%v is not a number", v)}
		}
		*f.dst = x
		delete(attrs, f.key)
	}
	return nil
}

// parseTime reads a Jackson-written date: ISO-8601 with "+00:00", "Z" or
// "+0000", or epoch milliseconds if WRITE_DATES_AS_TIMESTAMPS was enabled.
// null or "" give the zero time.
func parseTime(field string, v any) (time.Time, error) {
	switch x := v.(type) {
	case nil:
		return time.Time{}, nil
	case json.Number:
		t, err := osmand.ParseTimestamp(x.String())
		if err != nil {
			return time.Time{}, &sample.FieldError{Field: field, Reason: fmt.Sprintf("%q is not a time", x)}
		}
		return t, nil
	case string:
		if x == "" {
			return time.Time{}, nil
		}
		for _, l := range []string{time.RFC3339Nano, "2006-01-02T15:04:05.999999999Z0700"} {
			if t, err := time.Parse(l, x); err == nil {
				if t.IsZero() {
					// Zero means "no time" to the pipeline, which would
					// stamp the receive time: refuse it like any time
					// before 2000.
					return time.Time{}, &sample.FieldError{Field: field, Reason: fmt.Sprintf("%q is before the year 2000", x)}
				}
				return t.UTC(), nil
			}
		}
		return time.Time{}, &sample.FieldError{Field: field, Reason: fmt.Sprintf("%q is not an ISO-8601 time", x)}
	default:
		return time.Time{}, &sample.FieldError{Field: field, Reason: "must be a string or a number"}
	}
}
