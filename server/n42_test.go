package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"testing"
	"time"

	"github.com/radtrack/radtrack/ingest"
	"github.com/radtrack/radtrack/internal/testutil"
	"github.com/radtrack/radtrack/spectra"
	"github.com/radtrack/radtrack/store"
)

func (h *harness) postN42(t *testing.T, token, contentType string, body []byte) (int, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, h.url+"/api/v1/n42", bytes.NewReader(body))
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var out map[string]any
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatalf("status %d, body %s: %v", resp.StatusCode, b, err)
	}
	return resp.StatusCode, out
}

func liveN42(t0 time.Time) []byte {
	return []byte(fmt.Sprintf(`<?xml version="1.0"?>
<RadInstrumentData xmlns="http://physics.nist.gov/N42/2011/N42">
  <RadInstrumentInformation id="I"><RadInstrumentIdentifier>SN-1</RadInstrumentIdentifier></RadInstrumentInformation>
  <RadDetectorInformation id="G"><RadDetectorCategoryCode>Gamma</RadDetectorCategoryCode></RadDetectorInformation>
  <EnergyCalibration id="C"><CoefficientValues>0 3 0</CoefficientValues></EnergyCalibration>
  <RadMeasurement id="m1">
    <StartDateTime>%s</StartDateTime><RealTimeDuration>PT1S</RealTimeDuration>
    <Spectrum id="s1" radDetectorInformationReference="G" energyCalibrationReference="C"><LiveTimeDuration>PT0.99S</LiveTimeDuration>
      <ChannelData Compression="CountedZeroes">0 5 10 20 0 2 7</ChannelData></Spectrum>
    <DoseRate radDetectorInformationReference="G"><DoseRateValue>0.15</DoseRateValue></DoseRate>
    <RadInstrumentState><StateVector><GeographicPoint><LatitudeValue>48.1</LatitudeValue><LongitudeValue>11.5</LongitudeValue></GeographicPoint></StateVector></RadInstrumentState>
  </RadMeasurement>
  <RadMeasurement id="m2">
    <StartDateTime>%s</StartDateTime>
    <DoseRate><DoseRateValue>-1</DoseRateValue></DoseRate>
  </RadMeasurement>
  <AnalysisResults radMeasurementReferences="m1"><AnalysisAlgorithmName>NID</AnalysisAlgorithmName>
    <NuclideAnalysisResults><Nuclide><NuclideIdentifiedIndicator>true</NuclideIdentifiedIndicator><NuclideName>Cs-137</NuclideName><NuclideIDConfidenceValue>87</NuclideIDConfidenceValue></Nuclide></NuclideAnalysisResults>
  </AnalysisResults>
</RadInstrumentData>`, t0.Format(time.RFC3339Nano), t0.Add(time.Second).Format(time.RFC3339Nano)))
}

func TestPostN42StoresSamplesAndSpectra(t *testing.T) {
	h := newHarness(t, ingest.DefaultWriterConfig(), testConfig())
	ctx := context.Background()
	t0 := time.Now().UTC().Add(-time.Minute).Truncate(time.Millisecond)
	status, res := h.postN42(t, h.token, "application/xml", liveN42(t0))
	if status != http.StatusOK || res["accepted"] != 1.0 || res["spectra"] != 1.0 || res["nuclides"] != 1.0 {
		t.Fatalf("status %d %v", status, res)
	}
	rej, _ := res["rejected"].([]any)
	if len(rej) != 1 || rej[0].(map[string]any)["field"] != "DoseRateValue" || rej[0].(map[string]any)["index"] != 1.0 {
		t.Fatalf("rejected %v", res["rejected"])
	}
	var dose float64
	var source string
	var imported bool
	if err := h.store.Pool().QueryRow(ctx, `SELECT dose_rate, source, imported FROM measurements WHERE device_id = $1`, h.dev.ID).Scan(&dose, &source, &imported); err != nil {
		t.Fatal(err)
	}
	if dose != 0.15 || source != "http" || imported {
		t.Errorf("sample dose %v source %q imported %v", dose, source, imported)
	}
	sp, err := h.store.SpectraRange(ctx, store.SpectrumQuery{DeviceID: h.dev.ID, From: t0, To: t0.Add(time.Minute)})
	if err != nil || len(sp) != 1 {
		t.Fatalf("spectra %v %v", sp, err)
	}
	want := []uint32{0, 0, 0, 0, 0, 10, 20, 0, 0, 7}
	if got := sp[0]; !got.Time.Equal(t0) || fmt.Sprint(got.Counts) != fmt.Sprint(want) || got.LiveTime != 0.99 || got.RealTime != 1 ||
		fmt.Sprint(got.Calibration) != "[0 3 0]" || len(got.Nuclides) != 1 || got.Nuclides[0].Name != "Cs-137" || *got.Nuclides[0].Confidence != 87 {
		t.Errorf("spectrum %+v", got)
	}
	// The same document again stores nothing twice.
	if status, res := h.postN42(t, h.token, "application/xml", liveN42(t0)); status != http.StatusOK || res["spectra"] != 1.0 {
		t.Fatalf("retry: %d %v", status, res)
	}
	if sp, _ := h.store.SpectraRange(ctx, store.SpectrumQuery{DeviceID: h.dev.ID, From: t0, To: t0.Add(time.Minute)}); len(sp) != 1 {
		t.Errorf("%d spectra after a retry", len(sp))
	}
}

func TestPostN42Refusals(t *testing.T) {
	h := newHarness(t, ingest.DefaultWriterConfig(), testConfig())
	doc := liveN42(time.Now().UTC())
	for _, c := range []struct {
		name, token, ct string
		body            []byte
		status          int
		field           string
	}{
		{"no token", "", "application/xml", doc, http.StatusUnauthorized, "Authorization"},
		{"wrong token", "rt_dev_nope", "application/xml", doc, http.StatusUnauthorized, "Authorization"},
		{"json", h.token, "application/json", doc, http.StatusUnsupportedMediaType, "Content-Type"},
		{"not xml", h.token, "application/xml", []byte("<RadInstrumentData><"), http.StatusBadRequest, "body"},
		{"other root", h.token, "text/xml", []byte("<Other/>"), http.StatusBadRequest, "body"},
	} {
		status, res := h.postN42(t, c.token, c.ct, c.body)
		if status != c.status || res["field"] != c.field || res["error"] == "" {
			t.Errorf("%s: %d %v", c.name, status, res)
		}
	}
	if n := h.count(t); n != 0 {
		t.Errorf("%d samples stored by refused requests", n)
	}
}

// The race-track drive, posted as the instrument would: 153 spectra.
func TestPostN42RaceTrack(t *testing.T) {
	body, err := os.ReadFile(testutil.RequiredRadiationFile(t, "interspec_racetrack_drive_2024-10-20.n42"))
	if err != nil {
		t.Fatal(err)
	}
	h := newHarness(t, ingest.DefaultWriterConfig(), testConfig())
	status, res := h.postN42(t, h.token, "application/xml", body)
	if status != http.StatusOK || res["spectra"] != 153.0 || res["accepted"] != 153.0 || len(res["rejected"].([]any)) != 0 {
		t.Fatalf("status %d: %v", status, res)
	}
	var total int64
	if err := h.store.Pool().QueryRow(context.Background(), `SELECT sum(total) FROM spectra WHERE device_id = $1`, h.dev.ID).Scan(&total); err != nil || total != 843302 {
		t.Fatalf("channel sum %d %v, want 843302", total, err)
	}
}

// The race-track pass as an incident: the peak vehicle's summed spectrum
// during it against the minutes before, with the hints of package spectra
// on exactly those spectra.
func TestIncidentSpectrum(t *testing.T) {
	path := testutil.RequiredRadiationFile(t, "interspec_racetrack_drive_2024-10-20.n42")
	body, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	h := newHarness(t, ingest.DefaultWriterConfig(), testConfig())
	if status, res := h.postN42(t, h.token, "application/xml", body); status != http.StatusOK {
		t.Fatalf("post: %d %v", status, res)
	}
	ctx := context.Background()
	start := time.Date(2024, 10, 20, 15, 35, 55, 0, time.UTC) // measurement 0; one a second
	at := func(i int) time.Time { return start.Add(time.Duration(i) * time.Second) }
	// Alarms from measurement 67 to 73: the foreground is 62..78 (5 s
	// margins), the background 0..36 (ending 30 s before measurement 67).
	id, err := h.store.SaveIncident(ctx, store.Incident{State: "raised", Severity: "alarm", FirstSeen: at(67), LastSeen: at(73),
		PeakTime: at(70), PeakDeviceID: h.dev.ID, PeakDose: 0.3})
	if err != nil {
		t.Fatal(err)
	}
	viewer := h.loginAs(t, "vic", "viewer")
	status, raw := viewer.do("GET", fmt.Sprintf("/api/v1/incidents/%d/spectrum", id), nil)
	if status != http.StatusOK {
		t.Fatalf("%d %s", status, raw)
	}
	var got struct {
		Foreground, Background struct {
			Spectra     int
			Counts      []uint64
			Calibration []float64
		}
		Hints []spectra.Hint
		Lines []spectra.Line
	}
	if err := json.Unmarshal(raw, &got); err != nil {
		t.Fatal(err)
	}
	all, err := h.store.SpectraRange(ctx, store.SpectrumQuery{DeviceID: h.dev.ID, From: start, To: at(200)})
	if err != nil || len(all) != 153 {
		t.Fatalf("%d spectra %v", len(all), err)
	}
	sum := func(sp []store.Spectrum) (n int64) {
		for _, s := range sp {
			n += s.Total()
		}
		return n
	}
	total := func(c []uint64) (n int64) {
		for _, v := range c {
			n += int64(v)
		}
		return n
	}
	fg, bg := all[62:79], all[0:37]
	if got.Foreground.Spectra != 17 || got.Background.Spectra != 37 || total(got.Foreground.Counts) != sum(fg) || total(got.Background.Counts) != sum(bg) ||
		len(got.Foreground.Counts) != 1024 || fmt.Sprint(got.Foreground.Calibration) != "[1.8081 2.9994 0]" {
		t.Fatalf("foreground %d spectra %d counts, background %d spectra %d counts; want 17/%d, 37/%d",
			got.Foreground.Spectra, total(got.Foreground.Counts), got.Background.Spectra, total(got.Background.Counts), sum(fg), sum(bg))
	}
	want := spectra.Analyze(fg, bg, nil)
	t.Logf("race-track pass hints: %+v", want.Hints)
	if fmt.Sprint(got.Hints) != fmt.Sprint(want.Hints) || len(got.Lines) != len(want.Lines) {
		t.Errorf("hints %+v, want %+v", got.Hints, want.Hints)
	}
	if status, _ := viewer.do("GET", "/api/v1/incidents/999999/spectrum", nil); status != http.StatusNotFound {
		t.Errorf("unknown incident: %d", status)
	}
	if status, _ := h.anonymous(t).do("GET", fmt.Sprintf("/api/v1/incidents/%d/spectrum", id), nil); status != http.StatusUnauthorized {
		t.Errorf("anonymous: %d", status)
	}
}
