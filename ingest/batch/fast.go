package batch

import (
	"bytes"
	"encoding/json"
	"strconv"
)

// decodeFast decodes the common shape of a sample — a flat object with the
// documented keys, numbers, booleans, plain strings and an attributes
// object — about an order of magnitude faster than encoding/json. It
// reports ok=false for anything else (escapes, keys in other case, unknown
// keys, wrong types, out-of-range numbers, trailing data), and the caller
// then decodes with encoding/json, which has the last word on every
// unusual input and on every error message. A differential fuzz test
// checks that both agree whenever the fast path answers.
func decodeFast(raw []byte) (w fields, ok bool) {
	p := fastParser{b: raw}
	p.space()
	if !p.eat('{') {
		return w, false
	}
	p.space()
	if p.eat('}') {
		return w, p.end()
	}
	for {
		key, ok := p.plainString()
		if !ok {
			return w, false
		}
		p.space()
		if !p.eat(':') {
			return w, false
		}
		p.space()
		if !p.field(&w, key) {
			return w, false
		}
		p.space()
		if p.eat(',') {
			p.space()
			continue
		}
		if p.eat('}') {
			return w, p.end()
		}
		return w, false
	}
}

type fastParser struct {
	b []byte
	i int
}

func (p *fastParser) space() {
	for p.i < len(p.b) {
		switch p.b[p.i] {
		case ' ', '\t', '\n', '\r':
			p.i++
		default:
			return
		}
	}
}

func (p *fastParser) eat(c byte) bool {
	if p.i < len(p.b) && p.b[p.i] == c {
		p.i++
		return true
	}
	return false
}

// end reports whether only white space follows.
func (p *fastParser) end() bool {
	p.space()
	return p.i == len(p.b)
}

// plainString reads a string without escapes or control characters.
func (p *fastParser) plainString() ([]byte, bool) {
	if !p.eat('"') {
		return nil, false
	}
	start := p.i
	for p.i < len(p.b) {
		c := p.b[p.i]
		switch {
		case c == '"':
			s := p.b[start:p.i]
			p.i++
			return s, true
		case c == '\\' || c < 0x20 || c >= 0x80:
			return nil, false // escapes and non-ASCII: leave to encoding/json
		}
		p.i++
	}
	return nil, false
}

func (p *fastParser) literal(word string) bool {
	if bytes.HasPrefix(p.b[p.i:], []byte(word)) {
		p.i += len(word)
		return true
	}
	return false
}

// number reads a JSON number (RFC 8259 grammar) and returns its text;
// integer reports whether it has no fraction or exponent.
func (p *fastParser) number() (text []byte, integer bool, ok bool) {
	start := p.i
	p.eat('-')
	switch {
	case p.eat('0'):
	case p.i < len(p.b) && p.b[p.i] >= '1' && p.b[p.i] <= '9':
		p.digits()
	default:
		return nil, false, false
	}
	integer = true
	if p.eat('.') {
		integer = false
		if !p.digits() {
			return nil, false, false
		}
	}
	if p.i < len(p.b) && (p.b[p.i] == 'e' || p.b[p.i] == 'E') {
		integer = false
		p.i++
		if !p.eat('+') {
			p.eat('-')
		}
		if !p.digits() {
			return nil, false, false
		}
	}
	return p.b[start:p.i], integer, true
}

func (p *fastParser) digits() bool {
	start := p.i
	for p.i < len(p.b) && p.b[p.i] >= '0' && p.b[p.i] <= '9' {
		p.i++
	}
	return p.i > start
}

// float reads a number into *dst and sets bit in *has, or null, which
// clears bit (as encoding/json sets a pointer to nil).
func (p *fastParser) float(has *uint32, bit uint32, dst *float64) bool {
	if p.literal("null") {
		*has &^= bit
		*dst = 0
		return true
	}
	text, _, ok := p.number()
	if !ok {
		return false
	}
	v, err := strconv.ParseFloat(string(text), 64)
	if err != nil {
		return false // out of range: encoding/json words the error
	}
	*dst = v
	*has |= bit
	return true
}

func (p *fastParser) boolean(has *uint32, bit uint32, dst *bool) bool {
	var v bool
	switch {
	case p.literal("null"):
		*has &^= bit
		*dst = false
		return true
	case p.literal("true"):
		v = true
	case p.literal("false"):
	default:
		return false
	}
	*dst = v
	*has |= bit
	return true
}

// skipObject moves past one object or array (starting at p.i) and
// returns its bytes; encoding/json validates them afterwards.
func (p *fastParser) skipObject() ([]byte, bool) {
	start, depth := p.i, 0
	for p.i < len(p.b) {
		switch p.b[p.i] {
		case '"':
			for p.i++; p.i < len(p.b) && p.b[p.i] != '"'; p.i++ {
				if p.b[p.i] == '\\' {
					p.i++
				}
			}
		case '{', '[':
			depth++
		case '}', ']':
			depth--
			if depth == 0 {
				p.i++
				return p.b[start:p.i], true
			}
		}
		p.i++
	}
	return nil, false
}

// field decodes the value of one known key into w.
func (p *fastParser) field(w *fields, key []byte) bool {
	switch string(key) {
	case "time":
		start := p.i
		if p.literal("null") {
			w.time = json.RawMessage(p.b[start:p.i])
			return true
		}
		if p.i < len(p.b) && p.b[p.i] == '"' {
			if _, ok := p.plainString(); !ok {
				return false
			}
		} else if _, _, ok := p.number(); !ok {
			return false
		}
		w.time = json.RawMessage(p.b[start:p.i])
		return true
	case "lat":
		return p.float(&w.has, hasLat, &w.lat)
	case "lon":
		return p.float(&w.has, hasLon, &w.lon)
	case "gps_valid":
		return p.boolean(&w.has, hasGPSValid, &w.gpsValid)
	case "altitude":
		return p.float(&w.has, hasAltitude, &w.altitude)
	case "speed":
		return p.float(&w.has, hasSpeed, &w.speed)
	case "heading":
		return p.float(&w.has, hasHeading, &w.heading)
	case "hdop":
		return p.float(&w.has, hasHDOP, &w.hdop)
	case "accuracy":
		return p.float(&w.has, hasAccuracy, &w.accuracy)
	case "satellites":
		if p.literal("null") {
			w.has &^= hasSatellites
			w.satellites = 0
			return true
		}
		text, integer, ok := p.number()
		if !ok || !integer {
			return false
		}
		n, err := strconv.Atoi(string(text))
		if err != nil {
			return false
		}
		w.satellites = n
		w.has |= hasSatellites
		return true
	case "dose_rate":
		return p.float(&w.has, hasDoseRate, &w.doseRate)
	case "cpm":
		return p.float(&w.has, hasCPM, &w.cpm)
	case "counts":
		return p.float(&w.has, hasCounts, &w.counts)
	case "count_interval":
		return p.float(&w.has, hasCountInterval, &w.countInterval)
	case "rad_valid":
		return p.boolean(&w.has, hasRadValid, &w.radValid)
	case "battery":
		return p.float(&w.has, hasBattery, &w.battery)
	case "attributes":
		if p.literal("null") {
			w.attributes = nil
			return true
		}
		if p.i >= len(p.b) || p.b[p.i] != '{' || w.attributes != nil {
			return false // a repeated key merges in encoding/json: leave it to it
		}
		sub, ok := p.skipObject()
		if !ok {
			return false
		}
		var m map[string]any
		if err := json.Unmarshal(sub, &m); err != nil {
			return false
		}
		w.attributes = m
		return true
	}
	return false // unknown key, or a known one in another case
}
