package live

import (
	"encoding/json"
	"math"
	"strconv"
	"time"
	"unicode/utf8"
)

// Frames are built by hand with append functions: a positions frame for
// 10k vehicles is encoded up to ten times a second per connection, and
// encoding/json with a struct per vehicle costs several times more. The
// format is specified in PROTOCOL.md; keep the two in step.

// ProtocolVersion is the "v" of every frame.
const ProtocolVersion = 1

// Decimal places on the wire: 1e-6° is 0.1 m, plenty for a map marker.
const (
	lonLatDecimals  = 6
	speedDecimals   = 1
	headingDecimals = 0
	batteryDecimals = 0 // whole percent: what a panel shows
)

func frameStart(b []byte, typ string) []byte {
	b = append(b, `{"v":1,"type":"`...)
	b = append(b, typ...)
	return append(b, '"')
}

// appendPositionsFrame encodes an incremental (full=false) or complete
// (full=true, with uid and name columns) positions frame.
func appendPositionsFrame(b []byte, ps []Position, full bool) []byte {
	b = frameStart(b, "positions")
	b = append(b, `,"full":`...)
	b = strconv.AppendBool(b, full)
	b = append(b, `,"positions":`...)
	b = appendColumns(b, ps, full)
	return append(b, '}')
}

// appendColumns encodes positions column by column: the keys appear once
// per frame instead of once per vehicle.
func appendColumns(b []byte, ps []Position, meta bool) []byte {
	col := func(b []byte, name string, first bool, f func(b []byte, p *Position) []byte) []byte {
		if !first {
			b = append(b, ',')
		}
		b = append(b, '"')
		b = append(b, name...)
		b = append(b, `":[`...)
		for i := range ps {
			if i > 0 {
				b = append(b, ',')
			}
			b = f(b, &ps[i])
		}
		return append(b, ']')
	}
	b = append(b, '{')
	b = col(b, "id", true, func(b []byte, p *Position) []byte { return strconv.AppendInt(b, p.DeviceID, 10) })
	b = col(b, "t", false, func(b []byte, p *Position) []byte { return appendUnixMilli(b, p.Time) })
	b = col(b, "lon", false, func(b []byte, p *Position) []byte { return appendFloat(b, p.Lon, lonLatDecimals) })
	b = col(b, "lat", false, func(b []byte, p *Position) []byte { return appendFloat(b, p.Lat, lonLatDecimals) })
	b = col(b, "dose", false, func(b []byte, p *Position) []byte { return appendFloat(b, p.DoseRate, -1) })
	b = col(b, "spd", false, func(b []byte, p *Position) []byte { return appendFloat(b, p.Speed, speedDecimals) })
	b = col(b, "hdg", false, func(b []byte, p *Position) []byte { return appendFloat(b, p.Heading, headingDecimals) })
	b = col(b, "bat", false, func(b []byte, p *Position) []byte { return appendFloat(b, p.Battery, batteryDecimals) })
	for i := range ps {
		if ps[i].Alarm { // the column is sent only when some vehicle is in alarm
			b = col(b, "alarm", false, func(b []byte, p *Position) []byte {
				if p.Alarm {
					return append(b, '1')
				}
				return append(b, '0')
			})
			break
		}
	}
	if meta {
		b = col(b, "uid", false, func(b []byte, p *Position) []byte { return appendJSONString(b, p.UID) })
		b = col(b, "name", false, func(b []byte, p *Position) []byte { return appendJSONString(b, p.Name) })
	}
	return append(b, '}')
}

// alarmFrame encodes one alarm event; the hub encodes it once and shares
// the bytes among all connections.
func alarmFrame(ev AlarmEvent) []byte {
	b := make([]byte, 0, 160+len(ev.Payload))
	kind, idKey := "alarm", "alarm"
	switch ev.Kind {
	case KindIncident:
		kind, idKey = KindIncident, KindIncident
	case KindSource: // an incident's estimate: named by its incident
		kind, idKey = KindSource, KindIncident
	}
	b = frameStart(b, kind)
	b = append(b, `,"offset":"`...)
	b = strconv.AppendInt(b, ev.Offset, 10)
	b = append(b, `","event":`...)
	b = appendJSONString(b, ev.Type)
	b = append(b, `,"`...)
	b = append(b, idKey...)
	b = append(b, `_id":`...)
	b = strconv.AppendInt(b, ev.AlarmID, 10)
	b = append(b, `,"device_id":`...)
	b = strconv.AppendInt(b, ev.DeviceID, 10)
	b = append(b, `,"time":"`...)
	b = ev.Time.UTC().AppendFormat(b, time.RFC3339Nano)
	b = append(b, `","`...)
	b = append(b, kind...)
	b = append(b, `":`...)
	b = appendRaw(b, ev.Payload)
	return append(b, '}')
}

// KindSource marks an incident's source estimate (live/PROTOCOL.md
// "source"): AlarmID is the incident's id, DeviceID the device of its
// peak (scoped as the incident's frames), Payload the estimate.
const KindSource = "source"

// offsetFrame moves a viewer's offset to a log offset without an event: the
// events before it reached the viewer ahead of the log (hub_alarms.go).
func offsetFrame(off int64) []byte {
	b := frameStart(make([]byte, 0, 48), "offset")
	b = append(b, `,"offset":"`...)
	b = strconv.AppendInt(b, off, 10)
	return append(b, `"}`...)
}

// heartbeatFrame goes to a connection that was sent nothing for a while.
var heartbeatFrame = []byte(`{"v":1,"type":"heartbeat"}`)

// snapshot is the state a connection starts from, after connect or resume.
type snapshot struct {
	offset    int64
	resume    bool // answer to a resume request: "recovered" is sent
	recovered bool // the alarm events after offset follow; no alarm list
	alarms    []json.RawMessage
	incidents []json.RawMessage
	// withIncidents: the hub serves incidents (Config.OpenIncidents).
	withIncidents bool
	// sources are the incidents' stored estimates (Config.OpenSources),
	// withSources when the hub serves them.
	sources     []json.RawMessage
	withSources bool
	positions   []Position
}

func appendSnapshotFrame(b []byte, s snapshot) []byte {
	b = frameStart(b, "snapshot")
	b = append(b, `,"offset":"`...)
	b = strconv.AppendInt(b, s.offset, 10)
	b = append(b, '"')
	if s.resume {
		b = append(b, `,"recovered":`...)
		b = strconv.AppendBool(b, s.recovered)
	}
	if !s.recovered {
		b = appendRawList(append(b, `,"alarms":`...), s.alarms)
		if s.withIncidents {
			b = appendRawList(append(b, `,"incidents":`...), s.incidents)
		}
		if s.withSources {
			b = appendRawList(append(b, `,"sources":`...), s.sources)
		}
	}
	b = append(b, `,"positions":`...)
	b = appendColumns(b, s.positions, true)
	return append(b, '}')
}

// replyFrame answers a client request: ok, or error with a message. id is
// the client's request id, echoed verbatim when it is valid JSON.
func replyFrame(re string, id json.RawMessage, errMsg string) []byte {
	b := make([]byte, 0, 64+len(errMsg))
	if errMsg == "" {
		b = frameStart(b, "ok")
	} else {
		b = frameStart(b, "error")
	}
	if re != "" {
		b = append(b, `,"re":`...)
		b = appendJSONString(b, re)
	}
	if len(id) > 0 && json.Valid(id) {
		b = append(b, `,"id":`...)
		b = append(b, id...)
	}
	if errMsg != "" {
		b = append(b, `,"error":`...)
		b = appendJSONString(b, errMsg)
	}
	return append(b, '}')
}

func pongFrame(id json.RawMessage) []byte {
	b := frameStart(make([]byte, 0, 32), "pong")
	if len(id) > 0 && json.Valid(id) {
		b = append(b, `,"id":`...)
		b = append(b, id...)
	}
	return append(b, '}')
}

// appendRawList appends payloads as a JSON array.
func appendRawList(b []byte, list []json.RawMessage) []byte {
	b = append(b, '[')
	for i, raw := range list {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendRaw(b, raw)
	}
	return append(b, ']')
}

// appendRaw appends a payload from the server, or null if it is not JSON:
// one broken payload must not corrupt the frame around it.
func appendRaw(b []byte, raw json.RawMessage) []byte {
	if len(raw) == 0 || !json.Valid(raw) {
		return append(b, "null"...)
	}
	return append(b, raw...)
}

func appendUnixMilli(b []byte, t time.Time) []byte {
	if t.IsZero() {
		return append(b, "null"...)
	}
	return strconv.AppendInt(b, t.UnixMilli(), 10)
}

// appendFloat writes v with at most decimals places (-1: shortest exact
// form), trailing zeros trimmed; NaN and ±Inf become null.
func appendFloat(b []byte, v float64, decimals int) []byte {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return append(b, "null"...)
	}
	start := len(b)
	b = strconv.AppendFloat(b, v, 'f', decimals, 64)
	if decimals <= 0 {
		if string(b[start:]) == "-0" {
			b = append(b[:start], '0')
		}
		return b
	}
	for b[len(b)-1] == '0' {
		b = b[:len(b)-1]
	}
	if b[len(b)-1] == '.' {
		b = b[:len(b)-1]
	}
	if string(b[start:]) == "-0" {
		b = append(b[:start], '0')
	}
	return b
}

const hexDigits = "0123456789abcdef"

// appendJSONString appends s as a JSON string. Invalid UTF-8 becomes
// U+FFFD; U+2028 and U+2029 are escaped so the text is also valid JS.
func appendJSONString(b []byte, s string) []byte {
	b = append(b, '"')
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			switch {
			case c == '"' || c == '\\':
				b = append(b, '\\', c)
			case c == '\n':
				b = append(b, '\\', 'n')
			case c == '\r':
				b = append(b, '\\', 'r')
			case c == '\t':
				b = append(b, '\\', 't')
			case c < 0x20:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			default:
				b = append(b, c)
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			b = append(b, `\ufffd`...)
		case r == '\u2028' || r == '\u2029':
			b = append(b, '\\', 'u', '2', '0', '2', hexDigits[r&0xf])
		default:
			b = append(b, s[i:i+size]...)
		}
		i += size
	}
	return append(b, '"')
}
