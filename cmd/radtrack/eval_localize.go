package main

import (
	"context"
	"flag"
	"io"

	"github.com/radtrack/radtrack/eval/localization"
)

// runEvalLocalize is "radtrack eval localize [-data DIR] [-trials N] [-seed S] …" (flags below).
func runEvalLocalize(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	opt := localization.DefaultOptions()
	fs := flag.NewFlagSet("eval localize", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&opt.DataDir, "data", opt.DataDir, "directory of the shared drive logs")
	fs.IntVar(&opt.Trials, "trials", opt.Trials, "Monte-Carlo trials per scenario")
	fs.Uint64Var(&opt.Seed, "seed", opt.Seed, "seed of the draws")
	fs.Float64Var(&opt.WindowS, "window", opt.WindowS, "half-width of a pass window, seconds")
	fs.BoolVar(&opt.PoissonBackground, "poisson-background", false, "replace the real counts by Poisson draws of each pass's mean rate (the model's background)")
	fs.BoolVar(&opt.BackgroundTrend, "trend", false, "fit each pass's background with a linear trend along the pass")
	fs.IntVar(&opt.NaIStretch, "nai-stretch", opt.NaIStretch, "draw the NaI rows' background from this stretch of the race-track's alone (0 flat, 1 climb and hump; -1 both)")
	fs.BoolVar(&opt.Independent, "independent", false, "fit the readings as independent counts (no correlated excess: the estimator before)")
	fs.StringVar(&opt.Rows, "rows", "", "run only the rows whose name contains this (each keeps its seed)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	return localization.Run(ctx, opt, stdout)
}
