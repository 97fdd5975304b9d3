package traccar

import (
	"errors"
	"math"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/radtrack/radtrack/sample"
)

// The position object quoted in traccar/traccar issue #4529 (forward.url
// with json, Traccar 4.x, dates "+0000"), wrapped the way PositionData
// serialises it.
const issue4529 = `{"position":{"id":0,"attributes":{"batteryLevel":53,"distance":0,"totalDistance":5922.96,"motion":false},"deviceId":1,"type":null,"protocol":"osmand","serverTime":"2020-05-07T09:48:18.770+0000","deviceTime":"2020-05-07T09:48:15.000+0000","fixTime":"2020-05-07T09:48:15.000+0000","outdated":false,"valid":true,"latitude":21.1416013,"longitude":99.6410078,"altitude":0,"speed":0,"course":90,"address":null,"accuracy":2200,"network":null},"device":{"id":1,"attributes":{},"groupId":0,"name":"phone","uniqueId":"440310","status":"online","lastUpdate":"2020-05-07T09:48:18.770+0000","positionId":0,"geofenceIds":[],"phone":"","model":"","contact":"","category":null,"disabled":false}}`

// A Traccar 6 body (Jackson dates "+00:00") for a hardware tracker whose
// position carries satellites/HDOP and a dose forwarded from a Traccar
// Client query parameter.
const traccar6 = `{"position":{"id":0,"attributes":{"sat":9,"hdop":0.9,"batteryLevel":87.5,"ignition":true,"doseRate":0.12,"cpm":40,"io239":1,"distance":12.34,"totalDistance":1.2345678E7,"motion":true},"deviceId":7,"protocol":"teltonika","serverTime":"2025-07-25T19:04:41.123+00:00","deviceTime":"2025-07-25T19:04:40.000+00:00","fixTime":"2025-07-25T19:04:39.000+00:00","outdated":false,"valid":true,"latitude":34.482648,"longitude":136.163018,"altitude":578.7,"speed":27.0,"course":181.5,"address":null,"accuracy":0.0,"network":null,"geofenceIds":null},"device":{"id":7,"attributes":{},"groupId":0,"calendarId":0,"name":"Van 3","uniqueId":"864636060000000","status":"online","lastUpdate":"2025-07-25T19:04:41.123+00:00","positionId":0,"phone":null,"model":null,"contact":null,"category":"van","disabled":false,"expirationTime":null}}`

func TestIssue4529(t *testing.T) {
	p, err := Decode([]byte(issue4529))
	if err != nil {
		t.Fatal(err)
	}
	s := p.Sample
	if s.DeviceUID != "440310" || s.DeviceID != 0 || p.DeviceName != "phone" || s.Source != sample.SourceTraccar {
		t.Errorf("uid %q name %q source %q", s.DeviceUID, p.DeviceName, s.Source)
	}
	if !s.Time.Equal(time.Date(2020, 5, 7, 9, 48, 15, 0, time.UTC)) || s.Time.Location() != time.UTC {
		t.Errorf("time %v", s.Time)
	}
	if !p.HasFix || !s.GPSValid || s.Lat != 21.1416013 || s.Lon != 99.6410078 || s.Altitude != 0 || s.Speed != 0 || s.Heading != 90 || s.Accuracy != 2200 {
		t.Errorf("%+v", s)
	}
	if s.Battery != 53 || s.Satellites != -1 || sample.Has(s.HDOP) || sample.Has(s.DoseRate) || sample.Has(s.CPM) {
		t.Errorf("%+v", s)
	}
	want := map[string]any{"distance": int64(0), "totalDistance": 5922.96, "motion": false,
		"traccar_protocol": "osmand", "traccar_device_id": int64(1), "traccar_server_time": "2020-05-07T09:48:18.77Z"}
	if !reflect.DeepEqual(s.Attributes, want) {
		t.Errorf("attributes %#v\nwant %#v", s.Attributes, want)
	}
	if err := s.Validate(time.Date(2020, 5, 7, 10, 0, 0, 0, time.UTC)); err != nil {
		t.Error(err)
	}
}

func TestTraccar6(t *testing.T) {
	p, err := Decode([]byte(traccar6))
	if err != nil {
		t.Fatal(err)
	}
	s := p.Sample
	if s.DeviceUID != "864636060000000" || p.DeviceName != "Van 3" {
		t.Errorf("uid %q name %q", s.DeviceUID, p.DeviceName)
	}
	// fixTime wins over deviceTime.
	if !s.Time.Equal(time.Date(2025, 7, 25, 19, 4, 39, 0, time.UTC)) {
		t.Errorf("time %v", s.Time)
	}
	if !s.GPSValid || s.Lat != 34.482648 || s.Lon != 136.163018 || s.Altitude != 578.7 || s.Heading != 181.5 {
		t.Errorf("%+v", s)
	}
	if math.Abs(s.Speed-27.0*1852/3600) > 1e-12 || s.Speed != sample.KnotsToMS(27) {
		t.Errorf("speed %v m/s, want 27 kn = %v", s.Speed, 27.0*1852/3600)
	}
	if sample.Has(s.Accuracy) {
		t.Errorf("accuracy 0.0 means unknown in Traccar, got %v", s.Accuracy)
	}
	if s.Satellites != 9 || s.HDOP != 0.9 || s.Battery != 87.5 || s.DoseRate != 0.12 || s.CPM != 40 {
		t.Errorf("sats %d hdop %v batt %v dose %v cpm %v", s.Satellites, s.HDOP, s.Battery, s.DoseRate, s.CPM)
	}
	if sample.Has(s.Counts) {
		t.Error("counts must stay absent")
	}
	want := map[string]any{"ignition": true, "io239": int64(1), "distance": 12.34, "totalDistance": 1.2345678e7, "motion": true,
		"traccar_protocol": "teltonika", "traccar_device_id": int64(7), "traccar_server_time": "2025-07-25T19:04:41.123Z"}
	if !reflect.DeepEqual(s.Attributes, want) {
		t.Errorf("attributes %#v\nwant %#v", s.Attributes, want)
	}
}

func TestFixFlags(t *testing.T) {
	for _, c := range []struct {
		edit             func(string) string
		hasFix, gpsValid bool
	}{
		{func(b string) string { return b }, true, true},
		{func(b string) string { return strings.Replace(b, `"valid":true`, `"valid":false`, 1) }, true, false},
		{func(b string) string { return strings.Replace(b, `"outdated":false`, `"outdated":true`, 1) }, false, false},
		{func(b string) string {
			return strings.Replace(strings.Replace(b, `"latitude":34.482648`, `"latitude":0`, 1), `"longitude":136.163018`, `"longitude":0.0`, 1)
		}, false, false},
	} {
		p, err := Decode([]byte(c.edit(traccar6)))
		if err != nil {
			t.Fatal(err)
		}
		if p.HasFix != c.hasFix || p.Sample.GPSValid != c.gpsValid {
			t.Errorf("HasFix/GPSValid = %v/%v, want %v/%v", p.HasFix, p.Sample.GPSValid, c.hasFix, c.gpsValid)
		}
	}
	// No fixTime: deviceTime; neither: zero time for the caller to fill.
	p, err := Decode([]byte(strings.Replace(traccar6, `"fixTime":"2025-07-25T19:04:39.000+00:00"`, `"fixTime":null`, 1)))
	if err != nil || !p.Sample.Time.Equal(time.Date(2025, 7, 25, 19, 4, 40, 0, time.UTC)) {
		t.Errorf("deviceTime fallback: %v %v", p.Sample.Time, err)
	}
	p, err = Decode([]byte(`{"position":{"latitude":1,"longitude":2,"valid":true,"fixTime":1752939428000},"device":{"uniqueId":"x"}}`))
	if err != nil || !p.Sample.Time.Equal(time.Date(2025, 7, 19, 15, 37, 8, 0, time.UTC)) || !p.Sample.GPSValid {
		t.Errorf("epoch ms: %+v %v", p.Sample, err)
	}
	p, err = Decode([]byte(`{"position":{},"device":{"uniqueId":"x"}}`))
	if err != nil || !p.Sample.Time.IsZero() || p.HasFix || sample.Has(p.Sample.Speed) {
		t.Errorf("empty position: %+v %v", p.Sample, err)
	}
}

func TestErrors(t *testing.T) {
	for body, field := range map[string]string{
		`{"position":{"latitude":1}}`:                                    "device.uniqueId",
		`{"position":{"latitude":1},"device":{"uniqueId":" "}}`:          "device.uniqueId",
		`{"device":{"uniqueId":"x"}}`:                                    "position",
		`{"position":{"fixTime":"yesterday"},"device":{"uniqueId":"x"}}`: "position.fixTime",
		`{"position":{"fixTime":true},"device":{"uniqueId":"x"}}`:        "position.fixTime",
		// Year 1 is not "no time" (which the pipeline stamps on arrival).
		`{"position":{"fixTime":"0001-01-01T00:00:00.000+00:00"},"device":{"uniqueId":"x"}}`:    "position.fixTime",
		`{"position":{"deviceTime":"0001-01-01T01:00:00.000+01:00"},"device":{"uniqueId":"x"}}`: "position.deviceTime",
		`{"position":{"latitude":91,"longitude":1},"device":{"uniqueId":"x"}}`:                  "position.latitude",
		`{"position":{"latitude":1,"longitude":-181},"device":{"uniqueId":"x"}}`:                "position.longitude",
		`{"position":{"speed":-1},"device":{"uniqueId":"x"}}`:                                   "position.speed",
		`{"position":{"attributes":{"sat":"many"}},"device":{"uniqueId":"x"}}`:                  "sat",
		`{"position":{"attributes":{"hdop":"x"}},"device":{"uniqueId":"x"}}`:                    "hdop",
		`{"position":{"attributes":{"doseRate":"hot"}},"device":{"uniqueId":"x"}}`:              "doseRate",
		`{"position":{"attributes":{"cpm":-3}},"device":{"uniqueId":"x"}}`:                      "cpm",
	} {
		_, err := Decode([]byte(body))
		var fe *sample.FieldError
		if !errors.As(err, &fe) || fe.Field != field {
			t.Errorf("Decode(%s) = %v, want FieldError %s", body, err, field)
		}
	}
	for _, body := range []string{``, `[]`, `{"position":`, `{"position":{"latitude":"1"},"device":{"uniqueId":"x"}}`, `{} {}`} {
		if _, err := Decode([]byte(body)); err == nil {
			t.Errorf("Decode(%q): want an error", body)
		}
	}
}
