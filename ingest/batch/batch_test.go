package batch

import (
	"errors"
	"math"
	"testing"
	"time"
)

func TestDecodeArrayNDJSONAndSingleObject(t *testing.T) {
	obj := `{"time":"2026-03-01T10:00:00.5Z","lat":51.5,"lon":-0.1,"altitude":12,"speed":4.2,"heading":270,"hdop":0.9,"accuracy":3,"satellites":11,"dose_rate":0.12,"cpm":40,"counts":3,"count_interval":5,"battery":87,"attributes":{"ignition":true}}`
	for name, tc := range map[string]struct {
		body   string
		ndjson bool
	}{
		"array":  {"[" + obj + "," + obj + "]", false},
		"ndjson": {obj + "\r\n\n" + obj + "\n", true},
	} {
		d, err := Decode([]byte(tc.body), tc.ndjson)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if len(d.Samples) != 2 || len(d.Errors) != 0 || d.Index[1] != 1 {
			t.Fatalf("%s: %d samples, errors %v", name, len(d.Samples), d.Errors)
		}
		s := d.Samples[0]
		want := time.Date(2026, 3, 1, 10, 0, 0, 500e6, time.UTC)
		if !s.Time.Equal(want) || s.Lat != 51.5 || s.Lon != -0.1 || !s.GPSValid || s.Altitude != 12 || s.Speed != 4.2 ||
			s.Heading != 270 || s.HDOP != 0.9 || s.Accuracy != 3 || s.Satellites != 11 || s.DoseRate != 0.12 ||
			s.CPM != 40 || s.Counts != 3 || s.CountInterval != 5 || s.Battery != 87 || !s.RadValid ||
			s.Attributes["ignition"] != true || s.Source != "http" {
			t.Fatalf("%s: decoded %+v", name, s)
		}
	}
	d, err := Decode([]byte(`{"lat":1,"lon":2}`), false)
	if err != nil || len(d.Samples) != 1 || !d.Samples[0].Time.IsZero() || !math.IsNaN(d.Samples[0].DoseRate) {
		t.Fatalf("single object without time: %+v %v", d, err)
	}
}

// Year 1 is refused, not decoded as the zero time, which means "no time"
// and would be stamped with the receive time.
func TestDecodeRefusesYearOne(t *testing.T) {
	for _, raw := range []string{`"0001-01-01T00:00:00Z"`, `"0001-01-01T02:00:00+02:00"`} {
		for _, ndjson := range []bool{false, true} {
			body := `{"time":` + raw + `,"lat":1,"lon":1,"dose_rate":0.1}`
			if !ndjson {
				body = "[" + body + "]"
			}
			d, err := Decode([]byte(body), ndjson)
			if err != nil || len(d.Samples) != 0 || len(d.Errors) != 1 || d.Errors[0].Field != "time" {
				t.Errorf("time %s (ndjson %v): %+v %v, want the sample refused naming time", raw, ndjson, d, err)
			}
		}
	}
}

func TestDecodeTimes(t *testing.T) {
	want := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	for _, raw := range []string{`"2026-03-01T10:00:00Z"`, `"2026-03-01T11:00:00+01:00"`, `1772359200`, `1772359200000`} {
		d, err := Decode([]byte(`[{"time":`+raw+`,"lat":0,"lon":0}]`), false)
		if err != nil || len(d.Samples) != 1 || !d.Samples[0].Time.Equal(want) {
			t.Errorf("time %s: %+v %v", raw, d, err)
		}
	}
}

func TestDecodePerSampleErrors(t *testing.T) {
	body := `[{"lat":1,"lon":2},{"lat":"x","lon":2},{"lat":1},{"time":"yesterday"},{"counts":3},{"bogus":1},{"satellites":-2},{"gps_valid":true}]`
	d, err := Decode([]byte(body), false)
	if err != nil {
		t.Fatal(err)
	}
	want := []struct {
		index int
		field string
	}{{1, "lat"}, {2, "lat"}, {3, "time"}, {4, "count_interval"}, {5, "bogus"}, {6, "satellites"}, {7, "gps_valid"}}
	if len(d.Samples) != 1 || len(d.Errors) != len(want) {
		t.Fatalf("samples %d errors %v", len(d.Samples), d.Errors)
	}
	for i, w := range want {
		if e := d.Errors[i]; e.Index != w.index || e.Field != w.field {
			t.Errorf("error %d = %+v, want index %d field %s", i, e, w.index, w.field)
		}
	}
}

func TestDecodeSyntaxErrorsNameLineAndOffset(t *testing.T) {
	for _, tc := range []struct {
		body   string
		ndjson bool
		line   int
		offset int64
	}{
		{"[{\"lat\":1,\n\"lon\":}]", false, 2, 17},
		{"{\"lat\":1}\n{\"lat\":\n", true, 2, 17},
		{"{\"lat\":1}\n[1,2]\n", true, 2, 10},
		{"", false, 1, 0},
	} {
		_, err := Decode([]byte(tc.body), tc.ndjson)
		var se *SyntaxError
		if !errors.As(err, &se) || se.Line != tc.line || se.Offset != tc.offset {
			t.Errorf("%q: err %v, want line %d offset %d", tc.body, err, tc.line, tc.offset)
		}
	}
}

func TestDecodeNonObjectElements(t *testing.T) {
	d, err := Decode([]byte(`[1,{"lat":1,"lon":2},"x"]`), false)
	if err != nil || len(d.Samples) != 1 || len(d.Errors) != 2 || d.Errors[0].Index != 0 || d.Errors[1].Index != 2 || d.Errors[1].Field != "sample" {
		t.Fatalf("%+v %v", d, err)
	}
}

func FuzzDecode(f *testing.F) {
	f.Add([]byte(`[{"time":"2026-03-01T10:00:00Z","lat":51.5,"lon":-0.1,"dose_rate":0.12,"counts":3,"count_interval":5}]`), false)
	f.Add([]byte("{\"lat\":1,\"lon\":2}\n{\"cpm\":40}\n"), true)
	f.Fuzz(func(t *testing.T, body []byte, ndjson bool) {
		d, err := Decode(body, ndjson)
		if err != nil {
			var se *SyntaxError
			if !errors.As(err, &se) || se.Offset < 0 || se.Offset > int64(len(body)) || se.Line < 1 {
				t.Fatalf("bad error %#v", err)
			}
			return
		}
		if len(d.Samples) != len(d.Index) {
			t.Fatalf("%d samples but %d indexes", len(d.Samples), len(d.Index))
		}
	})
}
