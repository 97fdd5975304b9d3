package pgstore_test

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"strings"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/radtrack/radtrack/internal/pgtest"
	"github.com/radtrack/radtrack/migrations"
	"github.com/radtrack/radtrack/store"
	"github.com/radtrack/radtrack/store/pgstore"
	"github.com/radtrack/radtrack/store/storetest"
)

func open(t *testing.T, url string) *pgstore.Store {
	t.Helper()
	return openWith(t, pgstore.Config{URL: url})
}

func openWith(t *testing.T, cfg pgstore.Config) *pgstore.Store {
	t.Helper()
	s, err := pgstore.Open(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return s
}

// openEngine opens a store on a fresh database of engine e and checks that
// it chose that engine.
func openEngine(t *testing.T, e pgtest.Engine) *pgstore.Store {
	t.Helper()
	s := open(t, e.NewDatabase(t))
	if s.Timescale() != e.Timescale {
		t.Fatalf("on %s the store chose TimescaleDB = %v", e.Name, s.Timescale())
	}
	return s
}

func TestStoreSuite(t *testing.T) {
	pgtest.EachEngine(t, func(t *testing.T, e pgtest.Engine) {
		storetest.Run(t, func(t *testing.T) store.Store { return openEngine(t, e) })
	})
}

func dialect(timescale bool) migrations.Dialect {
	if timescale {
		return migrations.TimescaleDB
	}
	return migrations.PostgreSQL
}

type migrationRow struct {
	Version int
	Name    string
}

func recorded(t *testing.T, db interface {
	Query(context.Context, string, ...any) (pgx.Rows, error)
}) []migrationRow {
	t.Helper()
	rows, err := db.Query(context.Background(), "SELECT version, name FROM schema_migrations ORDER BY version")
	if err != nil {
		t.Fatal(err)
	}
	out, err := pgx.CollectRows(rows, pgx.RowToStructByPos[migrationRow])
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func wantRecorded(t *testing.T, d migrations.Dialect) []migrationRow {
	t.Helper()
	all, err := migrations.Load(d)
	if err != nil {
		t.Fatal(err)
	}
	var out []migrationRow
	for _, m := range all {
		out = append(out, migrationRow{m.Version, m.Name})
	}
	return out
}

func TestMigrationsAreIdempotentAndConcurrent(t *testing.T) {
	pgtest.EachEngine(t, func(t *testing.T, e pgtest.Engine) {
		url := e.NewDatabase(t)
		var wg sync.WaitGroup
		errs := make(chan error, 4)
		for range 4 {
			wg.Go(func() {
				s, err := pgstore.Open(context.Background(), pgstore.Config{URL: url})
				if err == nil {
					s.Close()
				}
				errs <- err
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Fatalf("concurrent start: %v", err)
			}
		}
		s := open(t, url)
		if s.Timescale() != e.Timescale {
			t.Fatalf("TimescaleDB = %v on %s", s.Timescale(), e.Name)
		}
		got, want := recorded(t, s.Pool()), wantRecorded(t, dialect(e.Timescale))
		if len(got) != len(want) {
			t.Fatalf("schema_migrations:\n%v\nwant\n%v", got, want)
		}
		for i := range got {
			if got[i] != want[i] {
				t.Fatalf("schema_migrations:\n%v\nwant\n%v", got, want)
			}
		}
	})
}

func TestRefusesASchemaNewerThanTheBinary(t *testing.T) {
	pgtest.EachEngine(t, func(t *testing.T, e pgtest.Engine) {
		ctx := context.Background()
		s := openEngine(t, e)
		if _, err := s.Pool().Exec(ctx, `INSERT INTO schema_migrations (version, name) VALUES (999, '0999_future.pg.sql')`); err != nil {
			t.Fatal(err)
		}
		_, err := pgstore.Open(ctx, pgstore.Config{URL: s.ConnString()})
		if !errors.Is(err, migrations.ErrSchemaTooNew) || !strings.Contains(err.Error(), "schema version 999") {
			t.Fatalf("opening a newer schema: %v", err)
		}
	})
}

// warnings is a slog.Handler that keeps the messages of WARN and above.
type warnings struct {
	mu   sync.Mutex
	msgs []string
}

func (w *warnings) Enabled(_ context.Context, l slog.Level) bool { return l >= slog.LevelWarn }
func (w *warnings) Handle(_ context.Context, r slog.Record) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.msgs = append(w.msgs, r.Message)
	return nil
}
func (w *warnings) WithAttrs([]slog.Attr) slog.Handler { return w }
func (w *warnings) WithGroup(string) slog.Handler      { return w }

// openMode opens url with mode and returns what it warned, one line each.
func openMode(t *testing.T, url string, mode pgstore.TimescaleMode) (*pgstore.Store, string, error) {
	t.Helper()
	var w warnings
	s, err := pgstore.Open(context.Background(), pgstore.Config{URL: url, Timescale: mode, Log: slog.New(&w)})
	if err == nil {
		t.Cleanup(s.Close)
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	return s, strings.Join(w.msgs, "\n"), err
}

// RADTRACK_TIMESCALEDB on the plain server: it may list the extension
// (scripts/services.sh installs TimescaleDB for the second cluster, and the
// files are shared) but cannot load it. auto falls back with a warning that
// names the fix; on refuses with the same reason; off is quietly plain.
// Nothing ever reaches the extension's own "must be preloaded" FATAL.
func TestTimescaleModesOnPlainPostgreSQL(t *testing.T) {
	e := pgtest.Engines()[0]
	admin := e.AdminURL(t)
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, admin)
	if err != nil {
		t.Fatal(err)
	}
	var listed bool
	err = conn.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_available_extensions WHERE name = 'timescaledb')`).Scan(&listed)
	conn.Close(ctx)
	if err != nil {
		t.Fatal(err)
	}
	reason := "TimescaleDB is not installed on this PostgreSQL server"
	if listed {
		reason = "TimescaleDB is installed on this PostgreSQL server but not preloaded: add shared_preload_libraries = 'timescaledb' to postgresql.conf and restart PostgreSQL"
	} else {
		msg := "the plain server does not list TimescaleDB, so the installed-but-not-preloaded case is not exercised (scripts/services.sh installs it)"
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		t.Log(msg)
	}

	url := e.NewDatabase(t)
	if _, _, err := openMode(t, url, pgstore.TimescaleOn); err == nil || !strings.Contains(err.Error(), "RADTRACK_TIMESCALEDB=on: "+reason) {
		t.Fatalf("on: %v", err)
	}
	s, logs, err := openMode(t, url, pgstore.TimescaleAuto)
	if err != nil || s.Timescale() {
		t.Fatalf("auto: %v", err)
	}
	if !strings.HasPrefix(logs, reason+"; creating a plain-PostgreSQL schema") {
		t.Fatalf("auto logged %q, want a warning naming %q", logs, reason)
	}
	// Once plain, it stays plain; auto keeps saying why.
	s, logs, err = openMode(t, url, pgstore.TimescaleAuto)
	if err != nil || s.Timescale() || !strings.Contains(logs, reason+"; using plain PostgreSQL") {
		t.Fatalf("auto again: %v, %q", err, logs)
	}
	s, logs, err = openMode(t, e.NewDatabase(t), pgstore.TimescaleOff)
	if err != nil || s.Timescale() || logs != "" {
		t.Fatalf("off: %v, logged %q", err, logs)
	}
}

// RADTRACK_TIMESCALEDB on the TimescaleDB server, and a database whose
// schema says the other engine.
func TestTimescaleModesOnTimescaleDB(t *testing.T) {
	e := pgtest.Engines()[1]
	// auto and on choose TimescaleDB; off a plain schema, without a warning.
	for _, mode := range []pgstore.TimescaleMode{pgstore.TimescaleAuto, pgstore.TimescaleOn, ""} {
		s, logs, err := openMode(t, e.NewDatabase(t), mode)
		if err != nil || !s.Timescale() || logs != "" {
			t.Fatalf("%q: timescale=%v err=%v logs=%q", mode, s != nil && s.Timescale(), err, logs)
		}
	}
	plain := e.NewDatabase(t)
	s, logs, err := openMode(t, plain, pgstore.TimescaleOff)
	if err != nil || s.Timescale() || logs != "" {
		t.Fatalf("off: %v, %q", err, logs)
	}
	got, want := recorded(t, s.Pool()), wantRecorded(t, migrations.PostgreSQL)
	if len(got) != len(want) || got[2] != want[2] {
		t.Fatalf("off on TimescaleDB recorded %v, want %v", got, want)
	}
	s.Close()

	// A plain database is not silently turned into TimescaleDB, nor the
	// other way round.
	s, logs, err = openMode(t, plain, pgstore.TimescaleAuto)
	if err != nil || s.Timescale() || !strings.Contains(logs, `holds a plain-PostgreSQL schema although this server has TimescaleDB: using plain PostgreSQL; "radtrack migrate -to-timescaledb" converts it`) {
		t.Fatalf("auto on a plain database: %v, %q", err, logs)
	}
	if _, _, err := openMode(t, plain, pgstore.TimescaleOn); err == nil || !strings.Contains(err.Error(), `holds a plain-PostgreSQL schema (measurements is an ordinary table): "radtrack migrate -to-timescaledb" converts it`) {
		t.Fatalf("on on a plain database: %v", err)
	}
	tsdb := e.NewDatabase(t)
	if s, _, err := openMode(t, tsdb, pgstore.TimescaleAuto); err != nil || !s.Timescale() {
		t.Fatalf("auto: %v", err)
	}
	if _, _, err := openMode(t, tsdb, pgstore.TimescaleOff); err == nil || !strings.Contains(err.Error(), "was set up for TimescaleDB (measurements is a hypertable), so it cannot run as plain PostgreSQL") {
		t.Fatalf("off on a TimescaleDB database: %v", err)
	}
}
