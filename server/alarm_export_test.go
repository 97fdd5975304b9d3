package server_test

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"math"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/radtrack/radtrack/auth"
	"github.com/radtrack/radtrack/export"
	"github.com/radtrack/radtrack/ingest"
	"github.com/radtrack/radtrack/ingest/n42"
	"github.com/radtrack/radtrack/rules"
)

func TestAlarmExportsAndN42ReadBack(t *testing.T) {
	h := newHarness(t, ingest.DefaultWriterConfig(), testConfig())
	op := h.loginAs(t, "ops", auth.RoleOperator)
	op.createRule(rules.Rule{Name: "Level 1", Kind: "level", Severity: "critical", Enabled: true, Level: &rules.LevelParams{ThresholdUSvH: 1}})
	const lat, lon = 51.95, 4.05
	// 60 samples, one a second; 5 µSv/h (over 4× the level) for 20…29.
	doseAt := func(i int) float64 {
		if i >= 20 && i < 30 {
			return 5
		}
		return 0.1
	}
	t0 := time.Now().UTC().Add(-10 * time.Minute).Truncate(time.Second)
	h.postDrive(t, t0, lat, lon, 10, 60, doseAt)
	list := op.alarms("?severity=critical") // the seeded rules raise theirs too
	if len(list) != 1 {
		t.Fatalf("%d alarms, want 1: %+v", len(list), list)
	}
	a := list[0]

	status, hdr, body := op.get("/api/v1/alarms?severity=critical&format=csv", "")
	rows, err := csv.NewReader(bytes.NewReader(body)).ReadAll()
	if err != nil || status != 200 || hdr.Get("Content-Type") != "text/csv; charset=utf-8" || len(rows) != 2 ||
		strings.Join(rows[0], ",") != export.AlarmCSVHeader || rows[1][0] != itoa(a.ID) || rows[1][2] != "veh-http" ||
		rows[1][4] != "Level 1" || rows[1][11] != "5" {
		t.Fatalf("alarm csv: %d %v %q", status, err, rows)
	}
	status, _, body = op.get("/api/v1/alarms?state=open&severity=critical", "application/geo+json")
	var fc struct {
		Features []struct {
			ID       int64 `json:"id"`
			Geometry struct {
				Coordinates []float64 `json:"coordinates"`
			} `json:"geometry"`
			Properties struct {
				DeviceUID string  `json:"device_uid"`
				PeakDose  float64 `json:"peak_dose_usvh"`
				RuleName  string  `json:"rule_name"`
			} `json:"properties"`
		} `json:"features"`
	}
	if err := json.Unmarshal(body, &fc); err != nil || status != 200 || len(fc.Features) != 1 {
		t.Fatalf("alarm geojson: %d %s", status, body)
	}
	f := fc.Features[0]
	if f.ID != a.ID || f.Properties.DeviceUID != "veh-http" || f.Properties.PeakDose != 5 || f.Properties.RuleName != "Level 1" ||
		f.Geometry.Coordinates[0] != a.PeakLon || f.Geometry.Coordinates[1] != a.PeakLat {
		t.Fatalf("alarm feature %+v, alarm %+v", f, a)
	}
	if status, _, body := op.get("/api/v1/alarms?format=kml", ""); status != http.StatusBadRequest || !strings.Contains(string(body), `"field":"format"`) {
		t.Fatalf("kml alarms: %d %s", status, body)
	}

	// N42: every reading from a minute before to a minute after the
	// episode, read back by our N42 decoder with the same values.
	status, hdr, body = op.get("/api/v1/alarms/"+itoa(a.ID)+"/n42", "")
	if status != 200 || hdr.Get("Content-Type") != "application/xml" || !strings.Contains(hdr.Get("Content-Disposition"), "radtrack-alarm-"+itoa(a.ID)+".n42") {
		t.Fatalf("n42: %d %v %.300s", status, hdr, body)
	}
	doc, err := n42.Decode(bytes.NewReader(body))
	if err != nil || len(doc.Errors) != 0 || len(doc.Samples) != 60 {
		t.Fatalf("n42 read back: %v, errors %v, %d samples\n%.2000s", err, doc.Errors, len(doc.Samples), body)
	}
	dLon := 10 / (111_195.0 * math.Cos(lat*math.Pi/180))
	for i, s := range doc.Samples {
		wantLon := math.Round((lon+float64(i)*dLon)*1e7) / 1e7 // posted with 7 decimals
		if !s.Time.Equal(t0.Add(time.Duration(i)*time.Second)) || s.DoseRate != doseAt(i) || s.Lat != lat ||
			math.Abs(s.Lon-wantLon) > 1e-9 || s.DeviceUID != "veh-http" {
			t.Fatalf("n42 sample %d: %+v", i, s)
		}
	}
	if !strings.Contains(string(body), `<Remark>RadTrack alarm `+itoa(a.ID)+`: rule &#34;Level 1&#34; (level, critical), state raised</Remark>`) {
		t.Errorf("n42 remarks missing:\n%.1500s", body)
	}
	if status, _, _ := op.get("/api/v1/alarms/999999/n42", ""); status != http.StatusNotFound {
		t.Errorf("n42 of a missing alarm: %d", status)
	}
}
