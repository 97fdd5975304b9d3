package storetest

import (
	"context"
	"math"
	"testing"
	"time"

	"github.com/radtrack/radtrack/store"
)

func testHeatmap(t *testing.T, s store.Store) {
	ctx := context.Background()
	d, _ := NewDevice(t, s, "veh-heat")
	// Two clusters well inside two 0.001° cells (centres 140.1005 and
	// 140.1025, lat 37.4005): 20 samples in the first, 19 + one hot sample
	// in the second; one sample without fix, which must not count.
	in := Samples(d.ID, Base, 40)
	for i := range in {
		in[i].Lon, in[i].Lat = 140.1005+float64(i%5)*0.00005-0.0001, 37.4005
		if i >= 20 {
			in[i].Lon += 0.002
		}
	}
	in[33].DoseRate = 3
	in[39].GPSValid = false
	if err := s.WriteSamples(ctx, in); err != nil {
		t.Fatal(err)
	}
	q := store.HeatmapQuery{From: Base, To: Base.Add(time.Hour), BBox: [4]float64{140, 37, 141, 38},
		CellLon: 0.001, CellLat: 0.001}
	cells, err := s.Heatmap(ctx, q)
	if err != nil {
		t.Fatal(err)
	}
	if len(cells) != 2 {
		t.Fatalf("%d cells, want 2: %+v", len(cells), cells)
	}
	hot, cold := cells[0], cells[1] // ordered by max dose
	if hot.Max != 3 || hot.Samples != 19 || cold.Samples != 20 || cold.Max != 0.19 {
		t.Fatalf("cells %+v", cells)
	}
	if math.Abs(hot.Lon-140.1025) > 1e-9 || math.Abs(hot.Lat-37.4005) > 1e-9 || math.Abs(cold.Lon-140.1005) > 1e-9 {
		t.Fatalf("cell centres %+v", cells)
	}
	q.BBox = [4]float64{0, 0, 1, 1}
	if none, err := s.Heatmap(ctx, q); err != nil || len(none) != 0 {
		t.Fatalf("outside the box: %+v, %v", none, err)
	}
}
