package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"runtime/pprof"

	"github.com/radtrack/radtrack/bench"
	"github.com/radtrack/radtrack/ingest"
)

func runBench(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] != "ingest" {
		return fmt.Errorf("usage: radtrack bench ingest [flags]")
	}
	cfg := bench.IngestConfig{Writer: ingest.DefaultWriterConfig()}
	f := newFlagSet("bench ingest", stderr)
	f.String(&cfg.DatabaseURL, "database-url", "DATABASE_URL", "", "database to benchmark on (its measurements table is TRUNCATED)")
	f.fs.IntVar(&cfg.Devices, "devices", 100, "simulated vehicles posting concurrently")
	f.fs.IntVar(&cfg.Batch, "batch", 50, "samples per HTTP request")
	f.fs.IntVar(&cfg.Samples, "samples", 500_000, "samples per phase")
	f.fs.IntVar(&cfg.Writer.BatchSize, "commit-batch", cfg.Writer.BatchSize, "most samples per group commit (and per raw COPY)")
	f.fs.IntVar(&cfg.Writer.Flushers, "flushers", cfg.Writer.Flushers, "concurrent commits (and raw COPY connections)")
	f.fs.DurationVar(&cfg.Writer.FlushInterval, "flush-interval", cfg.Writer.FlushInterval, "group-commit gather time")
	var cpuProfile string
	f.fs.StringVar(&cpuProfile, "cpuprofile", "", "write a CPU profile of the run to this file")
	if err := f.Parse(args[1:]); err != nil {
		return err
	}
	if cpuProfile != "" {
		pf, err := os.Create(cpuProfile)
		if err != nil {
			return err
		}
		defer pf.Close()
		if err := pprof.StartCPUProfile(pf); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	if cfg.DatabaseURL == "" {
		return fmt.Errorf("bench ingest needs -database-url (a scratch database: it is truncated)")
	}
	if cfg.Devices <= 0 || cfg.Batch <= 0 || cfg.Samples < cfg.Devices {
		return fmt.Errorf("need -devices > 0, -batch > 0 and -samples ≥ -devices")
	}
	res, err := bench.RunIngest(ctx, cfg, stderr)
	if err != nil {
		return err
	}
	fmt.Fprint(stdout, res)
	return nil
}
