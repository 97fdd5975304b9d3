package sample

import (
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"
	"unicode/utf8"
)

// What every store can hold, decided once for all of them (and for every
// door: the HTTP batch, the Traccar forwarder, OsmAnd, bGeigie, imports,
// and the names and comments people type):
//
//   - Text is valid UTF-8 without U+0000. PostgreSQL's text and jsonb
//     cannot hold NUL at all ("\u0000 cannot be converted to text",
//     SQLSTATE 22P05; "invalid byte sequence for encoding UTF8: 0x00",
//     22021) and text refuses invalid UTF-8; jsonb refuses a lone surrogate
//     escape such as "\ud800", which valid UTF-8 cannot carry. The embedded
//     SQLite store could hold them, but the stores must agree, so such text
//     is refused, not stored on one store and refused on another.
//   - Numbers in attributes are finite: JSON (and so jsonb) has no NaN or
//     infinity, and jsonb refuses numbers beyond its numeric range.
//
// Refused, not rewritten: a replaced character would silently change what
// a device reported. The refusal names the field (400/422 with the field,
// e.g. "attributes.note" or "name"), so the sender can see what to fix.

// CheckText refuses text no store can hold; field names it in the error.
func CheckText(field, s string) error {
	if textOK(s) {
		return nil
	}
	if strings.IndexByte(s, 0) >= 0 {
		return &FieldError{field, "contains a NUL character (U+0000), which the database cannot store"}
	}
	return &FieldError{field, "is not valid UTF-8"}
}

// CheckValue walks a decoded JSON value (objects, arrays, strings, numbers,
// booleans, null, and the typed attribute values decoders produce) and
// refuses the first key or string CheckText refuses and any number JSON
// cannot carry, naming it by its path below field ("attributes.note",
// "attributes.list[2]"; with field "", from the top: "name"). When several
// are wrong, the smallest path is named, so the answer does not depend on
// map order.
func CheckValue(field string, v any) error {
	if storable(v) {
		return nil // the common case: no path strings built
	}
	return checkValue(field, v)
}

// storable is CheckValue's verdict without naming anything.
func storable(v any) bool {
	switch x := v.(type) {
	case string:
		return textOK(x)
	case float64:
		return !math.IsNaN(x) && !math.IsInf(x, 0)
	case map[string]any:
		for k, e := range x {
			if !textOK(k) || !scalarOK(e) && !storable(e) {
				return false
			}
		}
		return true
	case []any:
		for _, e := range x {
			if !scalarOK(e) && !storable(e) {
				return false
			}
		}
		return true
	case nil, bool, int, int64:
		return true
	}
	return false // anything else: let checkValue decide, naming it
}

// scalarOK is storable for the usual attribute values, without a call per
// value (attributes are checked for every sample); false for the rest.
func scalarOK(v any) bool {
	switch x := v.(type) {
	case string:
		return textOK(x)
	case bool, int64:
		return true
	case float64:
		return !math.IsNaN(x) && !math.IsInf(x, 0)
	}
	return false
}

// textOK is CheckText's verdict; ASCII, the usual case, in one pass.
func textOK(s string) bool {
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == 0:
			return false
		case c >= utf8.RuneSelf:
			return strings.IndexByte(s[i:], 0) < 0 && utf8.ValidString(s[i:])
		}
	}
	return true
}

func checkValue(field string, v any) error {
	switch x := v.(type) {
	case nil, bool, int, int8, int16, int32, int64, uint, uint8, uint16, uint32, uint64:
		return nil
	case string:
		return CheckText(field, x)
	case float64:
		return checkNumber(field, x)
	case float32:
		return checkNumber(field, float64(x))
	case json.Number:
		f, err := strconv.ParseFloat(x.String(), 64)
		if err != nil {
			return &FieldError{field, fmt.Sprintf("%q is not a number the database can store", x.String())}
		}
		return checkNumber(field, f)
	case map[string]any:
		var first *FieldError
		for k, e := range x {
			path := k
			if field != "" {
				path = field + "." + k
			}
			if err := CheckText(path, k); err != nil {
				first = smaller(first, err)
				continue
			}
			if first != nil && path >= first.Field {
				continue // cannot be named before the one found
			}
			if err := checkValue(path, e); err != nil {
				first = smaller(first, err)
			}
		}
		if first != nil {
			return first
		}
		return nil
	case []any:
		for i, e := range x {
			if err := checkValue(field+"["+strconv.Itoa(i)+"]", e); err != nil {
				return err
			}
		}
		return nil
	case []string:
		for i, e := range x {
			if err := CheckText(field+"["+strconv.Itoa(i)+"]", e); err != nil {
				return err
			}
		}
		return nil
	default:
		// Another type encodes through encoding/json, which refuses what
		// JSON cannot carry; stores then refuse it as a permanent error.
		return nil
	}
}

func checkNumber(field string, f float64) error {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return &FieldError{field, "must be a finite number"}
	}
	return nil
}

func smaller(have *FieldError, err error) *FieldError {
	fe := err.(*FieldError) // CheckText and CheckValue return nothing else
	if have == nil || fe.Field < have.Field {
		return fe
	}
	return have
}
