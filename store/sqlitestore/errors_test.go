package sqlitestore_test

import (
	"context"
	"database/sql"
	"fmt"
	"testing"
	"time"

	"github.com/radtrack/radtrack/store"
	"github.com/radtrack/radtrack/store/sqlitestore"
	"github.com/radtrack/radtrack/store/storetest"
)

// SQLite's verdicts on real errors: a STRICT type violation is a refusal
// of the data; another writer holding the file past the busy timeout is
// transient; SQL the schema does not know is neither.
func TestClassifyRealErrors(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	st, err := sqlitestore.Open(ctx, sqlitestore.Config{Dir: dir, BusyTimeout: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	raw, err := sql.Open("sqlite", "file:"+st.Path())
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	_, err = raw.ExecContext(ctx, `INSERT INTO measurements (time, device_id, received_at, gps_valid, rad_valid, source)
		VALUES ('not a time', 1, 0, 0, 0, 'x')`)
	if got := sqlitestore.Classify(err); err == nil || got != store.Permanent {
		t.Fatalf("STRICT violation: %v → %v, want permanent", err, got)
	}
	_, err = raw.ExecContext(ctx, `SELECT * FROM no_such_table`)
	if got := sqlitestore.Classify(err); err == nil || got != store.Unknown {
		t.Fatalf("unknown table: %v → %v, want unknown", err, got)
	}
	conn, err := raw.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, "BEGIN IMMEDIATE"); err != nil {
		t.Fatal(err)
	}
	err = st.WriteSamples(ctx, storetest.Samples(1, time.Now().UTC().Add(-time.Minute).Truncate(time.Second), 1))
	if got := sqlitestore.Classify(err); err == nil || got != store.Transient {
		t.Fatalf("write lock held elsewhere: %v → %v, want transient", err, got)
	}
	_, _ = conn.ExecContext(ctx, "ROLLBACK")
	for _, c := range []struct {
		err  error
		want store.Fault
	}{{nil, store.NoFault}, {fmt.Errorf("x: %w", store.ErrNotFound), store.Permanent}, {context.DeadlineExceeded, store.Transient}} {
		if got := sqlitestore.Classify(c.err); got != c.want {
			t.Errorf("Classify(%v) = %v, want %v", c.err, got, c.want)
		}
	}
}

// As on PostgreSQL: without a fix, lon/lat are NULL; a real fix at 0,0
// stays.
func TestNoFixStoresNullPosition(t *testing.T) {
	ctx := context.Background()
	st := open(t, t.TempDir())
	s := storetest.Samples(7, time.Now().UTC().Add(-time.Hour).Truncate(time.Second), 3)
	s[0].GPSValid, s[0].Lon, s[0].Lat = false, 0, 0
	s[1].GPSValid, s[1].Lon, s[1].Lat = false, 4.05, 51.9
	s[2].GPSValid, s[2].Lon, s[2].Lat = true, 0, 0
	if err := st.WriteSamples(ctx, s); err != nil {
		t.Fatal(err)
	}
	raw, err := sql.Open("sqlite", "file:"+st.Path()+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	rows, err := raw.QueryContext(ctx, `SELECT lon IS NULL, lat IS NULL FROM measurements WHERE device_id = 7 ORDER BY time`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var got [][2]bool
	for rows.Next() {
		var a, b bool
		if err := rows.Scan(&a, &b); err != nil {
			t.Fatal(err)
		}
		got = append(got, [2]bool{a, b})
	}
	if fmt.Sprint(got) != "[[true true] [true true] [false false]]" {
		t.Fatalf("lon/lat NULL per row = %v, want NULL for both samples without a fix only", got)
	}
	back, err := st.Track(ctx, store.TrackQuery{DeviceID: 7, From: s[0].Time, To: s[2].Time.Add(time.Second)})
	if err != nil || len(back) != 3 || back[0].GPSValid || back[1].GPSValid || !back[2].GPSValid {
		t.Fatalf("track %+v %v", back, err)
	}
}
