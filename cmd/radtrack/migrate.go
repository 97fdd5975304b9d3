package main

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/radtrack/radtrack/store/pgstore"
)

func runMigrate(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var (
		db      dbConfig
		convert bool
	)
	f := newFlagSet("migrate", stderr)
	db.register(f)
	f.fs.BoolVar(&convert, "to-timescaledb", false, "turn a plain-PostgreSQL database into a TimescaleDB one, keeping its data (the server must preload TimescaleDB; stop the RadTrack servers first: measurements is locked while its rows move)")
	if err := f.Parse(args); err != nil {
		return err
	}
	if convert {
		return convertToTimescaleDB(ctx, db, stdout, stderr)
	}
	st, err := db.open(ctx, stderr)
	if err != nil {
		return err
	}
	defer st.Close()
	engine := "embedded store in " + db.dataDir
	if pg, ok := st.(*pgstore.Store); ok {
		engine = "PostgreSQL"
		if pg.Timescale() {
			engine = "TimescaleDB"
		}
	}
	fmt.Fprintf(stdout, "schema up to date (%s)\n", engine)
	return nil
}

// convertToTimescaleDB is "radtrack migrate -to-timescaledb".
func convertToTimescaleDB(ctx context.Context, db dbConfig, stdout, stderr io.Writer) error {
	if db.url == "" {
		return errors.New("-to-timescaledb needs DATABASE_URL (the embedded store has no TimescaleDB)")
	}
	if db.timescale == pgstore.TimescaleOff {
		return errors.New("-to-timescaledb with RADTRACK_TIMESCALEDB=off: unset it, or set it to auto or on")
	}
	cfg := db.storeConfig().DB
	cfg.Log = newLogger(stderr, "warn")
	st, conv, err := pgstore.ConvertToTimescaleDB(ctx, cfg)
	if err != nil {
		return err
	}
	defer st.Close()
	if !conv.Converted {
		fmt.Fprintln(stdout, "schema up to date (TimescaleDB); nothing to convert")
		return nil
	}
	fmt.Fprintf(stdout, "converted to TimescaleDB: %d measurements moved into %d chunks in %s; compression and the dose_1m continuous aggregate are set up, which materialises the history in the background\n",
		conv.Rows, conv.Chunks, conv.Took.Round(1e6))
	return nil
}
