package server_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/radtrack/radtrack/auth"
	"github.com/radtrack/radtrack/ingest"
)

// Issue 13 item 5: an alarm's detail lists the samples of its episode from
// first_seen to last_seen inclusive — a one-sample episode shows its one
// sample.
func TestAlarmDetailIncludesLastSample(t *testing.T) {
	h := newHarness(t, ingest.DefaultWriterConfig(), testConfig())
	op := h.loginAs(t, "ops", auth.RoleOperator)
	t0 := time.Now().UTC().Add(-10 * time.Minute).Truncate(time.Second).Add(123456 * time.Microsecond)
	var buf bytes.Buffer
	for i, dose := range []float64{0.08, 5, 0.08, 0.08, 0.08} {
		fmt.Fprintf(&buf, `{"time":%q,"lat":51.95,"lon":%.5f,"dose_rate":%g}`+"\n",
			t0.Add(time.Duration(i)*time.Second).Format(time.RFC3339Nano), 4.05+float64(i)*1e-4, dose)
	}
	if resp, b := h.post(t, h.token, "application/x-ndjson", buf.Bytes()); resp.StatusCode != http.StatusOK {
		t.Fatalf("post: %d %s", resp.StatusCode, b)
	}
	var oil3 *alarmJSON
	for _, a := range op.alarms("?state=open") {
		if a.RuleID == 2 {
			oil3 = &a
		}
	}
	if oil3 == nil || oil3.Samples != 1 {
		t.Fatalf("OIL3 alarm %+v, want one with 1 sample", oil3)
	}
	status, body := op.do("GET", fmt.Sprintf("/api/v1/alarms/%d", oil3.ID), nil)
	var detail struct {
		Samples []struct {
			Time     time.Time `json:"time"`
			DoseRate *float64  `json:"dose_rate"`
		}
	}
	if err := json.Unmarshal(body, &detail); status != http.StatusOK || err != nil {
		t.Fatalf("detail: %d %s", status, body)
	}
	if len(detail.Samples) != 1 || !detail.Samples[0].Time.Equal(t0.Add(time.Second)) || *detail.Samples[0].DoseRate != 5 {
		t.Fatalf("episode samples %+v, want the one at %v with 5 µSv/h", detail.Samples, t0.Add(time.Second))
	}
}
