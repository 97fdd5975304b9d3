package sqlitestore

import (
	"context"
	"testing"
)

// TestDurabilitySettings checks what the writer connection really runs
// with: the driver applies settings per connection, silently if misspelt.
func TestDurabilitySettings(t *testing.T) {
	ctx := context.Background()
	for _, c := range []struct {
		sync Sync
		want int
	}{{SyncFull, 2}, {SyncNormal, 1}} {
		s, err := Open(ctx, Config{Dir: t.TempDir(), Sync: c.sync})
		if err != nil {
			t.Fatal(err)
		}
		var (
			mode           string
			sync, fk, busy int
			tempStore      int
		)
		for _, p := range []struct {
			pragma string
			dest   any
		}{{"journal_mode", &mode}, {"synchronous", &sync}, {"foreign_keys", &fk}, {"busy_timeout", &busy}, {"temp_store", &tempStore}} {
			if err := s.w.QueryRowContext(ctx, "PRAGMA "+p.pragma).Scan(p.dest); err != nil {
				t.Fatalf("PRAGMA %s: %v", p.pragma, err)
			}
		}
		if mode != "wal" || sync != c.want || fk != 1 || busy != 10_000 || tempStore != 2 {
			t.Errorf("sync mode %d: journal_mode=%s synchronous=%d foreign_keys=%d busy_timeout=%d temp_store=%d",
				c.sync, mode, sync, fk, busy, tempStore)
		}
		if _, err := s.r.ExecContext(ctx, "DELETE FROM devices"); err == nil {
			t.Error("a read connection accepted a write")
		}
		s.Close()
	}
}
