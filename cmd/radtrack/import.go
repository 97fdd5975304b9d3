package main

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/radtrack/radtrack/app"
	"github.com/radtrack/radtrack/geo"
	"github.com/radtrack/radtrack/importer"
	"github.com/radtrack/radtrack/ingest"
)

// runImport is "radtrack import -device UID FILE...".
func runImport(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var (
		db  dbConfig
		uid string
	)
	f := newFlagSet("import", stderr)
	db.register(f)
	f.fs.StringVar(&uid, "device", "", "uid of the registered device the files belong to (required)")
	if err := f.Parse(args); err != nil {
		return err
	}
	files := f.fs.Args()
	if uid == "" || len(files) == 0 {
		return fmt.Errorf("usage: radtrack import -device UID FILE... (bGeigie .log, AtomFast .csv, N42.42 .xml)")
	}
	cfg := db.storeConfig()
	cfg.Writer, cfg.Geo = ingest.DefaultWriterConfig(), geo.DefaultConfig()
	core, err := app.OpenCore(ctx, cfg, newLogger(stderr, "warn"), nil)
	if err != nil {
		return err
	}
	defer func() { _ = core.Close(context.WithoutCancel(ctx)) }()
	dev, err := core.Devices.ByUID(ctx, uid)
	if err != nil {
		return fmt.Errorf("device %q: %w (register it with radtrack device add)", uid, err)
	}
	im := importer.Importer{Pipeline: core.Pipeline, Device: dev, Spectra: core.Store}
	for _, file := range files {
		start := time.Now()
		rep, err := im.File(ctx, file)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "%s in %s\n", rep, time.Since(start).Round(time.Millisecond))
	}
	return nil
}
