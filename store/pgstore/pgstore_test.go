package pgstore_test

import (
	"context"
	"sync"
	"testing"

	"github.com/radtrack/radtrack/internal/pgtest"
	"github.com/radtrack/radtrack/store"
	"github.com/radtrack/radtrack/store/pgstore"
	"github.com/radtrack/radtrack/store/storetest"
)

func open(t *testing.T, url string) *pgstore.Store {
	t.Helper()
	s, err := pgstore.Open(context.Background(), pgstore.Config{URL: url})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return s
}

func TestStoreSuite(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store { return open(t, pgtest.NewDatabase(t)) })
}

func TestMigrationsAreIdempotentAndConcurrent(t *testing.T) {
	url := pgtest.NewDatabase(t)
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
	var n int
	if err := s.Pool().QueryRow(context.Background(), "SELECT count(*) FROM schema_migrations").Scan(&n); err != nil {
		t.Fatal(err)
	}
	var latest int
	if err := s.Pool().QueryRow(context.Background(), "SELECT max(version) FROM schema_migrations").Scan(&latest); err != nil {
		t.Fatal(err)
	}
	if n != latest || n < 4 {
		t.Fatalf("schema_migrations has %d rows up to version %d: each migration must be recorded once", n, latest)
	}
	if s.Timescale() {
		t.Fatalf("Debian PostgreSQL has no TimescaleDB, but the store chose it")
	}
}
