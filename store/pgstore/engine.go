package pgstore

import (
	"context"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"
)

// TimescaleMode says whether the store uses TimescaleDB (RADTRACK_TIMESCALEDB).
type TimescaleMode string

const (
	// TimescaleAuto uses TimescaleDB when the server can load it and the
	// database is not already plain; otherwise plain PostgreSQL, with a
	// warning that says why. The default.
	TimescaleAuto TimescaleMode = "auto"
	// TimescaleOn refuses to start without TimescaleDB.
	TimescaleOn TimescaleMode = "on"
	// TimescaleOff uses plain PostgreSQL even where TimescaleDB is available.
	TimescaleOff TimescaleMode = "off"
)

// ParseTimescaleMode reads "auto", "on" or "off" ("" is auto).
func ParseTimescaleMode(s string) (TimescaleMode, error) {
	switch m := TimescaleMode(strings.ToLower(strings.TrimSpace(s))); m {
	case "":
		return TimescaleAuto, nil
	case TimescaleAuto, TimescaleOn, TimescaleOff:
		return m, nil
	}
	return "", fmt.Errorf("TimescaleDB mode %q: want auto, on or off", s)
}

// UnmarshalText parses a mode (flag.TextVar).
func (m *TimescaleMode) UnmarshalText(b []byte) error {
	v, err := ParseTimescaleMode(string(b))
	if err != nil {
		return err
	}
	*m = v
	return nil
}

// MarshalText returns the mode's name.
func (m TimescaleMode) MarshalText() ([]byte, error) { return []byte(m), nil }

// engineFacts is what the server and the database say about TimescaleDB.
type engineFacts struct {
	database   string
	available  bool // the extension's files are installed on the server
	preloaded  bool // the server loaded TimescaleDB at start (shared_preload_libraries)
	installed  bool // CREATE EXTENSION timescaledb was run in this database
	hasSchema  bool // the measurements table exists
	hypertable bool // measurements is a TimescaleDB hypertable
}

// readEngineFacts asks the server without touching TimescaleDB's library:
// where the extension is installed but not preloaded, anything that loads it
// ends the session with FATAL "extension must be preloaded".
func readEngineFacts(ctx context.Context, conn *pgx.Conn) (engineFacts, error) {
	var f engineFacts
	// The loader defines timescaledb.max_background_workers when it is
	// preloaded; pg_settings lists no placeholder for a setting that is only
	// named in postgresql.conf, and shared_preload_libraries itself is
	// readable by superusers only.
	err := conn.QueryRow(ctx, `SELECT current_database(),
		EXISTS (SELECT 1 FROM pg_available_extensions WHERE name = 'timescaledb'),
		EXISTS (SELECT 1 FROM pg_settings WHERE name = 'timescaledb.max_background_workers'),
		EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'timescaledb'),
		to_regclass('measurements') IS NOT NULL`).Scan(&f.database, &f.available, &f.preloaded, &f.installed, &f.hasSchema)
	if err != nil {
		return f, fmt.Errorf("detect timescaledb: %w", err)
	}
	if f.installed && f.hasSchema {
		// The catalog table, not timescaledb_information (its views call
		// the extension's functions).
		err := conn.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM _timescaledb_catalog.hypertable h
			JOIN pg_namespace n ON n.nspname = h.schema_name
			JOIN pg_class c ON c.relnamespace = n.oid AND c.relname = h.table_name
			WHERE c.oid = 'measurements'::regclass)`).Scan(&f.hypertable)
		if err != nil {
			return f, fmt.Errorf("detect whether measurements is a hypertable: %w", err)
		}
	}
	return f, nil
}

// unavailable says why TimescaleDB cannot be used on this server, or "".
func (f engineFacts) unavailable() string {
	switch {
	case !f.available:
		return "TimescaleDB is not installed on this PostgreSQL server"
	case !f.preloaded:
		return "TimescaleDB is installed on this PostgreSQL server but not preloaded: " + preloadHint
	}
	return ""
}

const (
	preloadHint = "add shared_preload_libraries = 'timescaledb' to postgresql.conf and restart PostgreSQL"
	convertHint = `"radtrack migrate -to-timescaledb" converts it, keeping its data`
)

// chooseEngine decides between TimescaleDB (true) and plain PostgreSQL. An
// existing schema decides what the database is; the mode only decides
// whether that is acceptable. warning is set when auto falls back to plain.
func chooseEngine(mode TimescaleMode, f engineFacts) (timescale bool, warning string, err error) {
	unavailable := f.unavailable()
	loadable := unavailable == ""
	switch {
	case f.installed && !f.preloaded && !f.hypertable:
		// Its event triggers would load the library on our first DDL.
		return false, "", fmt.Errorf("database %q has the timescaledb extension, but %s (or DROP EXTENSION timescaledb in it, if it holds nothing of TimescaleDB)", f.database, unavailable)
	case f.hypertable:
		if mode == TimescaleOff {
			return false, "", fmt.Errorf("database %q was set up for TimescaleDB (measurements is a hypertable), so it cannot run as plain PostgreSQL: set RADTRACK_TIMESCALEDB=auto or on", f.database)
		}
		if !loadable {
			return false, "", fmt.Errorf("database %q was set up for TimescaleDB (measurements is a hypertable), but %s", f.database, unavailable)
		}
		return true, "", nil
	case f.hasSchema:
		switch {
		case mode == TimescaleOn:
			return false, "", fmt.Errorf("RADTRACK_TIMESCALEDB=on, but database %q holds a plain-PostgreSQL schema (measurements is an ordinary table): %s (with TimescaleDB preloaded), or set RADTRACK_TIMESCALEDB=auto or off", f.database, convertHint)
		case mode == TimescaleOff:
			return false, "", nil
		case loadable:
			return false, fmt.Sprintf("database %q holds a plain-PostgreSQL schema although this server has TimescaleDB: using plain PostgreSQL; %s", f.database, convertHint), nil
		}
		return false, unavailable + "; using plain PostgreSQL (set RADTRACK_TIMESCALEDB=off to say that is intended)", nil
	}
	switch {
	case mode == TimescaleOff:
		return false, "", nil
	case loadable:
		return true, "", nil
	case mode == TimescaleOn:
		return false, "", fmt.Errorf("RADTRACK_TIMESCALEDB=on: %s (or set RADTRACK_TIMESCALEDB=auto or off to run on plain PostgreSQL)", unavailable)
	}
	return false, unavailable + "; creating a plain-PostgreSQL schema (no compression, retention or continuous aggregates; " +
		`"radtrack migrate -to-timescaledb" converts it later; set RADTRACK_TIMESCALEDB=off to say plain is intended)`, nil
}
