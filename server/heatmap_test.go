package server_test

import (
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/radtrack/radtrack/ingest"
)

// The heatmap answers cells of whole base cells and says their size: at
// 52°N 200 m becomes 4 base cells north–south (0.002°, 222 m) and 6
// east–west (0.003°), and every sample lands in the cell that holds it.
func TestHeatmapCellsAreWholeBaseCells(t *testing.T) {
	h := newHarness(t, ingest.DefaultWriterConfig(), testConfig())
	t0 := time.Now().UTC().Add(-time.Hour).Truncate(time.Second)
	var lines []string
	for i := range 30 {
		lines = append(lines, fmt.Sprintf(`{"time":%q,"lat":52.0011,"lon":4.1029,"dose_rate":%.2f}`,
			t0.Add(time.Duration(i)*time.Second).Format(time.RFC3339), 0.1+float64(i%3)*0.1))
	}
	if resp, body := h.post(t, h.token, "application/x-ndjson", []byte(strings.Join(lines, "\n"))); resp.StatusCode != http.StatusOK {
		t.Fatalf("post: %d %s", resp.StatusCode, body)
	}
	viewer := h.loginAs(t, "heat-viewer", "viewer")
	status, body := viewer.do(http.MethodGet, "/api/v1/heatmap?bbox=4,51.9,4.2,52.1&cell_m=200", nil)
	if status != http.StatusOK {
		t.Fatalf("heatmap: %d %s", status, body)
	}
	var got struct {
		CellM   float64 `json:"cell_m"`
		CellLon float64 `json:"cell_lon"`
		CellLat float64 `json:"cell_lat"`
		Cells   []struct {
			Lon, Lat, Max, Avg float64
			Samples            int
		} `json:"cells"`
	}
	if err := json.Unmarshal(body, &got); err != nil {
		t.Fatal(err)
	}
	if got.CellM != 222 || math.Abs(got.CellLat-0.002) > 1e-12 || math.Abs(got.CellLon-0.003) > 1e-12 {
		t.Fatalf("cell size %v m, %v° × %v°, want 222 m, 0.003° × 0.002°", got.CellM, got.CellLon, got.CellLat)
	}
	if len(got.Cells) != 1 {
		t.Fatalf("cells %+v, want one", got.Cells)
	}
	c := got.Cells[0]
	// 4.1029 lies in [4.101, 4.104), 52.0011 in [52.000, 52.002).
	if math.Abs(c.Lon-4.1025) > 1e-9 || math.Abs(c.Lat-52.001) > 1e-9 || c.Samples != 30 || c.Max != 0.3 || math.Abs(c.Avg-0.2) > 1e-9 {
		t.Fatalf("cell %+v, want centre 4.1025,52.001 with 30 samples, max 0.3, avg 0.2", c)
	}
}
