// Package pgtest gives integration tests a fresh, empty PostgreSQL database
// on the real server that scripts/services.sh starts.
package pgtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"os"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// EnvURL names the variable holding an admin connection string of a role
// allowed to CREATE DATABASE; scripts/test.sh sets it.
const EnvURL = "RADTRACK_TEST_DATABASE_URL"

// AdminURL returns the admin connection string, skipping the test when it is
// not set outside CI and failing it in CI, where a skip would hide a gap.
func AdminURL(t testing.TB) string {
	t.Helper()
	admin := os.Getenv(EnvURL)
	if admin == "" {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s is not set: run the tests through scripts/test.sh", EnvURL)
		}
		t.Skipf("%s is not set: run scripts/test.sh to start PostgreSQL and run integration tests", EnvURL)
	}
	return admin
}

// NewDatabase creates an empty database for this test, drops it when the
// test ends, and returns its connection string.
func NewDatabase(t testing.TB) string {
	t.Helper()
	admin := AdminURL(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, admin)
	if err != nil {
		t.Fatalf("connect to test PostgreSQL: %v", err)
	}
	defer conn.Close(ctx)

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
		if _, err := conn.Exec(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)"); err != nil {
			t.Errorf("drop test database %s: %v", name, err)
		}
	})
	u, err := url.Parse(admin)
	if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
		t.Fatalf("%s must be a postgres:// URL: %v", EnvURL, err)
	}
	u.Path = "/" + name
	return u.String()
}
