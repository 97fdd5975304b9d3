package main

import (
	"context"
	"fmt"
	"io"

	"github.com/radtrack/radtrack/store/pgstore"
)

func runMigrate(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var db dbConfig
	f := newFlagSet("migrate", stderr)
	db.register(f)
	if err := f.Parse(args); err != nil {
		return err
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
