package osmand

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"strings"

	"github.com/radtrack/radtrack/sample"
)

// decodeJSON decodes the Traccar Client 9.x JSON variant:
//
//	{"location":{"timestamp":"…","coords":{"latitude","longitude","accuracy",
//	 "speed" (m/s),"heading","altitude",…},"battery":{"level" (0..1),
//	 "is_charging"},"extras":{…},…},"device_id":"…"}
func decodeJSON(body []byte) (Position, error) {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var root map[string]any
	if err := dec.Decode(&root); err != nil {
		return Position{}, fmt.Errorf("osmand: malformed JSON body: %w", err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return Position{}, errors.New("osmand: malformed JSON body: data after the top-level object")
	}

	s := sample.New()
	s.Source = sample.SourceOsmAnd
	p := Position{}

	switch id := root["device_id"].(type) {
	case string:
		s.DeviceUID = strings.TrimSpace(id)
	case json.Number:
		s.DeviceUID = id.String()
	}
	if s.DeviceUID == "" {
		return Position{}, &sample.FieldError{Field: "id", Reason: "missing (device_id is required)"}
	}

	attrs := map[string]any{}
	for k, v := range root {
		switch k {
		case "device_id", "location":
		case "key":
			if str, ok := v.(string); ok {
				p.Key = str
			}
		default:
			flatten(attrs, k, v, 0)
		}
	}

	var (
		lat, lon float64
		haveLoc  bool
	)
	locAny, present := root["location"]
	loc, isObj := locAny.(map[string]any)
	if present && locAny != nil && !isObj {
		return Position{}, &sample.FieldError{Field: "location", Reason: "must be an object"}
	}
	var extras map[string]any
	for k, v := range loc {
		var err error
		switch k {
		case "timestamp":
			switch t := v.(type) {
			case string:
				s.Time, err = ParseTimestamp(t)
			case json.Number:
				s.Time, err = ParseTimestamp(t.String())
			case nil:
			default:
				err = &sample.FieldError{Field: "timestamp", Reason: "must be a string or a number"}
			}
		case "coords":
			c, ok := v.(map[string]any)
			if !ok {
				if v != nil {
					err = &sample.FieldError{Field: "coords", Reason: "must be an object"}
				}
				break
			}
			lat, lon, haveLoc, err = decodeCoords(&s, c, attrs)
		case "battery":
			b, ok := v.(map[string]any)
			if !ok {
				flatten(attrs, k, v, 0)
				break
			}
			err = decodeBattery(&s, b, attrs)
		case "extras":
			e, ok := v.(map[string]any)
			if !ok {
				flatten(attrs, k, v, 0)
				break
			}
			extras = e
		case "_":
			// A copy of the query-string variant kept by the client; the
			// structured fields above carry the same data.
		default:
			flatten(attrs, k, v, 0)
		}
		if err != nil {
			return Position{}, err
		}
	}
	for k, v := range extras {
		if tv, ok := JSONValue(v); ok {
			attrs[k] = tv
		}
	}
	if err := TakeDose(&s, attrs); err != nil {
		return Position{}, err
	}
	if len(attrs) > 0 {
		s.Attributes = attrs
	}
	if err := setFix(&s, &p, lat, lon, haveLoc, true); err != nil {
		return Position{}, err
	}
	p.Sample = s
	return p, nil
}

// jsonFloat reads a JSON number (or a numeric string) as a finite float.
// ok is false for null.
func jsonFloat(field string, v any) (f float64, ok bool, err error) {
	switch x := v.(type) {
	case nil:
		return 0, false, nil
	case json.Number:
		f, err = parseFloat(field, x.String())
	case string:
		if strings.TrimSpace(x) == "" {
			return 0, false, nil
		}
		f, err = parseFloat(field, x)
	case float64:
		if math.IsNaN(x) || math.IsInf(x, 0) {
			err = &sample.FieldError{Field: field, Reason: "must be a finite number"}
		}
		f = x
	default:
		err = &sample.FieldError{Field: field, Reason: fmt.Sprintf("must be a number, got %T", v)}
	}
	return f, err == nil, err
}

func decodeCoords(s *sample.Sample, c map[string]any, attrs map[string]any) (lat, lon float64, have bool, err error) {
	var haveLat, haveLon bool
	for k, v := range c {
		var (
			f  float64
			ok bool
		)
		switch k {
		case "latitude":
			lat, haveLat, err = jsonFloat("latitude", v)
		case "longitude":
			lon, haveLon, err = jsonFloat("longitude", v)
		case "accuracy":
			if f, ok, err = jsonFloat(k, v); ok && f >= 0 {
				s.Accuracy = f
			}
		case "speed": // m/s in this variant; -1 means unknown
			if f, ok, err = jsonFloat(k, v); ok && f >= 0 {
				s.Speed = f
			}
		case "heading": // degrees; -1 means unknown
			if f, ok, err = jsonFloat(k, v); ok && f >= 0 {
				s.Heading = f
			}
		case "altitude":
			if f, ok, err = jsonFloat(k, v); ok {
				s.Altitude = f
			}
		default:
			flatten(attrs, k, v, 0)
		}
		if err != nil {
			return 0, 0, false, err
		}
	}
	return lat, lon, haveLat && haveLon, nil
}

func decodeBattery(s *sample.Sample, b map[string]any, attrs map[string]any) error {
	for k, v := range b {
		switch k {
		case "level": // 0..1; -1 means unknown
			f, ok, err := jsonFloat("battery.level", v)
			if err != nil {
				return err
			}
			if ok && f >= 0 {
				if f > 1 {
					return &sample.FieldError{Field: "battery.level", Reason: fmt.Sprintf("%v is outside [0, 1]", f)}
				}
				// Round away the binary noise of ×100 (0.79*100 = 79.00000000000001).
				s.Battery = math.Round(f*100*1e9) / 1e9
			}
		case "is_charging":
			if tv, ok := JSONValue(v); ok {
				attrs["charge"] = tv
			}
		default:
			flatten(attrs, "battery_"+k, v, 0)
		}
	}
	return nil
}

// flatten stores v under key; objects are flattened into key_child keys
// (a few levels deep, deeper ones kept as JSON text).
func flatten(attrs map[string]any, key string, v any, depth int) {
	if m, ok := v.(map[string]any); ok && depth < 3 {
		for k, c := range m {
			flatten(attrs, key+"_"+k, c, depth+1)
		}
		return
	}
	if tv, ok := JSONValue(v); ok {
		attrs[key] = tv
	}
}
