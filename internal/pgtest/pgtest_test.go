package pgtest_test

import (
	"context"
	"fmt"
	"runtime"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/radtrack/radtrack/internal/pgtest"
)

// recorder is a testing.TB whose Skip and Fatal end the goroutine and record.
type recorder struct {
	testing.TB
	skipped, fatal string
}

func (r *recorder) Helper()                   {}
func (r *recorder) Skipf(f string, a ...any)  { r.skipped = fmt.Sprintf(f, a...); runtime.Goexit() }
func (r *recorder) Fatalf(f string, a ...any) { r.fatal = fmt.Sprintf(f, a...); runtime.Goexit() }

func run(t *testing.T, f func(tb testing.TB)) *recorder {
	r := &recorder{TB: t}
	done := make(chan struct{})
	go func() {
		defer close(done)
		f(r)
	}()
	<-done
	return r
}

func TestMissingEngineSkipsOutsideCIAndFailsInCI(t *testing.T) {
	for _, e := range pgtest.Engines() {
		t.Setenv(e.Env, "")
		t.Setenv("CI", "")
		if r := run(t, func(tb testing.TB) { e.AdminURL(tb) }); r.skipped == "" || r.fatal != "" || !strings.Contains(r.skipped, e.Env) {
			t.Errorf("%s without CI: skipped=%q fatal=%q, want a skip naming %s", e.Name, r.skipped, r.fatal, e.Env)
		}
		t.Setenv("CI", "true")
		if r := run(t, func(tb testing.TB) { e.AdminURL(tb) }); r.fatal == "" || r.skipped != "" || !strings.Contains(r.fatal, e.Env) {
			t.Errorf("%s with CI=true: skipped=%q fatal=%q, want a failure naming %s", e.Name, r.skipped, r.fatal, e.Env)
		}
	}
}

// Each engine's database is on the server its variable names, and a URL of
// the wrong kind of server is refused rather than tested twice.
func TestEachEngineGetsItsOwnServer(t *testing.T) {
	var seen []string
	pgtest.EachEngine(t, func(t *testing.T, e pgtest.Engine) {
		url := e.NewDatabase(t)
		ctx := context.Background()
		conn, err := pgx.Connect(ctx, url)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close(ctx)
		var db string
		var preloaded bool
		if err := conn.QueryRow(ctx, `SELECT current_database(),
			EXISTS (SELECT 1 FROM pg_settings WHERE name = 'timescaledb.max_background_workers')`).Scan(&db, &preloaded); err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(db, "radtrack_t_") || preloaded != e.Timescale {
			t.Fatalf("%s: database %s, TimescaleDB preloaded %v", e.Name, db, preloaded)
		}
		seen = append(seen, e.Name)

		// The other engine's URL under this engine's variable.
		other := pgtest.Engines()[0]
		if !e.Timescale {
			other = pgtest.Engines()[1]
		}
		t.Setenv(e.Env, other.AdminURL(t))
		r := run(t, func(tb testing.TB) { e.NewDatabase(tb) })
		if !strings.Contains(r.fatal, e.Env+" points to a server that") {
			t.Fatalf("%s pointing at %s: fatal=%q skipped=%q", e.Env, other.Name, r.fatal, r.skipped)
		}
	})
	if t.Failed() || t.Skipped() {
		return
	}
	if strings.Join(seen, ",") != "postgresql,timescaledb" {
		t.Fatalf("engines run: %v", seen)
	}
}
