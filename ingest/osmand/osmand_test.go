package osmand

import (
	"errors"
	"math"
	"net/url"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/radtrack/radtrack/sample"
)

// want describes the expected decode of one vector; NaN means absent.
type want struct {
	uid                            string
	time                           string // RFC 3339, "" for zero
	lat, lon                       float64
	hasFix, gpsValid               bool
	speed, heading, alt, hdop, acc float64
	batt, dose, cpm                float64
	attrs                          map[string]any
}

var nan = math.NaN()

func eq(a, b float64) bool {
	if math.IsNaN(a) || math.IsNaN(b) {
		return math.IsNaN(a) && math.IsNaN(b)
	}
	return a == b
}

func check(t *testing.T, p Position, w want) {
	t.Helper()
	s := p.Sample
	if s.DeviceUID != w.uid {
		t.Errorf("DeviceUID = %q, want %q", s.DeviceUID, w.uid)
	}
	if s.DeviceID != 0 {
		t.Errorf("DeviceID = %d, decoders must leave it 0", s.DeviceID)
	}
	if s.Source != sample.SourceOsmAnd {
		t.Errorf("Source = %q", s.Source)
	}
	if w.time == "" {
		if !s.Time.IsZero() {
			t.Errorf("Time = %v, want zero", s.Time)
		}
	} else {
		wt, err := time.Parse(time.RFC3339Nano, w.time)
		if err != nil {
			t.Fatal(err)
		}
		if !s.Time.Equal(wt) || s.Time.Location() != time.UTC {
			t.Errorf("Time = %v, want %v UTC", s.Time, wt)
		}
	}
	if p.HasFix != w.hasFix || s.GPSValid != w.gpsValid {
		t.Errorf("HasFix/GPSValid = %v/%v, want %v/%v", p.HasFix, s.GPSValid, w.hasFix, w.gpsValid)
	}
	for _, f := range []struct {
		name      string
		got, want float64
	}{
		{"lat", s.Lat, w.lat}, {"lon", s.Lon, w.lon}, {"speed", s.Speed, w.speed},
		{"heading", s.Heading, w.heading}, {"altitude", s.Altitude, w.alt},
		{"hdop", s.HDOP, w.hdop}, {"accuracy", s.Accuracy, w.acc}, {"battery", s.Battery, w.batt},
		{"dose", s.DoseRate, w.dose}, {"cpm", s.CPM, w.cpm},
		{"counts", s.Counts, nan}, {"interval", s.CountInterval, nan},
	} {
		if !eq(f.got, f.want) {
			t.Errorf("%s = %v, want %v", f.name, f.got, f.want)
		}
	}
	if s.Satellites != -1 {
		t.Errorf("Satellites = %d, want -1", s.Satellites)
	}
	if len(w.attrs) == 0 && len(s.Attributes) == 0 {
		return
	}
	if !reflect.DeepEqual(s.Attributes, w.attrs) {
		t.Errorf("Attributes = %#v, want %#v", s.Attributes, w.attrs)
	}
}

func query(t *testing.T, rawURL string) string {
	t.Helper()
	u, err := url.Parse(rawURL)
	if err != nil {
		t.Fatal(err)
	}
	return u.RawQuery
}

// The literal requests of /work/shared/vectors/osmand.md (Traccar's
// OsmAndProtocolDecoderTest and client tests).
func TestQueryVectors(t *testing.T) {
	kn := func(k float64) float64 { return k * 1852 / 3600 }
	cases := []struct {
		name string
		url  string
		want want
	}{
		{"1 iso timestamp", `/?id=902064&lat=42.06288&lon=-88.23412&timestamp=2016-01-27T18%3A55%3A47Z&hdop=6.0&altitude=224.0&speed=0.0`,
			want{uid: "902064", time: "2016-01-27T18:55:47Z", lat: 42.06288, lon: -88.23412, hasFix: true, gpsValid: true,
				speed: 0, heading: nan, alt: 224, hdop: 6, acc: nan, batt: nan, dose: nan, cpm: nan}},
		{"2 ms timestamp", `/?id=902064&lat=42.06288&lon=-88.23412&timestamp=1442068686579&hdop=6.0&altitude=224.0&speed=0.0`,
			want{uid: "902064", time: "2015-09-12T14:38:06.579Z", lat: 42.06288, lon: -88.23412, hasFix: true, gpsValid: true,
				speed: 0, heading: nan, alt: 224, hdop: 6, acc: nan, batt: nan, dose: nan, cpm: nan}},
		{"3 yyyy-MM-dd HH:mm:ss", `/?lat=49.60688&lon=6.15788&timestamp=2014-06-04+09%3A10%3A11&altitude=384.7&speed=0.0&id=353861053849681`,
			want{uid: "353861053849681", time: "2014-06-04T09:10:11Z", lat: 49.60688, lon: 6.15788, hasFix: true, gpsValid: true,
				speed: 0, heading: nan, alt: 384.7, hdop: nan, acc: nan, batt: nan, dose: nan, cpm: nan}},
		{"4 seconds", `/?id=123456&timestamp=1377177267&lat=60.0&lon=30.0&speed=0.0&bearing=0.0&altitude=0&hdop=0.0`,
			want{uid: "123456", time: "2013-08-22T13:14:27Z", lat: 60, lon: 30, hasFix: true, gpsValid: true,
				speed: 0, heading: 0, alt: 0, hdop: 0, acc: nan, batt: nan, dose: nan, cpm: nan}},
		{"5 minimal", `/?id=123456&timestamp=1377177267&lat=60.0&lon=30.0`,
			want{uid: "123456", time: "2013-08-22T13:14:27Z", lat: 60, lon: 30, hasFix: true, gpsValid: true,
				speed: nan, heading: nan, alt: nan, hdop: nan, acc: nan, batt: nan, dose: nan, cpm: nan}},
		{"6 deviceid heading no timestamp", `/?lat=60.0&lon=30.0&speed=0.0&heading=0.0&vacc=0&hacc=0&altitude=0&deviceid=123456`,
			want{uid: "123456", lat: 60, lon: 30, hasFix: true, gpsValid: true,
				speed: 0, heading: 0, alt: 0, hdop: nan, acc: nan, batt: nan, dose: nan, cpm: nan,
				attrs: map[string]any{"vacc": int64(0), "hacc": int64(0)}}},
		{"7 battery", `/?id=861001000719969&lat=41.666667&lon=-0.883333&altitude=350.059479&speed=0.000000&batt=87`,
			want{uid: "861001000719969", lat: 41.666667, lon: -0.883333, hasFix: true, gpsValid: true,
				speed: 0, heading: nan, alt: 350.059479, hdop: nan, acc: nan, batt: 87, dose: nan, cpm: nan}},
		{"8 location=", `/?id=123456&timestamp=1377177267&location=60.0,30.0`,
			want{uid: "123456", time: "2013-08-22T13:14:27Z", lat: 60, lon: 30, hasFix: true, gpsValid: true,
				speed: nan, heading: nan, alt: nan, hdop: nan, acc: nan, batt: nan, dose: nan, cpm: nan}},
		{"9 custom attributes", `/?id=123456789012345&timestamp=1504763810&lat=40.7232948571&lon=-74.0061408571&bearing=7.19889788244&speed=40&ignition=true&rpm=933&fuel=24`,
			want{uid: "123456789012345", time: "2017-09-07T05:56:50Z", lat: 40.7232948571, lon: -74.0061408571, hasFix: true, gpsValid: true,
				speed: kn(40), heading: 7.19889788244, alt: nan, hdop: nan, acc: nan, batt: nan, dose: nan, cpm: nan,
				attrs: map[string]any{"ignition": true, "rpm": int64(933), "fuel": int64(24)}}},
		{"10 network only", `/?id=123456&timestamp=1377177267&cell=257,02,16,2224&cell=257,02,16,2223,-90&wifi=00-14-22-01-23-45,-80&wifi=00-1C-B3-09-85-15,-70`,
			want{uid: "123456", time: "2013-08-22T13:14:27Z", hasFix: false, gpsValid: false,
				speed: nan, heading: nan, alt: nan, hdop: nan, acc: nan, batt: nan, dose: nan, cpm: nan,
				attrs: map[string]any{"cell": "257,02,16,2224;257,02,16,2223,-90", "wifi": "00-14-22-01-23-45,-80;00-1C-B3-09-85-15,-70"}}},
		{"android client", `http://localhost:5055?id=123456789012345&timestamp=619315200&lat=0.0&lon=0.0&speed=0.0&bearing=0.0&altitude=0.0&accuracy=0.0&batt=0.0`,
			want{uid: "123456789012345", time: "1989-08-17T00:00:00Z", hasFix: false, gpsValid: false,
				speed: 0, heading: 0, alt: 0, hdop: nan, acc: 0, batt: 0, dose: nan, cpm: nan}},
		{"android client alarm", `http://localhost:5055?id=123456789012345&timestamp=619315200&lat=0.0&lon=0.0&speed=0.0&bearing=0.0&altitude=0.0&accuracy=0.0&batt=0.0&alarm=alert%20message`,
			want{uid: "123456789012345", time: "1989-08-17T00:00:00Z", hasFix: false, gpsValid: false,
				speed: 0, heading: 0, alt: 0, hdop: nan, acc: 0, batt: 0, dose: nan, cpm: nan,
				attrs: map[string]any{"alarm": "alert message"}}},
		{"load generator", `?id=dev-17&lat=59.5&lon=30.25`,
			want{uid: "dev-17", lat: 59.5, lon: 30.25, hasFix: true, gpsValid: true,
				speed: nan, heading: nan, alt: nan, hdop: nan, acc: nan, batt: nan, dose: nan, cpm: nan}},
		{"dose and cpm", `/?id=car-1&timestamp=1752939428&lat=45.33&lon=37.26&doseRate=0.12&cpm=40&key=s3cret`,
			want{uid: "car-1", time: "2025-07-19T15:37:08Z", lat: 45.33, lon: 37.26, hasFix: true, gpsValid: true,
				speed: nan, heading: nan, alt: nan, hdop: nan, acc: nan, batt: nan, dose: 0.12, cpm: 40}},
		{"dose alias, valid=false", `/?id=car-1&lat=45.33&lon=37.26&dose=1.5&valid=false`,
			want{uid: "car-1", lat: 45.33, lon: 37.26, hasFix: true, gpsValid: false,
				speed: nan, heading: nan, alt: nan, hdop: nan, acc: nan, batt: nan, dose: 1.5, cpm: nan}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p, err := Decode(query(t, c.url), "", nil)
			if err != nil {
				t.Fatalf("Decode: %v", err)
			}
			check(t, p, c.want)
		})
	}
}

func TestKey(t *testing.T) {
	p, err := Decode("id=car-1&doseRate=0.12&key=s3cret", "", nil)
	if err != nil {
		t.Fatal(err)
	}
	if p.Key != "s3cret" {
		t.Errorf("Key = %q", p.Key)
	}
	if _, ok := p.Sample.Attributes["key"]; ok {
		t.Error("the key must not be stored as an attribute")
	}
}

func TestMissingID(t *testing.T) {
	for _, c := range []struct{ q, ct, body string }{
		{`timestamp=1377177267&lat=60.0&lon=30.0`, "", ""}, // vector 11
		{`id=&lat=60.0&lon=30.0`, "", ""},
		{``, "application/x-www-form-urlencoded", "lat=1&lon=2"},
		{``, "application/json", `{"location":{"coords":{"latitude":1,"longitude":2}}}`},
		{``, "", ""},
	} {
		_, err := Decode(c.q, c.ct, []byte(c.body))
		var fe *sample.FieldError
		if !errors.As(err, &fe) || fe.Field != "id" {
			t.Errorf("Decode(%q, %q): err = %v, want FieldError id", c.q, c.body, err)
		}
	}
}

func TestFieldErrors(t *testing.T) {
	for q, field := range map[string]string{
		"id=1&lat=abc&lon=1":        "lat",
		"id=1&lat=NaN&lon=1":        "lat",
		"id=1&lat=1&lon=Inf":        "lon",
		"id=1&lat=91&lon=1":         "lat",
		"id=1&lat=1&lon=-181":       "lon",
		"id=1&location=1":           "location",
		"id=1&speed=fast":           "speed",
		"id=1&timestamp=yesterday":  "timestamp",
		"id=1&timestamp=-5":         "timestamp",
		"id=1&doseRate=high":        "doseRate",
		"id=1&doseRate=-0.1":        "doseRate",
		"id=1&cpm=true":             "cpm",
		"id=1&batt=0x10":            "batt",
		"id=1&timestamp=1e300":      "timestamp",
		"id=1&altitude=1e400":       "altitude",
		"id=1&hdop=1_0":             "hdop",
		"id=1&accuracy=%2B5":        "accuracy",
		"id=1&heading=":             "",
		"id=1&timestamp=2016-13-01": "timestamp",
	} {
		_, err := Decode(q, "", nil)
		if field == "" {
			if err != nil {
				t.Errorf("Decode(%q): %v, want no error", q, err)
			}
			continue
		}
		var fe *sample.FieldError
		if !errors.As(err, &fe) || fe.Field != field {
			t.Errorf("Decode(%q): err = %v, want FieldError %s", q, err, field)
		}
	}
	if _, err := Decode("id=1&lat=%zz", "", nil); err == nil || !strings.Contains(err.Error(), "query") {
		t.Errorf("malformed query: err = %v", err)
	}
}

func TestFormBody(t *testing.T) {
	body := "id=902064&lat=42.06288&lon=-88.23412&timestamp=2016-01-27+18%3A55%3A47&speed=10&cpm=33"
	p, err := Decode("key=abc", "application/x-www-form-urlencoded", []byte(body))
	if err != nil {
		t.Fatal(err)
	}
	check(t, p, want{uid: "902064", time: "2016-01-27T18:55:47Z", lat: 42.06288, lon: -88.23412, hasFix: true, gpsValid: true,
		speed: 10 * 1852.0 / 3600, heading: nan, alt: nan, hdop: nan, acc: nan, batt: nan, dose: nan, cpm: 33})
	if p.Key != "abc" {
		t.Errorf("Key = %q, want the query's key", p.Key)
	}
	// Query parameters win over the body (Traccar reads the body only when
	// the query is empty).
	p, err = Decode("id=q&lat=1&lon=2", "application/x-www-form-urlencoded", []byte("id=b&lat=3&lon=4"))
	if err != nil || p.Sample.DeviceUID != "q" || p.Sample.Lat != 1 {
		t.Errorf("query must win: %+v %v", p.Sample, err)
	}
}

const jsonFull = `{"location":{"timestamp":"2025-06-15T13:45:12.862Z","coords":{"latitude":37.4219983,"longitude":-122.084,"accuracy":5,"speed":0,"heading":-1,"altitude":5},"is_moving":false,"odometer":0,"event":"motionchange","battery":{"level":1,"is_charging":false},"activity":{"type":"still"},"extras":{},"_":"&id=48241179&lat=37.4219983&lon=-122.084&timestamp=2025-06-15T13:45:12.862Z&"},"device_id":"48241179"}`

const jsonMoving = `{"location":{"event":"motionchange","is_moving":false,"uuid":"0e9a2473-a9a7-4c00-997b-fb97d2154e75","timestamp":"2021-07-21T08:06:34.444Z","odometer":0,"coords":{"latitude":-6.1148096,"longitude":106.6837015,"accuracy":3.8,"speed":18.67,"speed_accuracy":0.26,"heading":63,"heading_accuracy":0.28,"altitude":35.7,"altitude_accuracy":3.8},"activity":{"type":"still","confidence":100},"battery":{"is_charging":false,"level":0.79},"extras":{}},"device_id":"8737767034"}`

const jsonExtras = `{"location":{"timestamp":"2025-06-15T13:45:12.862Z","coords":{"latitude":37.4219983,"longitude":-122.084,"accuracy":5,"speed":0,"heading":-1,"altitude":5},"is_moving":false,"odometer":0,"event":"motionchange","battery":{"level":1,"is_charging":false},"activity":{"type":"still"},"extras":{"device_string_test":"long_device_id","device_bool_test":true,"device_bool_false_test":false,"device_integer_test":1,"device_integer_twelve_test":12,"device_double_test":1.345,"device_very_long_double_test":1763636.3442}},"device_id":"48241179"}`

func TestJSONVectors(t *testing.T) {
	base := map[string]any{"is_moving": false, "odometer": int64(0), "event": "motionchange", "charge": false, "activity_type": "still"}
	with := func(extra map[string]any) map[string]any {
		m := map[string]any{}
		for k, v := range base {
			m[k] = v
		}
		for k, v := range extra {
			m[k] = v
		}
		return m
	}
	cases := []struct {
		name, body string
		want       want
	}{
		{"full", jsonFull, want{uid: "48241179", time: "2025-06-15T13:45:12.862Z", lat: 37.4219983, lon: -122.084,
			hasFix: true, gpsValid: true, speed: 0, heading: nan, alt: 5, hdop: nan, acc: 5, batt: 100, dose: nan, cpm: nan,
			attrs: base}},
		{"moving", jsonMoving, want{uid: "8737767034", time: "2021-07-21T08:06:34.444Z", lat: -6.1148096, lon: 106.6837015,
			hasFix: true, gpsValid: true, speed: 18.67, heading: 63, alt: 35.7, hdop: nan, acc: 3.8, batt: 79, dose: nan, cpm: nan,
			attrs: with(map[string]any{"uuid": "0e9a2473-a9a7-4c00-997b-fb97d2154e75", "speed_accuracy": 0.26,
				"heading_accuracy": 0.28, "altitude_accuracy": 3.8, "activity_confidence": int64(100)})}},
		{"extras typing", jsonExtras, want{uid: "48241179", time: "2025-06-15T13:45:12.862Z", lat: 37.4219983, lon: -122.084,
			hasFix: true, gpsValid: true, speed: 0, heading: nan, alt: 5, hdop: nan, acc: 5, batt: 100, dose: nan, cpm: nan,
			attrs: with(map[string]any{"device_string_test": "long_device_id", "device_bool_test": true,
				"device_bool_false_test": false, "device_integer_test": int64(1), "device_integer_twelve_test": int64(12),
				"device_double_test": 1.345, "device_very_long_double_test": 1763636.3442})}},
		{"dose in extras", strings.Replace(jsonFull, `"extras":{}`, `"extras":{"doseRate":0.12,"cpm":40,"detector":"LND7317"}`, 1),
			want{uid: "48241179", time: "2025-06-15T13:45:12.862Z", lat: 37.4219983, lon: -122.084,
				hasFix: true, gpsValid: true, speed: 0, heading: nan, alt: 5, hdop: nan, acc: 5, batt: 100, dose: 0.12, cpm: 40,
				attrs: with(map[string]any{"detector": "LND7317"})}},
		{"no coords", `{"device_id":"7","location":{"timestamp":1377177267,"extras":{"dose":0.2}}}`,
			want{uid: "7", time: "2013-08-22T13:14:27Z", speed: nan, heading: nan, alt: nan, hdop: nan, acc: nan, batt: nan, dose: 0.2, cpm: nan}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p, err := Decode("", "application/json", []byte(c.body))
			if err != nil {
				t.Fatalf("Decode: %v", err)
			}
			check(t, p, c.want)
			// The integer 12 must stay an integer (Traccar: long).
			if c.name == "extras typing" {
				if v, ok := p.Sample.Attributes["device_integer_twelve_test"].(int64); !ok || v != 12 {
					t.Errorf("device_integer_twelve_test = %#v, want int64(12)", p.Sample.Attributes["device_integer_twelve_test"])
				}
			}
		})
	}
	// Sniffed without a content type, and the query key is kept.
	p, err := Decode("key=k1", "", []byte(jsonMoving))
	if err != nil || p.Sample.DeviceUID != "8737767034" || p.Key != "k1" {
		t.Errorf("sniffed JSON: %+v key %q err %v", p.Sample, p.Key, err)
	}
}

func TestJSONErrors(t *testing.T) {
	for body, field := range map[string]string{
		`{"device_id":"1","location":{"coords":{"latitude":"x","longitude":1}}}`: "latitude",
		`{"device_id":"1","location":{"coords":{"latitude":95,"longitude":1}}}`:  "lat",
		`{"device_id":"1","location":{"timestamp":"soon"}}`:                      "timestamp",
		`{"device_id":"1","location":{"battery":{"level":7}}}`:                   "battery.level",
		`{"device_id":"1","location":{"extras":{"doseRate":"lots"}}}`:            "doseRate",
		`{"device_id":"1","location":[1,2]}`:                                     "location",
		`{"device_id":"","location":{}}`:                                         "id",
	} {
		_, err := Decode("", "application/json", []byte(body))
		var fe *sample.FieldError
		if !errors.As(err, &fe) || fe.Field != field {
			t.Errorf("Decode(%s): err = %v, want FieldError %s", body, err, field)
		}
	}
	for _, body := range []string{`{"device_id":`, `{"device_id":"1"} {}`, `[1]`} {
		if _, err := Decode("", "application/json", []byte(body)); err == nil {
			t.Errorf("Decode(%s): want an error", body)
		}
	}
}

func TestParseTimestamp(t *testing.T) {
	for in, out := range map[string]string{
		"1377177267":                    "2013-08-22T13:14:27Z",
		"2147483646":                    "2038-01-19T03:14:06Z",
		"2147483647":                    "1970-01-25T20:31:23.647Z", // ms from here on, as Traccar
		"1442068686579":                 "2015-09-12T14:38:06.579Z",
		"2016-01-27T18:55:47Z":          "2016-01-27T18:55:47Z",
		"2016-01-27T20:55:47+02:00":     "2016-01-27T18:55:47Z",
		"2016-01-27T20:55:47.5+0200":    "2016-01-27T18:55:47.5Z",
		"2016-01-27T18:55:47":           "2016-01-27T18:55:47Z",
		"2014-06-04 09:10:11":           "2014-06-04T09:10:11Z",
		"2025-06-15T13:45:12.862Z":      "2025-06-15T13:45:12.862Z",
		"2014-06-04 09:10:11.250":       "2014-06-04T09:10:11.25Z",
		"1377177267.5":                  "2013-08-22T13:14:27.5Z",
		"2025-06-15T13:45:12.862+00:00": "2025-06-15T13:45:12.862Z",
	} {
		got, err := ParseTimestamp(in)
		if err != nil {
			t.Errorf("ParseTimestamp(%q): %v", in, err)
			continue
		}
		if got.Format(time.RFC3339Nano) != out || got.Location() != time.UTC {
			t.Errorf("ParseTimestamp(%q) = %s, want %s", in, got.Format(time.RFC3339Nano), out)
		}
	}
}

func TestTypedValue(t *testing.T) {
	for in, out := range map[string]any{
		"true": true, "false": false, "933": int64(933), "-90": int64(-90), "0": int64(0),
		"0.0": 0.0, "1.345": 1.345, "1e3": 1000.0, "007": "007", "NaN": "NaN", "Inf": "Inf",
		"0x10": "0x10", "": "", "TRUE": "TRUE", "9223372036854775808": 9223372036854775808.0,
		"00-14-22-01-23-45": "00-14-22-01-23-45", "0.5": 0.5, "-0.5": -0.5,
	} {
		if got := TypedValue(in); got != out {
			t.Errorf("TypedValue(%q) = %#v, want %#v", in, got, out)
		}
	}
}

// A decoded sample passes the shared validation when its time is filled.
func TestValidates(t *testing.T) {
	p, err := Decode(query(t, `/?id=902064&lat=42.06288&lon=-88.23412&timestamp=2016-01-27T18%3A55%3A47Z&hdop=6.0&altitude=224.0&speed=0.0`), "", nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Sample.Validate(time.Date(2016, 1, 28, 0, 0, 0, 0, time.UTC)); err != nil {
		t.Error(err)
	}
}
