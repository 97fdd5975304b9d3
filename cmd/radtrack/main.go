// Command radtrack is the RadTrack server and its tools.
//
//	radtrack demo             the whole product with a simulated fleet
//	radtrack serve            run the server
//	radtrack migrate          apply database migrations and exit
//	radtrack device add NAME  register a device and print its token once
//	radtrack device list      list devices
//	radtrack user add NAME    add a user (password on stdin)
//	radtrack import -device UID FILE...  import recorded drives
//	radtrack deadletter list  what spool and journal replay set aside
//	radtrack bench ingest     measure HTTP ingest against raw COPY
//	radtrack bench live       measure the live push under load
//	radtrack eval detection   measure false alarms and detection on real logs
//
// Every setting is an environment variable with a matching flag
// (DATABASE_URL ↔ -database-url); run any command with -h to see them.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/radtrack/radtrack/server"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			os.Exit(2)
		}
		fmt.Fprintln(os.Stderr, "radtrack:", err)
		os.Exit(1)
	}
}

const usage = `usage: radtrack <command> [flags]

commands:
  demo           the whole product on the embedded store with a simulated fleet
  serve          run the server
  migrate        apply database migrations and exit (-to-timescaledb: convert plain PostgreSQL)
  device add     register a device and print its token (shown once)
  device list    list registered devices
  import         import drive logs (bGeigie, AtomFast CSV, N42.42) for a device
  user add NAME  add a user (-role viewer|operator|admin); password on stdin
  deadletter     list (or re-drive) what spool and alarm-journal replay set aside
  healthcheck    exit 0 if -url (default /healthz on RADTRACK_ADDR) answers 2xx
  bench ingest   benchmark HTTP ingest against raw COPY on the same database
  bench live     benchmark the live push: N vehicles at 1 Hz, M WebSocket viewers
  sim            simulate a patrol fleet (and log replays) against a server; a load generator
  eval detection false-alarm rates and source detection of the rules on real drive logs
  site         the site tree: add, list, rename, move devices and users

Run "radtrack <command> -h" for the command's flags and environment variables.
`

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return flag.ErrHelp
	}
	cmd, rest := args[0], args[1:]
	switch cmd {
	case "serve":
		return runServe(ctx, rest, stderr)
	case "migrate":
		return runMigrate(ctx, rest, stdout, stderr)
	case "device":
		return runDevice(ctx, rest, stdout, stderr)
	case "demo":
		return runDemo(ctx, rest, stdout, stderr)
	case "import":
		return runImport(ctx, rest, stdout, stderr)
	case "user":
		return runUser(ctx, rest, os.Stdin, stdout, stderr)
	case "healthcheck":
		return runHealthcheck(ctx, rest, stderr)
	case "deadletter":
		return runDeadletter(ctx, rest, stdout, stderr)
	case "bench":
		return runBench(ctx, rest, stdout, stderr)
	case "sim":
		return runSim(ctx, rest, stdout, stderr)
	case "eval":
		return runEval(ctx, rest, stdout, stderr)
	case "site":
		return runSite(ctx, rest, stdout, stderr)
	case "-h", "-help", "--help", "help":
		fmt.Fprint(stdout, usage)
		return nil
	}
	fmt.Fprint(stderr, usage)
	return fmt.Errorf("unknown command %q", cmd)
}

func newLogger(w io.Writer, level string) *slog.Logger {
	var l slog.Level
	if err := l.UnmarshalText([]byte(level)); err != nil {
		l = slog.LevelInfo
	}
	return slog.New(server.LogHandler(slog.NewJSONHandler(w, &slog.HandlerOptions{Level: l})))
}
