package server_test

import (
	"context"
	"encoding/json"
	"math"
	"net/http"
	"testing"
	"time"

	"github.com/radtrack/radtrack/ingest"
	"github.com/radtrack/radtrack/ingest/batch"
	"github.com/radtrack/radtrack/sample"
)

// A columnar body is stored like NDJSON: the valid samples exactly, the
// invalid ones refused by index naming the field, a malformed body
// refused whole with 400 naming "body".
func TestColumnarBodyStoredLikeNDJSON(t *testing.T) {
	h := newHarness(t, ingest.DefaultWriterConfig(), testConfig())
	t0 := time.Now().UTC().Add(-time.Hour).Truncate(time.Millisecond)
	var samples []sample.Sample
	for i := range 5 {
		s := sample.New()
		s.Time = t0.Add(time.Duration(i) * time.Second)
		s.Lat, s.Lon, s.GPSValid = 51.9+float64(i)*1e-4, 4.1, true
		s.DoseRate, s.Counts, s.CountInterval, s.RadValid, s.Satellites = 0.1+float64(i)/100, 3, 5, true, 9
		samples = append(samples, s)
	}
	samples[2].DoseRate = -1              // refused by validation (pipeline)
	samples[4].CountInterval = math.NaN() // refused by the decoder
	resp, body := h.post(t, h.token, batch.ColumnarType, batch.AppendColumnar(nil, samples))
	var res ingest.Result
	if err := json.Unmarshal(body, &res); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d body %s", resp.StatusCode, body)
	}
	if res.Accepted != 3 || len(res.Rejected) != 2 || res.Rejected[0].Index != 2 || res.Rejected[0].Field != "dose_rate" ||
		res.Rejected[1].Index != 4 || res.Rejected[1].Field != "count_interval" {
		t.Fatalf("result %+v", res)
	}
	var n int
	var maxDose float64
	var first time.Time
	if err := h.store.Pool().QueryRow(context.Background(),
		`SELECT count(*), max(dose_rate), min(time) FROM measurements WHERE device_id = $1`, h.dev.ID).Scan(&n, &maxDose, &first); err != nil {
		t.Fatal(err)
	}
	if n != 3 || maxDose != 0.13 || !first.Equal(t0) {
		t.Fatalf("stored %d samples, max dose %v, first %v; want 3, 0.13, %v", n, maxDose, first, t0)
	}

	resp, body = h.post(t, h.token, batch.ColumnarType, []byte("RTC1 not a header"))
	var apiErr struct{ Field string }
	_ = json.Unmarshal(body, &apiErr)
	if resp.StatusCode != http.StatusBadRequest || apiErr.Field != "body" {
		t.Fatalf("malformed columnar body: status %d body %s", resp.StatusCode, body)
	}
}
