package pgstore_test

import (
	"context"
	"math"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/radtrack/radtrack/internal/pgtest"
	"github.com/radtrack/radtrack/sample"
	"github.com/radtrack/radtrack/store/pgstore"
)

// The hand-encoded binary COPY stores exactly what pgx's generic CopyFrom
// stores, value for value, for samples that use every column's edge: NULLs
// (NaN), attributes, satellites absent and beyond smallint, times with
// nanoseconds and before 2000, text that needs UTF-8.
func TestBinaryCopyStoresWhatPgxStores(t *testing.T) {
	pgtest.EachDatabase(t, testBinaryCopyStoresWhatPgxStores)
}

func testBinaryCopyStoresWhatPgxStores(t *testing.T, url string) {
	ctx := context.Background()
	st := open(t, url)
	base := time.Date(2026, 11, 22, 10, 0, 0, 123_456_789, time.UTC)
	var samples []sample.Sample
	for i := range 40 {
		s := sample.New()
		s.DeviceID = int64(1 + i%3)
		s.Time = base.Add(time.Duration(i) * 1500 * time.Millisecond)
		s.ReceivedAt = s.Time.Add(time.Duration(i) * time.Microsecond)
		s.Lon, s.Lat, s.GPSValid = -179.999999+float64(i)*9, -89.5+float64(i)*4.4, i%2 == 0
		s.Source = "http"
		switch i % 4 {
		case 0: // every optional value absent
		case 1:
			s.Altitude, s.Speed, s.Heading, s.HDOP, s.Accuracy = -12.5, 0, 359.9, 0.7, 3
			s.Satellites, s.DoseRate, s.CPM, s.Counts, s.CountInterval, s.RadValid = 9, 0.123456789, 41, 3, 5, true
			s.Battery = 87
			s.Attributes = map[string]any{"unit": "bGeigie", "n": 3.5, "nested": map[string]any{"ok": true}, "ü": "Grüße"}
		case 2:
			s.Satellites = 40_000 // beyond smallint: stored as its maximum
			s.DoseRate, s.Imported, s.Source = math.MaxFloat64, true, "import:bgeigie"
			s.Time = time.Date(1999, 12, 31, 23, 59, 59, 999_999_000, time.UTC).Add(time.Duration(i) * time.Hour)
		case 3:
			s.DoseRate, s.Counts = 1e-9, 0
			s.Source = "osmand"
		}
		samples = append(samples, s)
	}
	pool := st.Pool()
	if _, err := pool.Exec(ctx, `CREATE TABLE via_pgx (LIKE measurements INCLUDING ALL)`); err != nil {
		t.Fatal(err)
	}
	if _, err := pool.CopyFrom(ctx, pgx.Identifier{"via_pgx"}, pgstore.MeasurementColumns(), pgstore.SampleRows(samples)); err != nil {
		t.Fatal(err)
	}
	if err := st.WriteSamples(ctx, samples); err != nil {
		t.Fatalf("binary COPY: %v", err)
	}
	var rows, onlyPgx, onlyOurs int
	if err := pool.QueryRow(ctx, `SELECT (SELECT count(*) FROM measurements),
		(SELECT count(*) FROM (SELECT * FROM via_pgx EXCEPT SELECT * FROM measurements) d),
		(SELECT count(*) FROM (SELECT * FROM measurements EXCEPT SELECT * FROM via_pgx) d)`).Scan(&rows, &onlyPgx, &onlyOurs); err != nil {
		t.Fatal(err)
	}
	if rows != len(samples) || onlyPgx != 0 || onlyOurs != 0 {
		t.Fatalf("%d rows stored; %d rows only in the pgx table, %d only in ours: the encodings differ", rows, onlyPgx, onlyOurs)
	}
	// A retry of the same batch goes through the deduplicating path, which
	// uses the same encoder into the staging table.
	if err := st.WriteSamples(ctx, samples); err != nil {
		t.Fatalf("retry: %v", err)
	}
	if err := pool.QueryRow(ctx, `SELECT count(*) FROM measurements`).Scan(&rows); err != nil || rows != len(samples) {
		t.Fatalf("after a retry: %d rows (%v), want %d", rows, err, len(samples))
	}
}
