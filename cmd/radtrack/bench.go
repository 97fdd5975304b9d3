package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"runtime/pprof"
	"strings"
	"time"

	"github.com/radtrack/radtrack/bench"
	"github.com/radtrack/radtrack/ingest"
	"github.com/radtrack/radtrack/ingest/batch"
)

func runBench(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) > 0 {
		switch args[0] {
		case "ingest":
			return runBenchIngest(ctx, args[1:], stdout, stderr)
		case "live":
			return runBenchLive(ctx, args[1:], stdout, stderr)
		case "scale":
			return runBenchScale(ctx, args[1:], stdout, stderr)
		case "live-server":
			// Internal: the server child of "bench live", controlled
			// through stdin (see bench.RunLiveServer).
			return bench.RunLiveServer(ctx, os.Stdin, stderr, func(ctx context.Context) error {
				return runServe(ctx, args[1:], stderr)
			})
		}
	}
	return fmt.Errorf("usage: radtrack bench ingest|live|scale [flags]")
}

func runBenchIngest(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	cfg := bench.IngestConfig{Writer: ingest.DefaultWriterConfig()}
	f := newFlagSet("bench ingest", stderr)
	f.String(&cfg.DatabaseURL, "database-url", "DATABASE_URL", "", "database to benchmark on (its measurements table is TRUNCATED); unset: the embedded store in a temporary directory")
	f.fs.IntVar(&cfg.Devices, "devices", 100, "simulated vehicles posting concurrently")
	f.fs.IntVar(&cfg.Batch, "batch", 50, "samples per HTTP request")
	f.fs.IntVar(&cfg.Samples, "samples", 500_000, "samples per phase")
	f.fs.IntVar(&cfg.Writer.BatchSize, "commit-batch", cfg.Writer.BatchSize, "most samples per group commit (and per raw COPY)")
	f.fs.IntVar(&cfg.Writer.Flushers, "flushers", cfg.Writer.Flushers, "concurrent commits (and raw COPY connections)")
	f.fs.DurationVar(&cfg.Writer.FlushInterval, "flush-interval", cfg.Writer.FlushInterval, "group-commit gather time")
	f.fs.BoolVar(&cfg.Emergency, "emergency", false, "also measure, in the same run, every vehicle inside one of 1 000 restricted zones, every vehicle above OIL3, and the normal phase again")
	f.fs.BoolVar(&cfg.Columnar, "columnar", false, "also measure, in the same run, HTTP ingest of the same samples with the columnar body ("+batch.ColumnarType+")")
	f.fs.BoolVar(&cfg.NoCoalesce, "no-coalesce", false, "store every episode update at once, one round trip per sample (the behaviour before issue 19), for comparison")
	f.fs.IntVar(&cfg.Rounds, "rounds", 1, "rounds of raw COPY, NDJSON (and -columnar) phases, interleaved, and with -emergency of the scenarios; ratios are taken within a round, medians reported")
	var cpuProfile string
	f.fs.StringVar(&cpuProfile, "cpuprofile", "", "write a CPU profile of the run to this file")
	if err := f.Parse(args); err != nil {
		return err
	}
	stopProfile, err := startCPUProfile(cpuProfile)
	if err != nil {
		return err
	}
	defer stopProfile()
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

// runBenchLive is "radtrack bench live": this binary runs as the server in
// a child process while this process plays vehicles and map viewers.
func runBenchLive(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var cfg bench.LiveConfig
	f := newFlagSet("bench live", stderr)
	f.fs.IntVar(&cfg.Vehicles, "vehicles", 10_000, "vehicles posting one sample per second each")
	f.fs.IntVar(&cfg.Viewers, "viewers", 100, "WebSocket viewers subscribed to everything")
	f.fs.DurationVar(&cfg.Duration, "duration", 30*time.Second, "load phase")
	f.fs.IntVar(&cfg.Alarms, "alarms", 20, "distinct vehicles that send one hot sample (5 µSv/h) during the load")
	f.fs.Float64Var(&cfg.Emergency, "emergency", 0, "share of vehicles (0-1) above OIL3 for the whole load, each sample updating their alarms (e.g. 0.2)")
	f.fs.IntVar(&cfg.Clients, "clients", 0, "HTTP client goroutines posting samples (0: vehicles/20, 8…512)")
	f.fs.StringVar(&cfg.DatabaseURL, "database-url", "", "PostgreSQL database for the server (a scratch database; unset: embedded store in a fresh temp dir)")
	f.fs.StringVar(&cfg.ServerCPUProfile, "server-cpuprofile", "", "write a CPU profile of the server during the load phase to this file")
	f.fs.StringVar(&cfg.ServerHeapProfile, "server-heapprofile", "", "write a heap profile of the server at each new peak of its resident set during the load phase to this file (the last one written is the peak's)")
	var cpuProfile string
	f.fs.StringVar(&cpuProfile, "cpuprofile", "", "write a CPU profile of the load generator (this process) to this file")
	var (
		sites bool
		tree  bench.SitesConfig
	)
	f.fs.BoolVar(&sites, "sites", false, "site mode (issue 17): viewers scoped to rooms of a site tree, then as many at the root; -viewers is ignored")
	f.fs.IntVar(&tree.SubCentres, "sub-centres", 28, "with -sites: sub-centres under the root")
	f.fs.IntVar(&tree.Rooms, "rooms", 8, "with -sites: rooms per sub-centre")
	f.fs.IntVar(&tree.ViewersPerRoom, "room-viewers", 2, "with -sites: viewers per room")
	if err := f.Parse(args); err != nil {
		return err
	}
	exe, err := os.Executable()
	if err != nil {
		return fmt.Errorf("find the radtrack binary to run as the server: %w", err)
	}
	cfg.Server = exe
	stopProfile, err := startCPUProfile(cpuProfile)
	if err != nil {
		return err
	}
	defer stopProfile()
	if sites {
		res, err := bench.RunLiveSites(ctx, cfg, tree, stderr)
		if err != nil {
			return err
		}
		fmt.Fprint(stdout, res)
		return nil
	}
	res, err := bench.RunLive(ctx, cfg, stderr)
	if err != nil {
		return err
	}
	fmt.Fprint(stdout, res)
	return nil
}

func startCPUProfile(path string) (stop func(), err error) {
	if path == "" {
		return func() {}, nil
	}
	pf, err := os.Create(path)
	if err != nil {
		return nil, err
	}
	if err := pprof.StartCPUProfile(pf); err != nil {
		pf.Close()
		return nil, err
	}
	return func() {
		pprof.StopCPUProfile()
		pf.Close()
	}, nil
}

// runBenchScale is "radtrack bench scale": the same fleet history loaded
// into every engine given, then the control room's questions timed on each.
func runBenchScale(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	cfg := bench.ScaleConfig{Seed: 1}
	f := newFlagSet("bench scale", stderr)
	var engines string
	f.fs.StringVar(&engines, "engines", "embedded", "comma-separated engines, each 'embedded' or a PostgreSQL/TimescaleDB URL (its measurements table is TRUNCATED)")
	f.fs.IntVar(&cfg.Vehicles, "vehicles", 50, "fleet size")
	f.fs.IntVar(&cfg.Days, "days", 30, "days of history, ending today")
	f.fs.DurationVar(&cfg.Interval, "interval", 5*time.Second, "one sample per vehicle per interval")
	f.fs.IntVar(&cfg.Batch, "batch", 5000, "samples per write (the group commit's size)")
	f.fs.IntVar(&cfg.Writers, "writers", 2, "concurrent writers")
	f.fs.IntVar(&cfg.Repeats, "repeats", 20, "timed repetitions of each query")
	if err := f.Parse(args); err != nil {
		return err
	}
	for _, e := range strings.Split(engines, ",") {
		if e = strings.TrimSpace(e); e != "" {
			cfg.Engines = append(cfg.Engines, e)
		}
	}
	res, err := bench.RunScale(ctx, cfg, stderr)
	if err != nil {
		return err
	}
	for _, r := range res {
		fmt.Fprint(stdout, r)
	}
	return nil
}
