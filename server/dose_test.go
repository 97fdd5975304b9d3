package server_test

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"math"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/radtrack/radtrack/ingest"
	"github.com/radtrack/radtrack/store/storetest"
)

func TestDoseAccountingShiftsAndDailySummaries(t *testing.T) {
	h := newHarness(t, ingest.DefaultWriterConfig(), testConfig())
	ctx := context.Background()
	if err := h.store.WriteSamples(ctx, storetest.HandDoseTrack(h.dev.ID, storetest.Base)); err != nil {
		t.Fatal(err)
	}
	viewer := h.loginAs(t, "viewer", "viewer")
	op := h.loginAs(t, "op", "operator")
	dev := itoa(h.dev.ID)
	rng := "from=2026-11-01T11:00:00Z&to=2026-11-01T13:00:00Z"

	var got struct {
		DeviceID int64   `json:"device_id"`
		DoseUSv  float64 `json:"dose_usv"`
		Gaps     int     `json:"gaps"`
		Above    []struct {
			Level   float64 `json:"level_usvh"`
			Seconds float64 `json:"seconds"`
		} `json:"above"`
	}
	status, _, body := viewer.get("/api/v1/devices/"+dev+"/dose?"+rng+"&levels=5,2", "")
	if err := json.Unmarshal(body, &got); err != nil || status != 200 {
		t.Fatalf("dose: %d %s", status, body)
	}
	if math.Abs(got.DoseUSv-storetest.HandDoseUSv) > 1e-15 || got.Gaps != 1 || len(got.Above) != 2 ||
		got.Above[0].Level != 2 || math.Abs(got.Above[0].Seconds-53) > 1e-9 || math.Abs(got.Above[1].Seconds-16) > 1e-9 {
		t.Fatalf("dose %+v, want %v µSv, 1 gap, 53 s above 2, 16 s above 5", got, storetest.HandDoseUSv)
	}
	// A gap limit of 3 min bridges the 170 s gap: (3+9)/2 µSv/h × 170 s more.
	status, _, body = viewer.get("/api/v1/devices/"+dev+"/dose?"+rng+"&max_gap=3m", "")
	if err := json.Unmarshal(body, &got); err != nil || status != 200 || math.Abs(got.DoseUSv-(242.0+1020)/3600) > 1e-15 {
		t.Fatalf("bridged dose: %d %s", status, body)
	}

	// A shift covering the first 100 s takes the first three intervals.
	status, body = op.do("POST", "/api/v1/shifts", map[string]any{"device_id": h.dev.ID, "crew": "Red watch",
		"start": "2026-11-01T12:00:00Z", "end": "2026-11-01T12:01:40Z"})
	var sh struct {
		ID        int64  `json:"id"`
		CreatedBy string `json:"created_by"`
	}
	if err := json.Unmarshal(body, &sh); err != nil || status != http.StatusCreated || sh.CreatedBy != "op" {
		t.Fatalf("create shift: %d %s", status, body)
	}
	var sd struct {
		Dose struct {
			DoseUSv float64 `json:"dose_usv"`
		} `json:"dose"`
	}
	status, _, body = viewer.get("/api/v1/shifts/"+itoa(sh.ID)+"/dose", "")
	if err := json.Unmarshal(body, &sd); err != nil || status != 200 || math.Abs(sd.Dose.DoseUSv-80.0/3600) > 1e-15 {
		t.Fatalf("shift dose: %d %s, want %v", status, body, 80.0/3600)
	}
	// Viewers read shifts but may not write them; bad fields are named.
	if status, _ := viewer.do("POST", "/api/v1/shifts", map[string]any{"device_id": h.dev.ID, "crew": "x", "start": "2026-11-01T12:00:00Z", "end": "2026-11-01T13:00:00Z"}); status != http.StatusForbidden {
		t.Errorf("viewer created a shift: %d", status)
	}
	for _, tc := range []struct {
		body  map[string]any
		field string
	}{
		{map[string]any{"device_id": 999999, "crew": "x", "start": "2026-11-01T12:00:00Z", "end": "2026-11-01T13:00:00Z"}, "device_id"},
		{map[string]any{"device_id": h.dev.ID, "crew": " ", "start": "2026-11-01T12:00:00Z", "end": "2026-11-01T13:00:00Z"}, "crew"},
		{map[string]any{"device_id": h.dev.ID, "crew": "x", "start": "2026-11-01T12:00:00Z", "end": "2026-11-01T12:00:00Z"}, "end"},
		{map[string]any{"device_id": h.dev.ID, "crew": "x", "start": "2026-11-01T12:00:00Z", "end": "2026-11-20T12:00:00Z"}, "end"},
	} {
		status, body := op.do("POST", "/api/v1/shifts", tc.body)
		var e struct{ Field string }
		_ = json.Unmarshal(body, &e)
		if status != http.StatusBadRequest || e.Field != tc.field {
			t.Errorf("%v: %d %s, want 400 naming %s", tc.body, status, body, tc.field)
		}
	}
	status, body = op.do("PUT", "/api/v1/shifts/"+itoa(sh.ID), map[string]any{"device_id": h.dev.ID, "crew": "Blue watch",
		"start": "2026-11-01T12:00:00Z", "end": "2026-11-01T12:05:00Z"})
	if status != 200 || !strings.Contains(string(body), `"crew":"Blue watch"`) {
		t.Fatalf("update shift: %d %s", status, body)
	}
	status, _, body = viewer.get("/api/v1/shifts?crew=Blue%20watch", "")
	if status != 200 || strings.Count(string(body), `"id":`) != 1 {
		t.Fatalf("list shifts: %d %s", status, body)
	}
	if status, _ := op.do("DELETE", "/api/v1/shifts/"+itoa(sh.ID), nil); status != http.StatusNoContent {
		t.Fatalf("delete shift: %d", status)
	}
	if status, _, _ := viewer.get("/api/v1/shifts/"+itoa(sh.ID), ""); status != http.StatusNotFound {
		t.Fatalf("deleted shift: %d", status)
	}

	// Daily summary: one day, the same dose; the group CSV has its row.
	var daily struct {
		Days []struct {
			Date      string  `json:"date"`
			DoseUSv   float64 `json:"dose_usv"`
			Samples   int     `json:"samples"`
			Reporting float64 `json:"reporting_seconds"`
		} `json:"days"`
	}
	status, _, body = viewer.get("/api/v1/devices/"+dev+"/daily?"+rng+"&levels=2", "")
	if err := json.Unmarshal(body, &daily); err != nil || status != 200 || len(daily.Days) != 1 || daily.Days[0].Date != "2026-11-01" ||
		daily.Days[0].Samples != 6 || daily.Days[0].Reporting != 66 || math.Abs(daily.Days[0].DoseUSv-storetest.HandDoseUSv) > 1e-15 {
		t.Fatalf("daily: %d %s", status, body)
	}
	status, hdr, body := viewer.get("/api/v1/groups/patrol/daily?"+rng+"&levels=2&format=csv", "")
	rows, err := csv.NewReader(strings.NewReader(string(body))).ReadAll()
	if err != nil || status != 200 || hdr.Get("Content-Type") != "text/csv; charset=utf-8" || len(rows) != 2 ||
		rows[0][len(rows[0])-1] != "above_2_usvh_s" || rows[1][1] != "veh-http" || rows[1][3] != "2026-11-01" || rows[1][len(rows[1])-1] != "53" {
		t.Fatalf("group daily csv: %d %v %q", status, err, rows)
	}

	// The 1-minute aggregates: minute 12:00 holds t=0..30 s, 12:03 t=200 and 236.
	var mins struct {
		Minutes []struct {
			Bucket  time.Time `json:"bucket"`
			Max     *float64  `json:"max"`
			Samples int       `json:"samples"`
		} `json:"minutes"`
	}
	status, _, body = viewer.get("/api/v1/devices/"+dev+"/dose/minutes?"+rng, "")
	if err := json.Unmarshal(body, &mins); err != nil || status != 200 || len(mins.Minutes) != 2 ||
		mins.Minutes[0].Samples != 4 || *mins.Minutes[0].Max != 3 || *mins.Minutes[1].Max != 9 || mins.Minutes[1].Samples != 2 ||
		!mins.Minutes[1].Bucket.Equal(storetest.Base.Add(3*time.Minute)) {
		t.Fatalf("minutes: %d %s", status, body)
	}
	status, _, body = viewer.get("/api/v1/devices/"+dev+"/dose/minutes?from=2026-10-01T00:00:00Z&to=2026-11-01T00:00:00Z", "")
	if status != http.StatusBadRequest || !strings.Contains(string(body), `"field":"from"`) {
		t.Fatalf("a month of minutes: %d %s", status, body)
	}
}
