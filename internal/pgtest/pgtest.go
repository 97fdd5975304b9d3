// Package pgtest gives integration tests a fresh, empty database on the real
// PostgreSQL servers that scripts/services.sh starts: plain PostgreSQL
// (RADTRACK_TEST_DATABASE_URL, port 5432) and PostgreSQL with TimescaleDB
// preloaded (RADTRACK_TEST_TSDB_URL, port 5433).
//
//	db := pgtest.NewDatabase(t) // plain PostgreSQL
//
//	pgtest.EachEngine(t, func(t *testing.T, e pgtest.Engine) { // one subtest per engine
//		db := e.NewDatabase(t)
//		...
//	})
//
// An engine whose variable is unset is skipped, or fails the test when
// CI=true, where a skip would hide a gap.
package pgtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"net/url"
	"os"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// EnvURL names the variable holding an admin connection string of the plain
// PostgreSQL server, for a role allowed to CREATE DATABASE; scripts/test.sh
// sets it.
const EnvURL = "RADTRACK_TEST_DATABASE_URL"

// EnvTimescaleURL is the same for the server that preloads TimescaleDB.
const EnvTimescaleURL = "RADTRACK_TEST_TSDB_URL"

// Engine is one PostgreSQL server to test against.
type Engine struct {
	Name      string // subtest name: "postgresql" or "timescaledb"
	Env       string // the variable holding its admin URL
	Timescale bool   // the server preloads TimescaleDB
}

// Engines lists every PostgreSQL engine the store supports, plain first.
func Engines() []Engine {
	return []Engine{
		{Name: "postgresql", Env: EnvURL},
		{Name: "timescaledb", Env: EnvTimescaleURL, Timescale: true},
	}
}

// EachEngine runs f as one subtest per engine, one after the other; a
// subtest is skipped or failed like AdminURL when its server is not
// configured.
func EachEngine(t *testing.T, f func(t *testing.T, e Engine)) {
	t.Helper()
	for _, e := range Engines() {
		t.Run(e.Name, func(t *testing.T) { f(t, e) })
	}
}

// EachDatabase runs f once per engine with a fresh database's URL.
func EachDatabase(t *testing.T, f func(t *testing.T, url string)) {
	t.Helper()
	EachEngine(t, func(t *testing.T, e Engine) { f(t, e.NewDatabase(t)) })
}

// AdminURL returns the plain server's admin connection string.
func AdminURL(t testing.TB) string {
	t.Helper()
	return Engines()[0].AdminURL(t)
}

// NewDatabase creates an empty database on the plain PostgreSQL server for
// this test, drops it when the test ends, and returns its connection string.
func NewDatabase(t testing.TB) string {
	t.Helper()
	return Engines()[0].NewDatabase(t)
}

// AdminURL returns the engine's admin connection string, skipping the test
// when it is not set outside CI and failing it in CI.
func (e Engine) AdminURL(t testing.TB) string {
	t.Helper()
	admin := os.Getenv(e.Env)
	if admin == "" {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s is not set (CI=true): run the tests through scripts/test.sh", e.Env)
		}
		t.Skipf("%s is not set: run scripts/test.sh to start PostgreSQL (5432) and TimescaleDB (5433) and run integration tests", e.Env)
	}
	return admin
}

// NewDatabase creates an empty database on the engine's server for this
// test, drops it when the test ends, and returns its connection string. On
// the TimescaleDB engine it first checks that the server really preloads
// TimescaleDB, so a misconfigured URL cannot quietly test plain PostgreSQL
// twice.
func (e Engine) NewDatabase(t testing.TB) string {
	t.Helper()
	admin := e.AdminURL(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, admin)
	if err != nil {
		t.Fatalf("connect to test %s (%s): %v", e.Name, e.Env, err)
	}
	defer conn.Close(ctx)
	var preloaded bool
	if err := conn.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_settings WHERE name = 'timescaledb.max_background_workers')`).Scan(&preloaded); err != nil {
		t.Fatalf("ask test %s whether it preloads TimescaleDB: %v", e.Name, err)
	}
	if e.Timescale && !preloaded {
		t.Fatalf("%s points to a server that does not preload TimescaleDB: run scripts/services.sh", e.Env)
	}
	if !e.Timescale && preloaded {
		t.Fatalf("%s points to a server that preloads TimescaleDB, but is the plain PostgreSQL engine", e.Env)
	}

	var b [6]byte
	_, _ = rand.Read(b[:])
	name := "radtrack_t_" + hex.EncodeToString(b[:])
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		t.Fatalf("create test database: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		conn, err := pgx.Connect(ctx, admin)
		if err != nil {
			t.Errorf("drop test database %s: %v", name, err)
			return
		}
		defer conn.Close(ctx)
		// FORCE ends the test's sessions, but not a background worker of
		// another role (autovacuum); those leave within moments.
		for {
			_, err := conn.Exec(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)")
			var pgErr *pgconn.PgError
			if err == nil {
				return
			}
			if !errors.As(err, &pgErr) || (pgErr.Code != "42501" && pgErr.Code != "55006") || ctx.Err() != nil {
				t.Errorf("drop test database %s: %v", name, err)
				return
			}
			time.Sleep(100 * time.Millisecond)
		}
	})
	u, err := url.Parse(admin)
	if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
		t.Fatalf("%s must be a postgres:// URL: %v", e.Env, err)
	}
	u.Path = "/" + name
	return u.String()
}
