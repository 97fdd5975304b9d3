package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"

	"github.com/radtrack/radtrack/ingest"
	"github.com/radtrack/radtrack/metrics"
	"github.com/radtrack/radtrack/server"
	"github.com/radtrack/radtrack/store/pgstore"
)

func runServe(ctx context.Context, args []string, stderr io.Writer) error {
	cfg, err := parseServeConfig(args, stderr)
	if err != nil {
		return err
	}
	log := newLogger(stderr, cfg.logLevel)
	pgcfg, err := cfg.db.pgConfig()
	if err != nil {
		return err
	}
	st, err := pgstore.Open(ctx, pgcfg)
	if err != nil {
		return fmt.Errorf("open store: %w", err)
	}
	defer st.Close()
	log.Info("store ready", "timescaledb", st.Timescale())
	if password, created, err := server.EnsureAdmin(ctx, st, "admin", cfg.server.BcryptCost); err != nil {
		return fmt.Errorf("first admin: %w", err)
	} else if created {
		// Printed once, on the first start only: there is no other copy.
		fmt.Fprintf(stderr, "\n  First start: created user \"admin\" with password %s\n  Log in and change it (PATCH /api/v1/users/{id}).\n\n", password)
	}

	m := metrics.New()
	writer := ingest.NewWriter(st, cfg.writer, m, log)
	pipeline := ingest.NewPipeline(writer, m)
	devices := ingest.NewDevices(st, cfg.deviceCacheTTL)
	srv := server.NewHTTPServer(cfg.addr, server.New(cfg.server, server.Deps{
		Store: st, Pipeline: pipeline, Devices: devices, Metrics: m, Log: log,
	}))

	ln, err := net.Listen("tcp", cfg.addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", cfg.addr, err)
	}
	log.Info("listening", "addr", ln.Addr().String())
	serveErr := make(chan error, 1)
	go func() { serveErr <- srv.Serve(ln) }()

	select {
	case err := <-serveErr:
		return fmt.Errorf("http server: %w", err)
	case <-ctx.Done():
	}
	return shutdown(log, cfg, srv, writer)
}

// shutdown stops taking requests, lets in-flight ones finish (their samples
// commit), then drains the writer.
func shutdown(log *slog.Logger, cfg serveConfig, srv *http.Server, writer *ingest.Writer) error {
	log.Info("shutting down", "queued_samples", writer.Queued())
	ctx, cancel := context.WithTimeout(context.Background(), cfg.shutdown)
	defer cancel()
	httpErr := srv.Shutdown(ctx)
	if err := writer.Close(ctx); err != nil {
		return fmt.Errorf("drain ingest queue (%d samples left): %w", writer.Queued(), err)
	}
	if httpErr != nil && !errors.Is(httpErr, http.ErrServerClosed) {
		return fmt.Errorf("stop http server: %w", httpErr)
	}
	log.Info("stopped")
	return nil
}
