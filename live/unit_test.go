package live

import (
	"encoding/json"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/radtrack/radtrack/sample"
)

func TestOffsets(t *testing.T) {
	for _, id := range []string{"0-0", "1753470280000-0", "1753470280000-524287", "8796093022207-5"} {
		off, err := offsetFromID(id)
		if err != nil {
			t.Fatalf("%s: %v", id, err)
		}
		if back := idFromOffset(off); back != id {
			t.Errorf("%s → %d → %s", id, off, back)
		}
	}
	for _, bad := range []string{"", "12", "1-524288", "1-1048576", "x-1", "1-y", "8796093022208-0"} {
		if _, err := offsetFromID(bad); err == nil {
			t.Errorf("offsetFromID(%q) accepted", bad)
		}
	}
	a, _ := offsetFromID("1753470280000-7")
	b, _ := offsetFromID("1753470280001-0")
	if a >= b {
		t.Error("offsets do not order like stream IDs")
	}
	for raw, want := range map[string]int64{`"123"`: 123, `45`: 45} {
		if got, err := parseOffset([]byte(raw)); err != nil || got != want {
			t.Errorf("parseOffset(%s) = %d, %v", raw, got, err)
		}
	}
	for _, bad := range []string{`"-1"`, `"abc"`, ``, `1.5`} {
		if _, err := parseOffset([]byte(bad)); err == nil {
			t.Errorf("parseOffset(%s) accepted", bad)
		}
	}
}

func TestPositionFromSample(t *testing.T) {
	s := sample.New()
	s.DeviceID, s.DeviceUID = 7, "5002"
	s.Time = time.Date(2025, 7, 25, 19, 4, 40, 0, time.FixedZone("JST", 9*3600))
	s.Lon, s.Lat, s.DoseRate, s.Battery = 136.163, 34.483, 0.12, 87
	if _, ok := PositionFromSample(s, "car"); ok {
		t.Error("sample without GPS fix moved the vehicle")
	}
	s.GPSValid = true
	p, ok := PositionFromSample(s, "car")
	if !ok || p.DeviceID != 7 || p.UID != "5002" || p.Name != "car" || p.Lon != 136.163 || p.DoseRate != 0.12 || p.Battery != 87 || !math.IsNaN(p.Speed) {
		t.Fatalf("position = %+v, %v", p, ok)
	}
	if p.Time.Location() != time.UTC {
		t.Error("time not UTC")
	}
	s.Lat = 91
	if _, ok := PositionFromSample(s, ""); ok {
		t.Error("latitude 91 accepted")
	}
}

func TestPositionJSON(t *testing.T) {
	p := pos(3, 139.7, 35.6, time.Date(2025, 1, 2, 3, 4, 5, 6e6, time.UTC))
	p.Name = "Wagen \"Ä\"\n"
	p.Alarm = true
	raw, err := json.Marshal(p)
	if err != nil || !json.Valid(raw) {
		t.Fatalf("marshal: %s %v", raw, err)
	}
	if !strings.Contains(string(raw), `"speed":null`) {
		t.Errorf("NaN speed not null: %s", raw)
	}
	var back Position
	if err := json.Unmarshal(raw, &back); err != nil {
		t.Fatal(err)
	}
	if back.Name != p.Name || !back.Time.Equal(p.Time) || !math.IsNaN(back.Speed) || back.DoseRate != 0.1 || !back.Alarm || !math.IsNaN(back.Battery) {
		t.Fatalf("round trip: %+v", back)
	}
	p.Battery = 86.5
	raw, _ = json.Marshal(p)
	if err := json.Unmarshal(raw, &back); err != nil || back.Battery != 86.5 {
		t.Fatalf("battery round trip: %s → %+v, %v", raw, back, err)
	}
	// Entries written by a node without the battery field read as absent.
	if err := json.Unmarshal([]byte(`{"device_id":1,"lon":1,"lat":2,"dose":0.1}`), &back); err != nil || !math.IsNaN(back.Battery) {
		t.Fatalf("entry without battery: %+v, %v", back, err)
	}
	if err := json.Unmarshal([]byte(`{"device_id":1}`), &back); err == nil {
		t.Error("position without lon/lat accepted")
	}
}

func TestAppendHelpers(t *testing.T) {
	for _, c := range []struct {
		v    float64
		dec  int
		want string
	}{
		{139.7, 6, "139.7"}, {-0.0000001, 6, "0"}, {35.123456789, 6, "35.123457"}, {10, 6, "10"},
		{math.NaN(), 6, "null"}, {math.Inf(1), -1, "null"}, {0.12, -1, "0.12"}, {141.4, 0, "141"}, {-0.4, 0, "0"},
	} {
		if got := string(appendFloat(nil, c.v, c.dec)); got != c.want {
			t.Errorf("appendFloat(%v, %d) = %s, want %s", c.v, c.dec, got, c.want)
		}
	}
	for _, s := range []string{"", "plain", `q"b\s`, "tab\tnl\n\x01", "Ünïcødé ☢", "bad\xffutf8", "ls\u2028ps\u2029"} {
		b := appendJSONString(nil, s)
		var back string
		if err := json.Unmarshal(b, &back); err != nil {
			t.Fatalf("appendJSONString(%q) = %s: %v", s, b, err)
		}
		if want := strings.ToValidUTF8(s, "\ufffd"); back != want {
			t.Errorf("appendJSONString(%q) round trip = %q", s, back)
		}
	}
}

func TestFramesAreValidJSON(t *testing.T) {
	ps := []Position{pos(1, 1, 2, time.Now()), pos(2, 3, 4, time.Time{})}
	ps[1].Alarm = true
	frames := map[string][]byte{
		"positions": appendPositionsFrame(nil, ps, false),
		"full":      appendPositionsFrame(nil, ps, true),
		"empty":     appendPositionsFrame(nil, nil, true),
		"alarm":     alarmFrame(AlarmEvent{Offset: 1 << 62, Type: EventRaised, AlarmID: 1, Payload: json.RawMessage(`{"a":1}`)}),
		"badpay":    alarmFrame(AlarmEvent{Type: EventRaised, Payload: json.RawMessage(`{broken`)}),
		"snapshot":  appendSnapshotFrame(nil, snapshot{offset: 5, alarms: []json.RawMessage{[]byte(`{"id":1}`)}, positions: ps}),
		"resumed":   appendSnapshotFrame(nil, snapshot{offset: 5, resume: true, recovered: true}),
		"ok":        replyFrame("subscribe", json.RawMessage(`7`), ""),
		"error":     replyFrame("ack", json.RawMessage(`{bad`), "no \"way\""),
		"pong":      pongFrame(nil),
	}
	for name, f := range frames {
		if !json.Valid(f) {
			t.Errorf("%s frame is not JSON: %s", name, f)
		}
		if !strings.HasPrefix(string(f), `{"v":1,"type":`) {
			t.Errorf("%s frame lacks the version: %s", name, f)
		}
	}
	if !strings.Contains(string(frames["alarm"]), `"offset":"4611686018427387904"`) {
		t.Errorf("offset not a string: %s", frames["alarm"])
	}
	if strings.Contains(string(frames["positions"]), `"name"`) || !strings.Contains(string(frames["full"]), `"name"`) {
		t.Error("names in incremental frames or missing in full ones")
	}
	if !strings.Contains(string(frames["positions"]), `"alarm":[0,1]`) || !strings.Contains(string(frames["positions"]), `"t":[`) {
		t.Errorf("alarm column: %s", frames["positions"])
	}
	ps[0].Battery = 86.6
	var f frame
	if err := json.Unmarshal(appendPositionsFrame(nil, ps, false), &f); err != nil {
		t.Fatal(err)
	}
	if bat := f.Positions.Bat; len(bat) != 2 || bat[0] == nil || *bat[0] != 87 || bat[1] != nil {
		t.Errorf("bat column %v, want [87 null] (whole percent, null when absent)", bat)
	}
}

func TestSubscription(t *testing.T) {
	at := func(id int64, lon, lat float64) *Position { return &Position{DeviceID: id, Lon: lon, Lat: lat} }
	all, _ := newSubscription(nil, nil, 0.1)
	if !all.matches(at(1, 170, 80)) {
		t.Error("empty subscription must select everything")
	}
	none, _ := newSubscription(nil, []int64{}, 0.1)
	if none.matches(at(1, 0, 0)) {
		t.Error("empty device list must select nothing")
	}
	box, err := newSubscription([]float64{0, 0, 10, 10}, []int64{99}, 0.1)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		p    *Position
		want bool
	}{
		{at(1, 5, 5), true}, {at(1, 10.9, 5), true}, {at(1, 11.1, 5), false}, {at(1, 5, -1.1), false}, {at(99, 100, 50), true},
	} {
		if got := box.matches(c.p); got != c.want {
			t.Errorf("box matches %+v = %v", *c.p, got)
		}
	}
	anti, _ := newSubscription([]float64{170, -10, -170, 10}, nil, 0) // across the antimeridian
	if !anti.matches(at(1, 179, 0)) || !anti.matches(at(1, -175, 0)) || anti.matches(at(1, 0, 0)) {
		t.Error("antimeridian box")
	}
	wide, _ := newSubscription([]float64{-170, -80, 170, 80}, nil, 0.1)
	if !wide.matches(at(1, 179.9, 89)) {
		t.Error("margin beyond 360° must cover every longitude, latitude clamps at 90")
	}
	for _, bad := range [][]float64{{0, 0, 1}, {0, 10, 1, 5}, {0, 0, 181, 1}, {math.NaN(), 0, 1, 1}} {
		if _, err := newSubscription(bad, nil, 0.1); err == nil {
			t.Errorf("bbox %v accepted", bad)
		}
	}
}
