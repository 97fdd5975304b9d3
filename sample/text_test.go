package sample

import (
	"bytes"
	"encoding/json"
	"errors"
	"math"
	"testing"
	"time"
	"unicode/utf8"
)

func fieldOf(t *testing.T, err error) string {
	t.Helper()
	var fe *FieldError
	if !errors.As(err, &fe) {
		t.Fatalf("error %v is not a *FieldError", err)
	}
	return fe.Field
}

func TestCheckTextRefusesWhatNoStoreHolds(t *testing.T) {
	for _, ok := range []string{"", "van 7", "Größe ☢ 線量", "\u2028", "tab\tnewline\n"} {
		if err := CheckText("name", ok); err != nil {
			t.Errorf("CheckText(%q) = %v, want nil", ok, err)
		}
	}
	for _, bad := range []string{"a\x00b", "\x00", "latin1 \xe9", "\xed\xa0\x80" /* a surrogate in UTF-8 form */} {
		err := CheckText("name", bad)
		if err == nil || fieldOf(t, err) != "name" {
			t.Errorf("CheckText(%q) = %v, want a refusal naming name", bad, err)
		}
	}
}

func TestCheckValueNamesThePath(t *testing.T) {
	cases := []struct {
		v     any
		field string // "" = storable
	}{
		{map[string]any{"note": "ok", "n": 1.5, "i": int64(3), "b": true, "nil": nil}, ""},
		{map[string]any{"note": "a\x00b"}, "attributes.note"},
		{map[string]any{"ok": "x", "list": []any{"a", map[string]any{"deep": "\x00"}}}, "attributes.list[1].deep"},
		{map[string]any{"k\x00ey": "v"}, "attributes.k\x00ey"},
		{map[string]any{"nan": math.NaN()}, "attributes.nan"},
		{map[string]any{"inf": math.Inf(-1)}, "attributes.inf"},
		{map[string]any{"num": json.Number("1e999999")}, "attributes.num"},
		{map[string]any{"num": json.Number("12.5")}, ""},
		{map[string]any{"s": []string{"a", "b\x00"}}, "attributes.s[1]"},
		// Several bad: the smallest path, whatever the map order.
		{map[string]any{"z": "\x00", "b": "\x00", "m": map[string]any{"a": "\x00"}}, "attributes.b"},
	}
	for _, c := range cases {
		for range 20 { // map order varies between runs of the loop
			err := CheckValue("attributes", c.v)
			if c.field == "" {
				if err != nil {
					t.Fatalf("CheckValue(%v) = %v, want nil", c.v, err)
				}
				continue
			}
			if err == nil || fieldOf(t, err) != c.field {
				t.Fatalf("CheckValue(%#v) = %v, want a refusal naming %q", c.v, err, c.field)
			}
		}
	}
}

func TestValidateRefusesUnstorableAttributes(t *testing.T) {
	now := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	s := New()
	s.Time = now.Add(-time.Minute)
	s.Attributes = map[string]any{"note": "fine"}
	if err := s.Validate(now); err != nil {
		t.Fatal(err)
	}
	s.Attributes["note"] = "NUL\x00here"
	if err := s.Validate(now); err == nil || fieldOf(t, err) != "attributes.note" ||
		err.Error() != "attributes.note: contains a NUL character (U+0000), which the database cannot store" {
		t.Fatalf("Validate = %v, want the NUL refused naming attributes.note", err)
	}
}

// FuzzCheckValue: whatever JSON a device sends as attributes, either
// CheckValue refuses it, or its JSON encoding (what both stores keep) is
// valid UTF-8 without a NUL escape — the only things PostgreSQL's jsonb
// refuses from encoding/json's output.
func FuzzCheckValue(f *testing.F) {
	for _, seed := range []string{`{"a":"b"}`, `{"a":"\u0000"}`, `{"a":["\ud800"]}`, `{"\u0000":1}`, `{"a":{"b":[1,2,{"c":"é"}]}}`, `{"a":"\xff"}`} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		var v map[string]any
		if json.Unmarshal(body, &v) != nil {
			return
		}
		// Decoded JSON is valid UTF-8 (bad bytes become U+FFFD); keep the
		// fuzzer's raw bytes in one value so invalid UTF-8 is covered too.
		if !utf8.Valid(body) {
			v["raw"] = string(body)
		}
		if CheckValue("attributes", v) != nil {
			return
		}
		enc, err := json.Marshal(v)
		if err != nil {
			t.Fatalf("CheckValue passed %q but it does not encode: %v", body, err)
		}
		if bytes.Contains(enc, []byte(`\u0000`)) || !utf8.Valid(enc) {
			t.Fatalf("CheckValue passed %q, whose encoding %q jsonb refuses", body, enc)
		}
	})
}
