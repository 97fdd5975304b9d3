package main

import (
	"context"
	"flag"
	"fmt"
	"io"

	"github.com/radtrack/radtrack/eval/detection"
)

// runEval is "radtrack eval detection [FILE...]".
func runEval(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) > 0 && args[0] == "localize" {
		return runEvalLocalize(ctx, args[1:], stdout, stderr)
	}
	if len(args) == 0 || args[0] != "detection" {
		fmt.Fprintln(stderr, "usage: radtrack eval detection [-data DIR] [-plot FILE] [-passes N] [-full] [FILE...]\n       radtrack eval localize [-data DIR] [-trials N] [-seed S] [-window S] [-poisson-background] [-trend] [-nai-stretch K] [-independent] [-rows TEXT]")
		return flag.ErrHelp
	}
	opt := detection.Options{Grid: detection.DefaultGrid()}
	fs := flag.NewFlagSet("eval detection", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&opt.DataDir, "data", "../shared/data/radiation", `directory of real drive logs evaluated besides the FILEs ("" for none)`)
	fs.StringVar(&opt.PlotPath, "plot", "detection.png", `PNG of detection probability vs activity ("" for none)`)
	fs.IntVar(&opt.Grid.PassesPerTrack, "passes", opt.Grid.PassesPerTrack, "injected passes per log and grid point")
	fs.Uint64Var(&opt.Grid.Seed, "seed", opt.Grid.Seed, "seed of the Poisson draws")
	fs.BoolVar(&opt.Full, "full", false, "print every grid point, not only the summary")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	opt.Files = fs.Args()
	return detection.Run(ctx, opt, stdout)
}
