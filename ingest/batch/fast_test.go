package batch

import (
	"bytes"
	"encoding/json"
	"reflect"
	"testing"
)

// slowWire is what encoding/json makes of raw, the reference for decodeFast.
func slowWire(raw []byte) (fields, bool) {
	var w Wire
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&w); err != nil || dec.More() {
		return fields{}, false
	}
	return w.fields(), true
}

func TestFastPathTakesTheCommonShape(t *testing.T) {
	for _, raw := range []string{
		`{"time":"2026-03-01T10:00:00.5Z","lat":51.5,"lon":-0.1,"speed":4.2,"heading":270,"satellites":11,"dose_rate":0.12,"counts":3,"count_interval":5}`,
		`{ "time" : 1772359200000 , "lat":-0.0, "lon":1e-3, "gps_valid":false, "rad_valid":null, "attributes":{"k":[1,{"x":"a\"b"}],"n":null} }`,
		`{}`,
	} {
		fast, ok := decodeFast([]byte(raw))
		if !ok {
			t.Fatalf("fast path refused %s", raw)
		}
		slow, sok := slowWire([]byte(raw))
		if !sok || !reflect.DeepEqual(fast, slow) {
			t.Fatalf("%s:\nfast %+v\nslow %+v", raw, fast, slow)
		}
	}
	for _, raw := range []string{
		`{"LAT":1}`, `{"lat":"1"}`, `{"lat":1e999}`, `{"satellites":1.5}`, `{"t\u0069me":1}`, `{"lat":01}`,
		`{"bogus":1}`, `{"lat":1} x`, `{"attributes":{"a":1},"attributes":{"b":2}}`, `{"time":"caf\u00e9"}`,
	} {
		if _, ok := decodeFast([]byte(raw)); ok {
			t.Errorf("fast path took %s, which encoding/json must decide", raw)
		}
	}
}

// Whenever the fast path answers, encoding/json gives the same result.
func FuzzFastMatchesEncodingJSON(f *testing.F) {
	for _, s := range []string{
		`{"time":"2026-03-01T10:00:00Z","lat":51.5,"lon":-0.1,"dose_rate":0.12,"counts":3,"count_interval":5,"attributes":{"a":[1,{"b":null}]}}`,
		`{"lat":1,"lat":null,"satellites":-0,"gps_valid":true}`,
		`{"attributes":{"s":"\\\"","n":-1.5e3}}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		fast, ok := decodeFast(raw)
		if !ok {
			return
		}
		slow, sok := slowWire(raw)
		if !sok {
			t.Fatalf("fast path accepted what encoding/json refuses: %q", raw)
		}
		if !reflect.DeepEqual(fast, slow) {
			t.Fatalf("%q:\nfast %#v\nslow %#v", raw, fast, slow)
		}
	})
}

// ndjsonBenchBody is 100 samples of the common shape.
func ndjsonBenchBody() []byte {
	var body bytes.Buffer
	for range 100 {
		body.WriteString(`{"time":"2026-03-01T10:00:00Z","lat":51.95012,"lon":4.05123,"speed":8.3,"heading":90,"satellites":10,"dose_rate":0.11,"counts":4,"count_interval":5}` + "\n")
	}
	return body.Bytes()
}

func BenchmarkDecodeNDJSON(b *testing.B) {
	body := ndjsonBenchBody()
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		if _, err := Decode(body, true); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkDecodeSampleSlow is the baseline of BenchmarkDecodeSampleFast:
// the same sample through encoding/json.
func BenchmarkDecodeSampleSlow(b *testing.B) {
	raw := []byte(`{"time":"2026-03-01T10:00:00Z","lat":51.95012,"lon":4.05123,"speed":8.3,"heading":90,"satellites":10,"dose_rate":0.11,"counts":4,"count_interval":5}`)
	for b.Loop() {
		if _, err := decodeSlow(raw); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDecodeSampleFast(b *testing.B) {
	raw := []byte(`{"time":"2026-03-01T10:00:00Z","lat":51.95012,"lon":4.05123,"speed":8.3,"heading":90,"satellites":10,"dose_rate":0.11,"counts":4,"count_interval":5}`)
	for b.Loop() {
		if _, err := decodeOne(raw); err != nil {
			b.Fatal(err)
		}
	}
}

// Whenever plainQuoted answers, encoding/json decodes the same string.
func FuzzPlainQuotedMatchesEncodingJSON(f *testing.F) {
	for _, s := range []string{`"2026-03-01T10:00:00Z"`, `"a\"b"`, `"\u00e9"`, `"x`, `""`, "\"caf\xc3\xa9\""} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		got, ok := plainQuoted(raw)
		if !ok {
			return
		}
		var want string
		if err := json.Unmarshal(raw, &want); err != nil {
			t.Fatalf("plainQuoted took %q, which encoding/json refuses: %v", raw, err)
		}
		if string(got) != want {
			t.Fatalf("%q: plainQuoted %q, encoding/json %q", raw, got, want)
		}
	})
}
