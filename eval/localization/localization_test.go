package localization

import (
	"bytes"
	"context"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/radtrack/radtrack/eval/detection"
	"github.com/radtrack/radtrack/localize"
)

// place puts the window's moment d metres to the chosen side of the
// origin, travelling at the chosen azimuth.
func TestPlace(t *testing.T) {
	// A north-heading window: the moment at the origin, one reading
	// before and after.
	rs := []localize.Reading{{X0: 0, Y0: -10, X1: 0, Y1: 0}, {X0: 0, Y0: 0, X1: 0, Y1: 10}}
	place(rs, math.Pi/2, 30, 1) // heading east, source on the right (south)
	if math.Abs(rs[0].X1) > 1e-9 || math.Abs(rs[0].Y1-30) > 1e-9 || math.Abs(rs[1].X1-10) > 1e-9 || math.Abs(rs[1].Y1-30) > 1e-9 {
		t.Fatalf("%+v", rs)
	}
	if d := segDist(rs[0]); math.Abs(d-30) > 1e-9 {
		t.Fatalf("closest %v", d)
	}
}

// A short run on the shared logs: every scenario runs its trials and the
// multi-pass rows localise to metres (a regression guard, not the goals).
func TestRunShort(t *testing.T) {
	opt := DefaultOptions()
	opt.DataDir = "../../" + opt.DataDir
	if _, err := os.Stat(opt.DataDir); err != nil {
		t.Skipf("shared data not here: %v", err)
	}
	opt.Trials = 8
	var buf bytes.Buffer
	if err := Run(context.Background(), opt, &buf); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	t.Log(out)
	for _, sc := range Scenarios() {
		if !strings.Contains(out, sc.Name) {
			t.Errorf("no row %q", sc.Name)
		}
	}
	// Four passes of a 10 GBq source within 50 m, on the real counts of
	// both logs: metres, not the grid's hundreds.
	var tracks []detection.Track
	for _, name := range logs {
		tr, err := detection.LoadFile(filepath.Join(opt.DataDir, name))
		if err != nil {
			t.Fatal(err)
		}
		tracks = append(tracks, tr)
	}
	sites := [][]site{passSites(&tracks[0], opt.WindowS), passSites(&tracks[1], opt.WindowS)}
	res := Result{Scenario: Scenario{Name: "4 passes", ActivityMBq: 1e4, Distances: []float64{50, 50, 50, 50}, MinD: 10, Random: true}}
	rng := rand.New(rand.NewPCG(1, 2))
	for range 20 {
		if err := trial(res.Scenario, sites, opt, rng, &res); err != nil {
			t.Fatal(err)
		}
	}
	if m := Median(res.Errors); m > 15 {
		t.Errorf("4 passes: median error %.1f m", m)
	}
}
