package server_test

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"testing"

	"encoding/json"

	"github.com/radtrack/radtrack/auth"
	"github.com/radtrack/radtrack/importer"
	"github.com/radtrack/radtrack/ingest"
)

// Issue 13 item 5: importing the same log again stores no new rows and
// must not change its alarms either: same sample counts, no second
// condition_ended.
func TestReimportLeavesAlarmsAlone(t *testing.T) {
	path := filepath.Join("..", "..", "shared", "data", "radiation", "safecast_bgeigie_BGRDD_fukushima_2012-07-01.log")
	if _, err := os.Stat(path); err != nil {
		t.Skipf("%s not available: %v", path, err)
	}
	h := newHarness(t, ingest.DefaultWriterConfig(), testConfig())
	op := h.loginAs(t, "ops", auth.RoleOperator)
	im := importer.Importer{Pipeline: h.pipeline, Device: h.dev}
	snapshot := func() map[int64]string {
		out := map[int64]string{}
		for _, a := range op.alarms("?imported=true") {
			status, body := op.do("GET", fmt.Sprintf("/api/v1/alarms/%d", a.ID), nil)
			var d struct{ Events []struct{ Type string } }
			if err := json.Unmarshal(body, &d); status != http.StatusOK || err != nil {
				t.Fatalf("detail: %d %s", status, body)
			}
			out[a.ID] = fmt.Sprintf("%s samples=%d events=%v", a.RuleName, a.Samples, d.Events)
		}
		return out
	}
	if _, err := im.File(context.Background(), path); err != nil {
		t.Fatal(err)
	}
	first := snapshot()
	if len(first) != 2 {
		t.Fatalf("first import: %v, want the notice and OIL3 alarms", first)
	}
	if _, err := im.File(context.Background(), path); err != nil {
		t.Fatal(err)
	}
	second := snapshot()
	if fmt.Sprint(second) != fmt.Sprint(first) {
		t.Fatalf("re-import changed the alarms:\nbefore %v\nafter  %v", first, second)
	}
}
