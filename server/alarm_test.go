package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/radtrack/radtrack/auth"
	"github.com/radtrack/radtrack/importer"
	"github.com/radtrack/radtrack/ingest"
	"github.com/radtrack/radtrack/rules"
)

// alarmJSON is the part of an alarm the tests read.
type alarmJSON struct {
	ID          int64    `json:"id"`
	DeviceID    int64    `json:"device_id"`
	RuleID      int64    `json:"rule_id"`
	FenceID     int64    `json:"fence_id"`
	RuleName    string   `json:"rule_name"`
	State       string   `json:"state"`
	Samples     int      `json:"samples"`
	PeakDose    *float64 `json:"peak_dose_usvh"`
	PeakLon     float64  `json:"peak_lon"`
	PeakLat     float64  `json:"peak_lat"`
	Imported    bool     `json:"imported"`
	AckedBy     string   `json:"acked_by"`
	ImplicitAck bool     `json:"implicit_ack"`
	Code        string   `json:"code"`
}

func (c *client) alarms(query string) []alarmJSON {
	c.t.Helper()
	status, body := c.do("GET", "/api/v1/alarms"+query, nil)
	var out struct{ Alarms []alarmJSON }
	if err := json.Unmarshal(body, &out); status != http.StatusOK || err != nil {
		c.t.Fatalf("list alarms: %d %s", status, body)
	}
	return out.Alarms
}

func (c *client) createFence(feature string) int64 {
	c.t.Helper()
	req, _ := http.NewRequest("POST", c.base+"/api/v1/fences", strings.NewReader(feature))
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.http.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	var f struct {
		ID         int64 `json:"id"`
		Properties struct {
			ID int64 `json:"id"`
		} `json:"properties"`
	}
	_ = json.NewDecoder(resp.Body).Decode(&f)
	if resp.StatusCode != http.StatusCreated {
		c.t.Fatalf("create fence: %d", resp.StatusCode)
	}
	if f.ID == 0 {
		f.ID = f.Properties.ID
	}
	if f.ID == 0 {
		c.t.Fatal("created fence has no id")
	}
	return f.ID
}

func (c *client) createRule(rule rules.Rule) int64 {
	c.t.Helper()
	status, body := c.do("POST", "/api/v1/rules", rule)
	var out struct{ Rule rules.Rule }
	if err := json.Unmarshal(body, &out); status != http.StatusCreated || err != nil {
		c.t.Fatalf("create rule: %d %s", status, body)
	}
	return out.Rule.ID
}

// square returns a GeoJSON polygon feature of side 2·half metres around a point.
func square(name, kind string, lon, lat, halfM float64) string {
	dLat := halfM / 111_195.0
	dLon := dLat / math.Cos(lat*math.Pi/180)
	return fmt.Sprintf(`{"type":"Feature","properties":{"name":%q,"kind":%q},"geometry":{"type":"Polygon","coordinates":[[[%f,%f],[%f,%f],[%f,%f],[%f,%f],[%f,%f]]]}}`,
		name, kind, lon-dLon, lat-dLat, lon+dLon, lat-dLat, lon+dLon, lat+dLat, lon-dLon, lat+dLat, lon-dLon, lat-dLat)
}

// postDrive posts samples along a west→east line at lat through lon0…,
// one per second, dose from doseAt(i).
func (h *harness) postDrive(t *testing.T, t0 time.Time, lat, lon0, stepM float64, n int, doseAt func(i int) float64) {
	t.Helper()
	var buf bytes.Buffer
	dLon := stepM / (111_195.0 * math.Cos(lat*math.Pi/180))
	for i := range n {
		fmt.Fprintf(&buf, `{"time":%q,"lat":%.7f,"lon":%.7f,"dose_rate":%g}`+"\n",
			t0.Add(time.Duration(i)*time.Second).Format(time.RFC3339), lat, lon0+float64(i)*dLon, doseAt(i))
	}
	if resp, b := h.post(t, h.token, "application/x-ndjson", buf.Bytes()); resp.StatusCode != http.StatusOK {
		t.Fatalf("post drive: %d %s", resp.StatusCode, b)
	}
}

func TestZoneDriveRaisesOneEpisodeWithThePeak(t *testing.T) {
	h := newHarness(t, ingest.DefaultWriterConfig(), testConfig())
	op := h.loginAs(t, "ops", auth.RoleOperator)
	const lat, lon = 51.95, 4.05
	fence := op.createFence(square("Terminal 2", "monitoring", lon, lat, 200))
	zoneRule := op.createRule(rules.Rule{Name: "T2 above 0.3", Kind: "zone", Severity: "alarm", Enabled: true,
		Zone: &rules.ZoneParams{FenceID: fence, ThresholdUSvH: 0.3}})

	// 100 samples 10 m apart from 500 m west: inside for samples 30…69.
	// Inside, the dose oscillates around the level (0.25/0.45) with one
	// peak of 0.9 at sample 52; outside it is background.
	dose := func(i int) float64 {
		switch {
		case i < 30 || i >= 70:
			return 0.08
		case i == 52:
			return 0.9
		case i%2 == 0:
			return 0.45
		}
		return 0.25
	}
	t0 := time.Now().UTC().Add(-10 * time.Minute).Truncate(time.Second)
	h.postDrive(t, t0, lat, lon-500/(111_195.0*math.Cos(lat*math.Pi/180)), 10, 100, dose)

	var zone []alarmJSON
	for _, a := range op.alarms("?state=open") {
		if a.RuleID == zoneRule {
			zone = append(zone, a)
		}
	}
	if len(zone) != 1 {
		t.Fatalf("%d zone alarms, want exactly 1: %+v", len(zone), zone)
	}
	a := zone[0]
	wantPeakLon := lon - 500/(111_195.0*math.Cos(lat*math.Pi/180)) + 52*10/(111_195.0*math.Cos(lat*math.Pi/180))
	if a.PeakDose == nil || *a.PeakDose != 0.9 || math.Abs(a.PeakLon-wantPeakLon) > 1e-6 || a.FenceID != fence || a.State != "raised" {
		t.Fatalf("zone alarm %+v: want peak 0.9 at lon %.7f", a, wantPeakLon)
	}
	// Sample 30 lies on the border (not 5 m inside), 31 and 32 inside: the
	// tracker confirms the entry at 32 (two samples ≥ 5 m inside). Over the
	// level while inside: even indexes 32…68, the peak at 52 among them: 19.
	if a.Samples != 19 {
		t.Fatalf("episode counted %d samples, want 19", a.Samples)
	}
	// The alarm's detail has its audit trail and the samples of its episode.
	status, body := op.do("GET", fmt.Sprintf("/api/v1/alarms/%d", a.ID), nil)
	var detail struct {
		Events  []struct{ Type string }
		Samples []struct {
			DoseRate *float64 `json:"dose_rate"`
		}
	}
	if err := json.Unmarshal(body, &detail); status != http.StatusOK || err != nil || len(detail.Events) == 0 || detail.Events[0].Type != "raised" {
		t.Fatalf("alarm detail: %d %s", status, body)
	}
	maxDose := 0.0
	for _, s := range detail.Samples {
		if s.DoseRate != nil {
			maxDose = math.Max(maxDose, *s.DoseRate)
		}
	}
	if maxDose != 0.9 || len(detail.Samples) < 30 {
		t.Fatalf("episode samples: %d, max dose %v", len(detail.Samples), maxDose)
	}
}

func TestRestrictedZoneJitterRaisesOneAlarm(t *testing.T) {
	h := newHarness(t, ingest.DefaultWriterConfig(), testConfig())
	op := h.loginAs(t, "ops", auth.RoleOperator)
	const lat, lon = 51.95, 4.05
	op.createFence(square("Berth 7", "restricted", lon, lat, 100))
	// The west border is at lon-100 m. A vehicle parks across it, GPS
	// jittering ±5 m for 60 samples, then drives in and out again.
	mPerLon := 111_195.0 * math.Cos(lat*math.Pi/180)
	border := lon - 100/mPerLon
	t0 := time.Now().UTC().Add(-10 * time.Minute).Truncate(time.Second)
	var buf bytes.Buffer
	i := 0
	emit := func(lonV float64) {
		fmt.Fprintf(&buf, `{"time":%q,"lat":%.7f,"lon":%.7f,"dose_rate":0.1}`+"\n", t0.Add(time.Duration(i)*time.Second).Format(time.RFC3339), lat, lonV)
		i++
	}
	for k := range 60 {
		emit(border + float64(k%3-1)*5/mPerLon) // −5, 0, +5 m around the border
	}
	for k := range 30 {
		emit(border + float64(k*5)/mPerLon) // into the berth
	}
	for k := range 40 {
		emit(border + float64(150-k*10)/mPerLon) // back out to the west
	}
	if resp, b := h.post(t, h.token, "application/x-ndjson", buf.Bytes()); resp.StatusCode != http.StatusOK {
		t.Fatalf("post: %d %s", resp.StatusCode, b)
	}
	var entered int
	for _, a := range op.alarms("") {
		if strings.Contains(strings.ToLower(a.RuleName), "restricted") {
			entered++
		}
	}
	if entered != 1 {
		t.Fatalf("%d restricted-zone alarms, want exactly 1 (GPS jitter must not flap)", entered)
	}
}

func TestFukushimaReplayRaisesExpectedAlarms(t *testing.T) {
	path := filepath.Join("..", "..", "shared", "data", "radiation", "safecast_bgeigie_BGRDD_fukushima_2012-07-01.log")
	if _, err := os.Stat(path); err != nil {
		t.Skipf("%s not available (shared test data lives beside the repository): %v", path, err)
	}
	h := newHarness(t, ingest.DefaultWriterConfig(), testConfig())
	op := h.loginAs(t, "ops", auth.RoleOperator)
	// A 2 km monitoring zone around the hottest stretch of the drive
	// (37.5346 N, 140.9454 E) with its own level of 1 µSv/h.
	fence := op.createFence(`{"type":"Feature","properties":{"name":"Hot stretch","kind":"monitoring","radius_m":2000},"geometry":{"type":"Point","coordinates":[140.9454,37.5346]}}`)
	zoneRule := op.createRule(rules.Rule{Name: "hot stretch ≥ 1", Kind: "zone", Severity: "alarm", Enabled: true,
		Zone: &rules.ZoneParams{FenceID: fence, ThresholdUSvH: 1}})
	im := importer.Importer{Pipeline: h.pipeline, Device: h.dev}
	if _, err := im.File(context.Background(), path); err != nil {
		t.Fatal(err)
	}
	// Expected, computed from the file without RadTrack: one pass through
	// the zone, 49 samples over 1 µSv/h while inside and peak 637/334 µSv/h
	// (rules/testdata/level_reference.py LOG 1.0 37.5346 140.9454 2000: the
	// level decided with counting statistics, README "Detection
	// statistics"; haversine, debounce 2 samples ≥ 5 m inside to enter, 2
	// outside to leave; the dose FillDose's, CPM while the 5-s counts agree
	// with it). Before the statistics: 55 single readings ≥ 1, peak 71×12/334.
	// Levels over the whole drive: one notice and one OIL3 episode (one
	// condition each), none ≥ 100: no OIL2/OIL1.
	byRule := map[string][]alarmJSON{}
	for _, a := range op.alarms("?imported=true") {
		byRule[a.RuleName] = append(byRule[a.RuleName], a)
		if !a.Imported {
			t.Errorf("alarm %d from an import is not flagged imported", a.ID)
		}
	}
	var zone []alarmJSON
	for _, as := range byRule {
		for _, a := range as {
			if a.RuleID == zoneRule {
				zone = append(zone, a)
			}
		}
	}
	if len(zone) != 1 || zone[0].Samples != 49 || zone[0].PeakDose == nil || math.Abs(*zone[0].PeakDose-637.0/334) > 1e-12 {
		t.Fatalf("zone alarms %+v: want one with 49 samples and peak %v", zone, 637.0/334)
	}
	levels := map[string]int{}
	for _, r := range rules.DefaultRules() {
		if r.Kind == "level" {
			levels[r.Name] = len(byRule[r.Name])
		}
	}
	var notice, oil3, oil2, oil1 int
	for name, n := range levels {
		switch {
		case strings.Contains(name, "OIL3"):
			oil3 += n
		case strings.Contains(name, "OIL2"):
			oil2 += n
		case strings.Contains(name, "OIL1"):
			oil1 += n
		default:
			notice += n
		}
	}
	if notice != 1 || oil3 != 1 || oil2 != 0 || oil1 != 0 {
		t.Fatalf("level alarms %v: want one notice, one OIL3, none above", levels)
	}
	if live := op.alarms("?imported=false"); len(live) != 0 {
		t.Fatalf("an import raised %d live alarms", len(live))
	}
}

func TestAlarmAcknowledgeResolvePermissions(t *testing.T) {
	h := newHarness(t, ingest.DefaultWriterConfig(), testConfig())
	viewer := h.loginAs(t, "vera", auth.RoleViewer)
	op := h.loginAs(t, "olga", auth.RoleOperator)
	admin := h.loginAs(t, "root", auth.RoleAdmin)
	t0 := time.Now().UTC().Add(-10 * time.Minute).Truncate(time.Second)
	// Two devices over OIL3 (1 µSv/h): one OIL3 and one notice alarm each.
	h.postDrive(t, t0, 51.95, 4.05, 10, 3, func(int) float64 { return 1.5 })
	list := op.alarms("?state=open&severity=alarm")
	if len(list) != 1 {
		t.Fatalf("want one open OIL3 alarm, got %+v", list)
	}
	a := list[0]
	path := fmt.Sprintf("/api/v1/alarms/%d", a.ID)

	if status, _ := viewer.do("POST", path+"/acknowledge", map[string]string{"comment": "x"}); status != http.StatusForbidden {
		t.Fatalf("viewer ack: %d, want 403", status)
	}
	if status, body := op.do("POST", path+"/resolve", map[string]string{"code": "false_alarm"}); status != http.StatusConflict || !strings.Contains(string(body), "acknowledge") {
		t.Fatalf("operator resolve before ack: %d %s, want 409", status, body)
	}
	if status, body := op.do("POST", path+"/acknowledge", map[string]string{"comment": "driving there"}); status != http.StatusOK {
		t.Fatalf("ack: %d %s", status, body)
	}
	if status, _ := op.do("POST", path+"/acknowledge", map[string]string{}); status != http.StatusConflict {
		t.Fatalf("second ack: %d, want 409", status)
	}
	if status, body := op.do("POST", path+"/resolve", map[string]string{"code": "not-a-code"}); status != http.StatusBadRequest || !strings.Contains(string(body), `"field":"code"`) {
		t.Fatalf("bad code: %d %s", status, body)
	}
	if status, body := op.do("POST", path+"/resolve", map[string]string{"code": "innocent_medical", "comment": "patient after therapy"}); status != http.StatusOK {
		t.Fatalf("resolve: %d %s", status, body)
	}
	if status, _ := op.do("POST", path+"/resolve", map[string]string{"code": "real"}); status != http.StatusConflict {
		t.Fatalf("resolve twice: %d, want 409", status)
	}
	status, body := viewer.do("GET", path, nil)
	var detail struct {
		Alarm  alarmJSON
		Events []struct{ Type, User, Code, Comment string }
	}
	if err := json.Unmarshal(body, &detail); status != http.StatusOK || err != nil {
		t.Fatalf("detail: %d %s", status, body)
	}
	types := []string{}
	for _, e := range detail.Events {
		types = append(types, e.Type+":"+e.User)
	}
	if strings.Join(types, ",") != "raised:,acknowledged:olga,resolved:olga" || detail.Alarm.Code != "innocent_medical" || detail.Alarm.State != "resolved" {
		t.Fatalf("audit trail %v, alarm %+v", types, detail.Alarm)
	}

	// An admin may close an unacknowledged alarm; it is recorded as an
	// implicit acknowledgement.
	notice := op.alarms("?state=open")
	if len(notice) != 1 {
		t.Fatalf("want the notice alarm still open, got %+v", notice)
	}
	npath := fmt.Sprintf("/api/v1/alarms/%d", notice[0].ID)
	if status, body := admin.do("POST", npath+"/resolve", map[string]string{"code": "test", "comment": "drill"}); status != http.StatusOK {
		t.Fatalf("admin resolve: %d %s", status, body)
	}
	_, body = admin.do("GET", npath, nil)
	_ = json.Unmarshal(body, &detail)
	if !detail.Alarm.ImplicitAck || detail.Alarm.AckedBy != "root" || detail.Alarm.State != "resolved" {
		t.Fatalf("admin-resolved alarm %+v", detail.Alarm)
	}
	if status, _ := op.do("POST", "/api/v1/alarms/99999/acknowledge", map[string]string{}); status != http.StatusNotFound {
		t.Fatalf("unknown alarm: %d", status)
	}
	// The condition still holds after resolution: no new alarm until it ends
	// once (no alarm storm from a source the staff already adjudicated).
	h.postDrive(t, t0.Add(time.Minute), 51.95, 4.05, 10, 3, func(int) float64 { return 1.5 })
	if open := op.alarms("?state=open"); len(open) != 0 {
		t.Fatalf("resolved alarm re-raised while its condition held: %+v", open)
	}
	h.postDrive(t, t0.Add(2*time.Minute), 51.95, 4.05, 10, 3, func(int) float64 { return 0.1 })
	h.postDrive(t, t0.Add(3*time.Minute), 51.95, 4.05, 10, 3, func(int) float64 { return 1.5 })
	if open := op.alarms("?state=open&severity=alarm"); len(open) != 1 || open[0].ID == a.ID {
		t.Fatalf("a new episode after the condition ended: %+v", open)
	}
}

func TestInvalidFencesAndRulesAreRefusedByField(t *testing.T) {
	h := newHarness(t, ingest.DefaultWriterConfig(), testConfig())
	op := h.loginAs(t, "ops", auth.RoleOperator)
	viewer := h.loginAs(t, "vera", auth.RoleViewer)
	post := func(c *client, path, body string) (int, string) {
		req, _ := http.NewRequest("POST", c.base+path, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		resp, err := c.http.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var e struct{ Field, Error string }
		_ = json.NewDecoder(resp.Body).Decode(&e)
		return resp.StatusCode, e.Field
	}
	for _, c := range []struct{ name, body, field string }{
		{"self-intersecting", `{"type":"Feature","properties":{"name":"bow","kind":"restricted"},"geometry":{"type":"Polygon","coordinates":[[[0,0],[1,1],[1,0],[0,1],[0,0]]]}}`, "geometry"},
		{"zero radius", `{"type":"Feature","properties":{"name":"c","kind":"restricted","radius_m":0},"geometry":{"type":"Point","coordinates":[4,52]}}`, "radius_m"},
		{"bad kind", `{"type":"Feature","properties":{"name":"k","kind":"forbidden"},"geometry":{"type":"Point","coordinates":[4,52]}}`, "kind"},
		{"latitude out of range", `{"type":"Feature","properties":{"name":"p","kind":"patrol"},"geometry":{"type":"Polygon","coordinates":[[[0,0],[1,95],[1,0],[0,0]]]}}`, "geometry"},
	} {
		status, field := post(op, "/api/v1/fences", c.body)
		if status != http.StatusBadRequest || !strings.Contains(field, c.field) {
			t.Errorf("%s: status %d field %q, want 400 naming %q", c.name, status, field, c.field)
		}
	}
	if status, _ := post(viewer, "/api/v1/fences", square("v", "patrol", 4, 52, 50)); status != http.StatusForbidden {
		t.Errorf("viewer creates fence: %d, want 403", status)
	}
	if status, field := post(op, "/api/v1/rules", `{"name":"z","kind":"zone","severity":"alarm","enabled":true,"zone":{"fence_id":4242,"threshold_usvh":1}}`); status != http.StatusBadRequest || field != "zone.fence_id" {
		t.Errorf("rule on unknown fence: %d %q", status, field)
	}
	if status, field := post(op, "/api/v1/rules", `{"name":"l","kind":"level","severity":"alarm","enabled":true,"level":{"threshold_usvh":-1}}`); status != http.StatusBadRequest || field == "" {
		t.Errorf("negative threshold: %d %q", status, field)
	}
	// Traccar's lat-first WKT imports as [lon, lat].
	status, body := op.do("POST", "/api/v1/fences/import", map[string]any{"kind": "restricted", "traccar": []map[string]any{
		{"name": "Moscow circle", "area": "CIRCLE (55.75414 37.6204, 100)"},
	}})
	if status != http.StatusCreated {
		t.Fatalf("traccar import: %d %s", status, body)
	}
	_, body = op.do("GET", "/api/v1/fences", nil)
	if !strings.Contains(string(body), "37.6204") || !strings.Contains(string(body), `"radius_m":100`) {
		t.Fatalf("imported fence: %s", body)
	}
}
