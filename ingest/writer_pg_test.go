package ingest

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/radtrack/radtrack/internal/deadletter"
	"github.com/radtrack/radtrack/internal/pgtest"
	"github.com/radtrack/radtrack/metrics"
	"github.com/radtrack/radtrack/spool"
	"github.com/radtrack/radtrack/store"
	"github.com/radtrack/radtrack/store/pgstore"
	"github.com/radtrack/radtrack/store/storetest"
)

// On the real PostgreSQL: samples that passed no validation (written to
// the writer directly) with a NUL in an attribute — which jsonb refuses
// for the whole COPY — among 30 devices' concurrent requests: every other
// request is stored and acknowledged, the bad samples alone are refused,
// naming the column; and a spooled batch with such a sample replays the
// others and sets it aside.
func TestWriterIsolatesWhatPostgreSQLRefuses(t *testing.T) {
	pgtest.EachDatabase(t, testWriterIsolatesWhatPostgreSQLRefuses)
}

func testWriterIsolatesWhatPostgreSQLRefuses(t *testing.T, db string) {
	ctx := context.Background()
	st, err := pgstore.Open(ctx, pgstore.Config{URL: db})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	w := NewWriter(st, WriterConfig{BatchSize: 10_000, FlushInterval: 30 * time.Millisecond, Flushers: 1, QueueLimit: 100_000, Classify: pgstore.Classify},
		metrics.New(), slog.New(slog.NewTextHandler(io.Discard, nil)))
	start := time.Now().UTC().Add(-time.Hour).Truncate(time.Second)
	const devices, each = 30, 20
	errs := make([]error, devices)
	var wg sync.WaitGroup
	for d := range devices {
		batch := storetest.Samples(int64(d+1), start, each)
		if d%10 == 3 { // devices 4, 14, 24: one bad sample each
			batch[d%each].Attributes = map[string]any{"note": "a\x00b"}
		}
		wg.Go(func() { errs[d] = w.Write(ctx, batch) })
	}
	wg.Wait()
	if err := w.Close(ctx); err != nil {
		t.Fatal(err)
	}
	for d, err := range errs {
		if d%10 != 3 {
			if err != nil {
				t.Errorf("device %d: %v (another device's sample failed it)", d+1, err)
			}
			continue
		}
		var refused *store.RefusedError
		if !errors.As(err, &refused) || len(refused.Refusals) != 1 || refused.Refusals[0].Index != d%each || refused.Refusals[0].Field != "attributes" ||
			pgstore.Classify(refused.Refusals[0].Err) != store.Permanent {
			t.Errorf("device %d: %v, want sample %d refused naming attributes", d+1, err, d%each)
		}
	}
	var n int
	if err := st.Pool().QueryRow(ctx, "SELECT count(*) FROM measurements").Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != devices*each-3 {
		t.Fatalf("%d rows stored, want %d (all but the 3 refused)", n, devices*each-3)
	}

	// The same kind of sample in the spool: the replay stores the others
	// and sets it aside.
	dir := t.TempDir()
	sp, err := spool.Open(dir, 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	defer sp.Close()
	later := start.Add(time.Hour)
	bad := storetest.Samples(1, later, 5)
	bad[2].Attributes = map[string]any{"note": "\x00"}
	if err := sp.Append(bad); err != nil {
		t.Fatal(err)
	}
	if err := sp.Append(storetest.Samples(2, later, 5)); err != nil {
		t.Fatal(err)
	}
	w = NewWriter(st, WriterConfig{Spool: sp, Classify: pgstore.Classify, ReplayEvery: 20 * time.Millisecond}, metrics.New(), slog.New(slog.NewTextHandler(io.Discard, nil)))
	defer w.Close(ctx)
	for deadline := time.Now().Add(10 * time.Second); sp.Bytes() != 0; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("spool not replayed: %d bytes left", sp.Bytes())
		}
	}
	if err := st.Pool().QueryRow(ctx, "SELECT count(*) FROM measurements WHERE time >= $1", later).Scan(&n); err != nil {
		t.Fatal(err)
	}
	var dead []deadletter.Record
	_ = deadletter.List(filepath.Join(dir, deadletter.DirName), func(r deadletter.Record) error { dead = append(dead, r); return nil })
	if n != 9 || len(dead) != 1 || dead[0].DeviceID != 1 || !dead[0].Time.Equal(bad[2].Time) || dead[0].Field != "attributes" {
		t.Fatalf("after replay: %d rows (want 9), dead letters %+v (want sample 2 of device 1)", n, dead)
	}
}
