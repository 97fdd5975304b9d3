// Package osmand decodes the OsmAnd / Traccar Client HTTP protocol
// (design.md §4): one position per request, parameters in the query
// string, else in an application/x-www-form-urlencoded body, else the JSON
// body of Traccar Client 9.x.
//
// Decoding is a pure function of the request's raw query, content type and
// body; the listener owns HTTP (method and path are ignored, reply 200 with an
// empty body, 400 for a *sample.FieldError with Field "id", 404 for an
// unknown device) and authentication (a secret in HTTP basic auth is the
// listener's to read; a "key" parameter is returned in Position.Key).
//
// Conventions:
//   - Time is UTC. A request without a timestamp decodes with a zero
//     Sample.Time: the caller fills in its receive time (Traccar does the same).
//   - speed is in knots in the query/form variant and converted to m/s; the
//     JSON variant's coords.speed is already m/s. Negative JSON speed or
//     heading (the client's "unknown") is left absent.
//   - No lat/lon, or exactly 0,0 (what clients send without a location),
//     gives HasFix false and GPSValid false; the sample still carries the
//     rest (e.g. a dose). A "valid" parameter other than true/1 clears
//     GPSValid.
//   - batt is a percentage; the JSON battery.level (0..1) is multiplied by 100.
//   - doseRate / dose_rate / dose (µSv/h) set DoseRate, cpm sets CPM, in the
//     query, the form or the JSON extras. No dose is ever computed from CPM.
//   - Everything else goes to Attributes, typed: bool, int64 for integers,
//     float64, string. A parameter repeated in the query (cell=…&cell=…)
//     becomes one string with the values joined by ";".
package osmand

import (
	"bytes"
	"fmt"
	"mime"
	"net/url"
	"strings"

	"github.com/radtrack/radtrack/sample"
)

// Position is one decoded OsmAnd request.
type Position struct {
	// Sample has DeviceUID, Source "osmand" and the decoded values.
	// Time is zero when the request carried no timestamp.
	Sample sample.Sample
	// Key is the device secret from a "key" parameter, "" if absent.
	Key string
	// HasFix reports that the request carried a usable lat/lon.
	HasFix bool
}

// Decode decodes one OsmAnd / Traccar Client request. rawQuery is the URL's
// raw query (without "?"), contentType the Content-Type header, body the
// request body (may be nil). A missing id/deviceid is a *sample.FieldError
// with Field "id"; a malformed value is a *sample.FieldError naming the
// parameter; a malformed query, form or JSON is a wrapped error.
func Decode(rawQuery, contentType string, body []byte) (Position, error) {
	q, err := url.ParseQuery(rawQuery)
	if err != nil {
		return Position{}, fmt.Errorf("osmand: malformed query string: %w", err)
	}
	key := first(q["key"])
	if hasParams(q) {
		return decodeParams(q)
	}
	if isJSON(contentType, body) {
		p, err := decodeJSON(body)
		if err != nil {
			return Position{}, err
		}
		if p.Key == "" {
			p.Key = key
		}
		return p, nil
	}
	if len(bytes.TrimSpace(body)) > 0 {
		form, err := url.ParseQuery(string(bytes.TrimSpace(body)))
		if err != nil {
			return Position{}, fmt.Errorf("osmand: malformed form body: %w", err)
		}
		for k, vs := range q {
			if _, ok := form[k]; !ok {
				form[k] = vs
			}
		}
		return decodeParams(form)
	}
	return decodeParams(q)
}

// hasParams reports whether the query carries more than a bare key.
func hasParams(q url.Values) bool {
	for k := range q {
		if k != "key" {
			return true
		}
	}
	return false
}

func isJSON(contentType string, body []byte) bool {
	if mt, _, err := mime.ParseMediaType(contentType); err == nil {
		if mt == "application/json" || strings.HasSuffix(mt, "+json") {
			return true
		}
		if mt == "application/x-www-form-urlencoded" {
			return false
		}
	}
	t := bytes.TrimSpace(body)
	return len(t) > 0 && t[0] == '{'
}

func first(vs []string) string {
	for _, v := range vs {
		if v != "" {
			return v
		}
	}
	return ""
}

// decodeParams decodes the query/form variant.
func decodeParams(q url.Values) (Position, error) {
	s := sample.New()
	s.Source = sample.SourceOsmAnd
	p := Position{}

	uid := strings.TrimSpace(first(q["id"]))
	if uid == "" {
		uid = strings.TrimSpace(first(q["deviceid"]))
	}
	if uid == "" {
		return Position{}, &sample.FieldError{Field: "id", Reason: "missing (id or deviceid is required)"}
	}
	s.DeviceUID = uid
	p.Key = first(q["key"])

	var (
		lat, lon       float64
		haveLat, haveO bool
		valid          = true
	)
	optional := func(name string, dst *float64, conv func(float64) float64) error {
		v := strings.TrimSpace(first(q[name]))
		if v == "" {
			return nil
		}
		f, err := parseFloat(name, v)
		if err != nil {
			return err
		}
		if conv != nil {
			f = conv(f)
		}
		*dst = f
		return nil
	}
	attrs := map[string]any{}
	for name, vs := range q {
		var err error
		switch name {
		case "id", "deviceid", "key":
		case "valid":
			v := strings.ToLower(strings.TrimSpace(first(vs)))
			valid = v == "true" || v == "1"
		case "timestamp":
			if v := first(vs); v != "" {
				s.Time, err = ParseTimestamp(v)
			}
		case "lat":
			if v := strings.TrimSpace(first(vs)); v != "" {
				lat, err = parseFloat("lat", v)
				haveLat = err == nil
			}
		case "lon":
			if v := strings.TrimSpace(first(vs)); v != "" {
				lon, err = parseFloat("lon", v)
				haveO = err == nil
			}
		case "location":
			if v := strings.TrimSpace(first(vs)); v != "" {
				parts := strings.Split(v, ",")
				if len(parts) != 2 {
					err = &sample.FieldError{Field: "location", Reason: fmt.Sprintf("%q is not lat,lon", v)}
					break
				}
				if lat, err = parseFloat("location", parts[0]); err != nil {
					break
				}
				if lon, err = parseFloat("location", parts[1]); err != nil {
					break
				}
				haveLat, haveO = true, true
			}
		case "speed":
			err = optional("speed", &s.Speed, sample.KnotsToMS)
		case "bearing", "heading":
			err = optional(name, &s.Heading, nil)
		case "altitude":
			err = optional("altitude", &s.Altitude, nil)
		case "accuracy":
			err = optional("accuracy", &s.Accuracy, nil)
		case "hdop":
			err = optional("hdop", &s.HDOP, nil)
		case "batt":
			err = optional("batt", &s.Battery, nil)
		default:
			if len(vs) == 1 {
				attrs[name] = TypedValue(vs[0])
			} else {
				attrs[name] = strings.Join(vs, ";")
			}
		}
		if err != nil {
			return Position{}, err
		}
	}
	if err := TakeDose(&s, attrs); err != nil {
		return Position{}, err
	}
	if len(attrs) > 0 {
		s.Attributes = attrs
	}
	if err := setFix(&s, &p, lat, lon, haveLat && haveO, valid); err != nil {
		return Position{}, err
	}
	p.Sample = s
	return p, nil
}

// setFix fills the position fields shared by both variants.
func setFix(s *sample.Sample, p *Position, lat, lon float64, have, valid bool) error {
	if have && (lat < -90 || lat > 90) {
		return &sample.FieldError{Field: "lat", Reason: fmt.Sprintf("%v is outside [-90, 90]", lat)}
	}
	if have && (lon < -180 || lon > 180) {
		return &sample.FieldError{Field: "lon", Reason: fmt.Sprintf("%v is outside [-180, 180]", lon)}
	}
	p.HasFix = have && !(lat == 0 && lon == 0)
	if p.HasFix {
		s.Lat, s.Lon = lat, lon
	}
	s.GPSValid = p.HasFix && valid
	return nil
}
