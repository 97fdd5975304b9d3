package detection

import (
	"context"
	"fmt"
	"io"
	"os"

	"github.com/radtrack/radtrack/rules"
)

// Options of one evaluation run.
type Options struct {
	DataDir  string   // the shared radiation logs; "" for none
	Files    []string // more logs
	PlotPath string   // PNG of detection probability; "" for none
	Grid     GridConfig
	Full     bool // print every grid point
}

// Run is `radtrack eval detection`: it replays every log through the rules
// (a), sets the ideal detector's false-alarm rate to the rules' measured
// one, injects the source grid (b, c) and writes the report to w.
func Run(ctx context.Context, opt Options, w io.Writer) error {
	var tracks []Track
	var skipped []Skipped
	if opt.DataDir != "" {
		t, s, err := LoadDir(opt.DataDir)
		if err != nil {
			return err
		}
		tracks, skipped = t, s
	}
	t, s, err := LoadFiles(opt.Files)
	if err != nil {
		return err
	}
	tracks, skipped = append(tracks, t...), append(skipped, s...)
	if len(tracks) == 0 {
		return fmt.Errorf("eval: no usable logs (%d skipped)", len(skipped))
	}
	if opt.Grid.Rules == nil {
		opt.Grid.Rules = rules.DefaultRules()
	}
	fmt.Fprintf(w, "Level decisions: α = %g per decision over windows %v s (counts); dose-only: %d of %d readings, or one ≥ %g× the level\n\n",
		rules.LevelAlpha, rules.LevelWindowsS, rules.DoseKOfN.K, rules.DoseKOfN.N, float64(rules.DoseSingleFactor))
	var reps []Replay
	for _, tr := range tracks {
		rep, err := ReplayTrack(tr, opt.Grid.Rules)
		if err != nil {
			return err
		}
		reps = append(reps, rep)
	}
	WriteFalseAlarms(w, reps, skipped)

	hours, tot := Totals(reps)
	falseAll := 0
	for _, rc := range tot {
		falseAll += rc.False
	}
	// The ideal detector gets the rules' measured rate; with none measured,
	// the smallest rate these hours can show (one false alarm in them).
	opt.Grid.IdealFAPerHour = float64(max(falseAll, 1)) / hours
	points, err := RunGrid(ctx, tracks, opt.Grid)
	if err != nil {
		return err
	}
	trials := 0
	if len(points) > 0 {
		trials = points[0].Trials
	}
	curves := Curves(points)
	WriteDetection(w, curves, opt.Grid, trials, opt.Full)
	if opt.PlotPath != "" {
		f, err := os.Create(opt.PlotPath)
		if err != nil {
			return fmt.Errorf("eval: plot: %w", err)
		}
		if err := WritePlot(f, curves); err != nil {
			f.Close()
			return err
		}
		if err := f.Close(); err != nil {
			return fmt.Errorf("eval: plot: %w", err)
		}
		fmt.Fprintf(w, "plot written to %s\n", opt.PlotPath)
	}
	return nil
}
