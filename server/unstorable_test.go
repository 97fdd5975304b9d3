package server_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/radtrack/radtrack/ingest"
)

type rejectedBody struct {
	Accepted int `json:"accepted"`
	Rejected []struct {
		Index int    `json:"index"`
		Field string `json:"field"`
		Error string `json:"error"`
	} `json:"rejected"`
}

// Text no store can hold (a NUL) and impossible times are refused at every
// door with a 4xx naming the field — never a 503 that a device or a person
// would retry for ever — and nothing else of the request is held back.
func TestUnstorableInputIsRefusedNamingTheField(t *testing.T) {
	h := newHarness(t, ingest.DefaultWriterConfig(), testConfig())
	t0 := time.Now().UTC().Add(-time.Hour).Truncate(time.Second)

	// HTTP batch: the bad sample is rejected by index, the others stored.
	body := sampleJSON(0, t0) + "\n" +
		`{"time":"` + t0.Add(time.Second).Format(time.RFC3339) + `","lat":51.9,"lon":4.1,"dose_rate":0.1,"attributes":{"ok":1,"note":"a\u0000b"}}` + "\n" +
		sampleJSON(2, t0) + "\n" +
		`{"time":"0001-01-01T00:00:00Z","lat":51.9,"lon":4.1,"dose_rate":0.1}` + "\n"
	resp, b := h.post(t, h.token, "application/x-ndjson", []byte(body))
	var res rejectedBody
	if resp.StatusCode != http.StatusOK || json.Unmarshal(b, &res) != nil || res.Accepted != 2 || len(res.Rejected) != 2 ||
		res.Rejected[0].Index != 1 || res.Rejected[0].Field != "attributes.note" || res.Rejected[1].Index != 3 || res.Rejected[1].Field != "time" {
		t.Fatalf("batch with a NUL and a year-1 time: %d %s; want 200, 2 accepted, #1 attributes.note and #3 time rejected", resp.StatusCode, b)
	}
	if n := h.count(t); n != 2 {
		t.Fatalf("%d samples stored, want 2", n)
	}
	resp, b = h.post(t, h.token, "application/json", []byte(`[{"time":"`+t0.Add(9*time.Second).Format(time.RFC3339)+`","attributes":{"k\u0000":true}}]`))
	if resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(string(b), `"field":"attributes.k\u0000"`) {
		t.Fatalf("only an unstorable sample: %d %s, want 422 naming attributes.k\\u0000", resp.StatusCode, b)
	}

	// Traccar forwarder with the device's token.
	req, _ := http.NewRequest(http.MethodPost, h.url+"/api/v1/traccar", bytes.NewReader([]byte(
		`{"position":{"fixTime":"`+t0.Add(20*time.Second).Format(time.RFC3339)+`","latitude":51.9,"longitude":4.1,"attributes":{"doseRate":0.1,"driver":"\u0000"}},"device":{"uniqueId":"veh-http"}}`)))
	req.Header.Set("Authorization", "Bearer "+h.token)
	req.Header.Set("Content-Type", "application/json")
	tr, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var tres rejectedBody
	_ = json.NewDecoder(tr.Body).Decode(&tres)
	tr.Body.Close()
	if tr.StatusCode != http.StatusUnprocessableEntity || len(tres.Rejected) != 1 || tres.Rejected[0].Field != "attributes.driver" {
		t.Fatalf("traccar position with a NUL attribute: %d %+v, want 422 naming attributes.driver", tr.StatusCode, tres)
	}

	// Names, comments, filters people send.
	admin := h.loginAs(t, "admin-x", "admin")
	for _, c := range []struct {
		method, path string
		body         any
		field        string
	}{
		{"POST", "/api/v1/devices", map[string]any{"name": "van\x007"}, "name"},
		{"POST", "/api/v1/devices", map[string]any{"name": "van 8", "group": "north\x00"}, "group"},
		{"POST", "/api/v1/users", map[string]any{"username": "op\x00", "password": "long enough password", "role": "viewer"}, "username"},
		{"POST", "/api/v1/tokens", map[string]any{"name": "ci\x00"}, "name"},
		{"POST", "/api/v1/rules", map[string]any{"name": "hot\x00", "kind": "level", "severity": "alarm", "enabled": true, "level": map[string]any{"threshold_usvh": 1}}, "name"},
		{"POST", "/api/v1/fences", json.RawMessage(strings.Replace(square("yard-X", "restricted", 4.05, 51.95, 50), "-X", `\u0000`, 1)), "properties.name"},
		{"POST", "/api/v1/alarms/1/acknowledge", map[string]any{"comment": "on my way\x00"}, "comment"},
		{"GET", "/api/v1/alarms?severity=%00", nil, "severity"},
	} {
		status, b := admin.do(c.method, c.path, c.body)
		var e struct{ Error, Field string }
		if status != http.StatusBadRequest || json.Unmarshal(b, &e) != nil || e.Field != c.field {
			t.Errorf("%s %s: %d %s, want 400 naming %s", c.method, c.path, status, b, c.field)
		}
	}
	if status, b := h.anonymous(t).do("POST", "/api/v1/login", map[string]string{"username": "adm\x00in", "password": "x"}); status != http.StatusBadRequest ||
		!strings.Contains(string(b), `"field":"username"`) {
		t.Errorf("login with a NUL in the name: %d %s, want 400 naming username", status, b)
	}
}
