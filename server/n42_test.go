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
