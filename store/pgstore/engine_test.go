package pgstore

import (
	"strings"
	"testing"
)

// Every combination of server, database and mode: which engine, and the
// warning or error that says why.
func TestChooseEngine(t *testing.T) {
	var (
		none      = engineFacts{database: "db"}                                      // TimescaleDB not installed
		listed    = engineFacts{database: "db", available: true}                     // installed, not preloaded
		loadable  = engineFacts{database: "db", available: true, preloaded: true}    // preloaded
		plainDB   = func(f engineFacts) engineFacts { f.hasSchema = true; return f } // plain schema exists
		tsdbDB    = func(f engineFacts) engineFacts { f.hasSchema, f.installed, f.hypertable = true, true, true; return f }
		extOnly   = func(f engineFacts) engineFacts { f.installed = true; return f } // CREATE EXTENSION done, no schema
		notLoaded = "TimescaleDB is installed on this PostgreSQL server but not preloaded: add shared_preload_libraries = 'timescaledb' to postgresql.conf and restart PostgreSQL"
		missing   = "TimescaleDB is not installed on this PostgreSQL server"
	)
	for _, tc := range []struct {
		name      string
		mode      TimescaleMode
		facts     engineFacts
		timescale bool
		warning   string // substring; "" means none
		err       string // substring; "" means none
	}{
		{"new db, auto, not installed", TimescaleAuto, none, false, missing + "; creating a plain-PostgreSQL schema", ""},
		{"new db, auto, not preloaded", TimescaleAuto, listed, false, notLoaded + "; creating a plain-PostgreSQL schema", ""},
		{"new db, auto, preloaded", TimescaleAuto, loadable, true, "", ""},
		{"new db, on, not installed", TimescaleOn, none, false, "", "RADTRACK_TIMESCALEDB=on: " + missing + " (or set RADTRACK_TIMESCALEDB=auto or off"},
		{"new db, on, not preloaded", TimescaleOn, listed, false, "", "RADTRACK_TIMESCALEDB=on: " + notLoaded},
		{"new db, on, preloaded", TimescaleOn, loadable, true, "", ""},
		{"new db, off, preloaded", TimescaleOff, loadable, false, "", ""},
		{"new db, off, not preloaded", TimescaleOff, listed, false, "", ""},
		{"new db with the extension, auto", TimescaleAuto, extOnly(loadable), true, "", ""},
		{"new db with the extension, off", TimescaleOff, extOnly(loadable), false, "", ""},
		{"extension in db, server does not preload", TimescaleOff, extOnly(listed), false, "", `database "db" has the timescaledb extension, but ` + notLoaded},

		{"plain db, auto, preloaded", TimescaleAuto, plainDB(loadable), false, `database "db" holds a plain-PostgreSQL schema although this server has TimescaleDB: using plain PostgreSQL; "radtrack migrate -to-timescaledb" converts it`, ""},
		{"plain db, auto, not preloaded", TimescaleAuto, plainDB(listed), false, notLoaded + "; using plain PostgreSQL", ""},
		{"plain db, auto, not installed", TimescaleAuto, plainDB(none), false, missing + "; using plain PostgreSQL", ""},
		{"plain db, on", TimescaleOn, plainDB(loadable), false, "", `RADTRACK_TIMESCALEDB=on, but database "db" holds a plain-PostgreSQL schema (measurements is an ordinary table): "radtrack migrate -to-timescaledb" converts it`},
		{"plain db, off", TimescaleOff, plainDB(loadable), false, "", ""},
		{"plain db with the extension, auto", TimescaleAuto, extOnly(plainDB(loadable)), false, "holds a plain-PostgreSQL schema although", ""},

		{"timescaledb db, auto", TimescaleAuto, tsdbDB(loadable), true, "", ""},
		{"timescaledb db, on", TimescaleOn, tsdbDB(loadable), true, "", ""},
		{"timescaledb db, off", TimescaleOff, tsdbDB(loadable), false, "", `database "db" was set up for TimescaleDB (measurements is a hypertable), so it cannot run as plain PostgreSQL: set RADTRACK_TIMESCALEDB=auto or on`},
		{"timescaledb db, server does not preload", TimescaleAuto, tsdbDB(listed), false, "", `database "db" was set up for TimescaleDB (measurements is a hypertable), but ` + notLoaded},
		{"timescaledb db, server lost it", TimescaleOn, tsdbDB(none), false, "", "was set up for TimescaleDB (measurements is a hypertable), but " + missing},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ts, warning, err := chooseEngine(tc.mode, tc.facts)
			if ts != tc.timescale {
				t.Errorf("timescale = %v, want %v", ts, tc.timescale)
			}
			if (tc.warning == "") != (warning == "") || !strings.Contains(warning, tc.warning) {
				t.Errorf("warning %q, want %q", warning, tc.warning)
			}
			if tc.err == "" && err != nil || tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)) {
				t.Errorf("error %v, want %q", err, tc.err)
			}
			if err != nil && warning != "" {
				t.Errorf("both a warning and an error")
			}
			for _, s := range []string{warning, errString(err)} {
				if strings.Contains(s, "must be preloaded") {
					t.Errorf("the cryptic message again: %s", s)
				}
			}
		})
	}
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

func TestParseTimescaleMode(t *testing.T) {
	for in, want := range map[string]TimescaleMode{"": TimescaleAuto, "auto": TimescaleAuto, "ON": TimescaleOn, " off ": TimescaleOff} {
		if got, err := ParseTimescaleMode(in); err != nil || got != want {
			t.Errorf("%q → %q, %v; want %q", in, got, err, want)
		}
	}
	if _, err := ParseTimescaleMode("yes"); err == nil || !strings.Contains(err.Error(), `TimescaleDB mode "yes": want auto, on or off`) {
		t.Errorf("yes: %v", err)
	}
}
