package pgstore_test

import (
	"context"
	"testing"
	"time"

	"github.com/radtrack/radtrack/internal/pgtest"
	"github.com/radtrack/radtrack/store/pgstore"
)

// Serving connections carry statement_timeout and lock_timeout, so a lock
// pile-up ends on the server too; a value in the URL wins.
func TestServingConnectionsHaveServerSideTimeouts(t *testing.T) {
	url := pgtest.NewDatabase(t)
	ctx := context.Background()
	show := func(s *pgstore.Store, name string) string {
		t.Helper()
		var v string
		if err := s.Pool().QueryRow(ctx, "SHOW "+name).Scan(&v); err != nil {
			t.Fatal(err)
		}
		return v
	}
	s, err := pgstore.Open(ctx, pgstore.Config{URL: url})
	if err != nil {
		t.Fatal(err)
	}
	if st, lt := show(s, "statement_timeout"), show(s, "lock_timeout"); st != "1min" || lt != "5s" {
		t.Errorf("defaults: statement_timeout %q lock_timeout %q, want 1min and 5s", st, lt)
	}
	s.Close()
	s, err = pgstore.Open(ctx, pgstore.Config{URL: url + "&statement_timeout=2500", StatementTimeout: time.Second, LockTimeout: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if st, lt := show(s, "statement_timeout"), show(s, "lock_timeout"); st != "2500ms" || lt != "0" {
		t.Errorf("URL and off: statement_timeout %q lock_timeout %q, want 2500ms and 0", st, lt)
	}
}
