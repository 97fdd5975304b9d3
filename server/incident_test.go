package server_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"testing"
	"time"

	"github.com/radtrack/radtrack/auth"
	"github.com/radtrack/radtrack/ingest"
	"github.com/radtrack/radtrack/store/storetest"
)

type incidentJSON struct {
	ID       int64       `json:"id"`
	State    string      `json:"state"`
	Severity string      `json:"severity"`
	AckedBy  string      `json:"acked_by"`
	Code     string      `json:"code"`
	Alarms   []alarmJSON `json:"alarms"`
}

func (c *client) incidents(query string) []incidentJSON {
	c.t.Helper()
	status, body := c.do("GET", "/api/v1/incidents"+query, nil)
	var out struct{ Incidents []incidentJSON }
	if err := json.Unmarshal(body, &out); status != http.StatusOK || err != nil {
		c.t.Fatalf("list incidents: %d %s", status, body)
	}
	return out.Incidents
}

// postPass posts one pass with token: 60 samples 10 m apart eastwards
// from lon0 at lat, 5 µSv/h on samples 28…32, background elsewhere.
func (h *harness) postPass(t *testing.T, token string, t0 time.Time, lat, lon0 float64) {
	t.Helper()
	var buf bytes.Buffer
	dLon := 10 / (111_195.0 * math.Cos(lat*math.Pi/180))
	for i := range 60 {
		dose := 0.08
		if i >= 28 && i <= 32 {
			dose = 5
		}
		fmt.Fprintf(&buf, `{"time":%q,"lat":%.7f,"lon":%.7f,"dose_rate":%g}`+"\n",
			t0.Add(time.Duration(i)*time.Second).Format(time.RFC3339), lat, lon0+float64(i)*dLon, dose)
	}
	if resp, b := h.post(t, token, "application/x-ndjson", buf.Bytes()); resp.StatusCode != http.StatusOK {
		t.Fatalf("post pass: %d %s", resp.StatusCode, b)
	}
}

// REST for incidents: one incident per pass, listed unacknowledged first;
// one acknowledgement and one resolution for all its alarms, each with its
// own audit rows; refusals with the field named.
func TestIncidentsREST(t *testing.T) {
	h := newHarness(t, ingest.DefaultWriterConfig(), testConfig())
	op := h.loginAs(t, "ops", auth.RoleOperator)
	viewer := h.loginAs(t, "eve", auth.RoleViewer)
	t0 := time.Now().UTC().Add(-20 * time.Minute).Truncate(time.Second)
	h.postPass(t, h.token, t0, 51.95, 4.05)

	list := op.incidents("?state=open")
	if len(list) != 1 {
		t.Fatalf("%d incidents, want 1: %+v", len(list), list)
	}
	first := list[0]
	open := op.alarms("?state=open")
	if len(first.Alarms) != len(open) || len(open) < 2 || first.State != "raised" || first.Severity != "alarm" {
		t.Fatalf("incident %+v, open alarms %+v: want every alarm of the pass in it", first, open)
	}

	if status, body := viewer.do("POST", fmt.Sprintf("/api/v1/incidents/%d/acknowledge", first.ID), map[string]string{}); status != http.StatusForbidden {
		t.Fatalf("viewer acknowledge: %d %s", status, body)
	}
	if status, body := op.do("POST", fmt.Sprintf("/api/v1/incidents/%d/resolve", first.ID), map[string]string{"code": "real"}); status != http.StatusConflict {
		t.Fatalf("resolve before acknowledge: %d %s", status, body)
	}
	if status, body := op.do("POST", "/api/v1/incidents/999999/acknowledge", map[string]string{}); status != http.StatusNotFound {
		t.Fatalf("unknown incident: %d %s", status, body)
	}
	status, body := op.do("POST", fmt.Sprintf("/api/v1/incidents/%d/acknowledge", first.ID), map[string]string{"comment": "en route"})
	if status != http.StatusOK {
		t.Fatalf("acknowledge: %d %s", status, body)
	}

	// A second vehicle's pass 10 km away: a new incident, listed first
	// (unacknowledged before acknowledged).
	dev2, token2 := storetest.NewDevice(t, h.store, "veh-2")
	h.postPass(t, token2, t0.Add(2*time.Minute), 51.95, 4.20)
	list = op.incidents("")
	if len(list) != 2 || list[0].State != "raised" || list[0].Alarms[0].DeviceID != dev2.ID ||
		list[1].ID != first.ID || list[1].State != "acknowledged" || list[1].AckedBy != "ops" {
		t.Fatalf("listing %+v", list)
	}

	if status, body := op.do("POST", fmt.Sprintf("/api/v1/incidents/%d/resolve", first.ID), map[string]string{"code": "maybe"}); status != http.StatusBadRequest ||
		!bytes.Contains(body, []byte(`"field":"code"`)) {
		t.Fatalf("bad code: %d %s", status, body)
	}
	status, body = op.do("POST", fmt.Sprintf("/api/v1/incidents/%d/resolve", first.ID), map[string]string{"code": "innocent_medical", "comment": "PET patient"})
	var got struct{ Incident incidentJSON }
	if err := json.Unmarshal(body, &got); status != http.StatusOK || err != nil || got.Incident.State != "resolved" || got.Incident.Code != "innocent_medical" {
		t.Fatalf("resolve: %d %s", status, body)
	}
	for _, a := range got.Incident.Alarms {
		status, body := op.do("GET", fmt.Sprintf("/api/v1/alarms/%d", a.ID), nil)
		var detail struct {
			Events []struct{ Type, User, Comment, Code string }
		}
		if err := json.Unmarshal(body, &detail); status != http.StatusOK || err != nil {
			t.Fatalf("alarm detail: %d %s", status, body)
		}
		var types []string
		for _, e := range detail.Events {
			types = append(types, e.Type)
		}
		n := len(detail.Events)
		if fmt.Sprint(types) != "[raised condition_ended acknowledged resolved]" ||
			detail.Events[n-2].User != "ops" || detail.Events[n-2].Comment != "en route" ||
			detail.Events[n-1].Code != "innocent_medical" || detail.Events[n-1].Comment != "PET patient" {
			t.Errorf("alarm %d (%s) audit %+v", a.ID, a.RuleName, detail.Events)
		}
	}
	if status, _ := op.do("POST", fmt.Sprintf("/api/v1/incidents/%d/resolve", first.ID), map[string]string{"code": "real"}); status != http.StatusConflict {
		t.Fatalf("resolve twice: %d", status)
	}
	if status, body := op.do("GET", "/api/v1/incidents?state=closed", nil); status != http.StatusBadRequest || !bytes.Contains(body, []byte(`"field":"state"`)) {
		t.Fatalf("bad state filter: %d %s", status, body)
	}
}
