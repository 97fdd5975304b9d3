package bench

import (
	"context"
	"io"
	"testing"
	"time"

	"github.com/radtrack/radtrack/internal/pgtest"
)

// The scale benchmark loads exactly the history it is asked for into every
// engine and its questions return what that history holds: a 60-s fleet
// gives 480 samples in a shift, 60 per vehicle-hour, 10 in ten minutes.
func TestScaleLoadsAndAsksEveryEngine(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the scale benchmark (small)")
	}
	engines := []string{"embedded"}
	for _, e := range pgtest.Engines() {
		engines = append(engines, e.NewDatabase(t))
	}
	cfg := ScaleConfig{Engines: engines, Vehicles: 3, Days: 2, Interval: time.Minute, Batch: 500, Writers: 2, Repeats: 3, Seed: 7}
	res, err := RunScale(context.Background(), cfg, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if len(res) != len(engines) {
		t.Fatalf("%d results for %d engines", len(res), len(engines))
	}
	want := map[string]int{
		"track of one vehicle, 8 h shift": 480,
		"replay 50 vehicles, 1 h":         3 * 60, // 50 vehicles or the whole fleet when smaller
		"alarm's samples, 10 min":         10,
	}
	for _, r := range res {
		if r.Rows != 3*2*1440 {
			t.Errorf("%s: %d rows loaded, want %d", r.Engine, r.Rows, 3*2*1440)
		}
		if len(r.RowsPerSec) != 2 || r.BytesPerMillion <= 0 {
			t.Errorf("%s: rows/s by day %v, bytes per million %v", r.Engine, r.RowsPerSec, r.BytesPerMillion)
		}
		heat := 0
		for _, q := range r.Queries {
			if w, ok := want[q.Name]; ok && q.Rows != w {
				t.Errorf("%s: %s returned %d rows, want %d", r.Engine, q.Name, q.Rows, w)
			}
			if q.P50 <= 0 || q.P99 < q.P50 {
				t.Errorf("%s: %s p50 %v p99 %v", r.Engine, q.Name, q.P50, q.P99)
			}
			if q.Name == "heatmap of a day, 100 m cells" {
				heat = q.Rows
			}
		}
		if heat == 0 {
			t.Errorf("%s: the day's heatmap is empty", r.Engine)
		}
	}
}
