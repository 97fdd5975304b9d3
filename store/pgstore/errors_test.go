package pgstore_test

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/radtrack/radtrack/internal/faultproxy"
	"github.com/radtrack/radtrack/internal/pgtest"
	"github.com/radtrack/radtrack/store"
	"github.com/radtrack/radtrack/store/pgstore"
	"github.com/radtrack/radtrack/store/storetest"
)

func TestClassifySQLStates(t *testing.T) {
	for code, want := range map[string]store.Fault{
		"22P05": store.Permanent, // untranslatable character (\u0000 in jsonb)
		"22021": store.Permanent, // invalid byte sequence (NUL in text)
		"22003": store.Permanent, // numeric value out of range
		"23505": store.Permanent, // unique violation
		"23502": store.Permanent, // not null violation
		"54001": store.Permanent, // stack depth (too deeply nested jsonb)
		"44000": store.Permanent, // WITH CHECK OPTION violation
		"08006": store.Transient, // connection failure
		"53300": store.Transient, // too many connections
		"57P01": store.Transient, // admin shutdown
		"57014": store.Transient, // query canceled (statement_timeout)
		"58030": store.Transient, // I/O error
		"40001": store.Transient, // serialization failure
		"40P01": store.Transient, // deadlock
		"55P03": store.Transient, // lock_timeout
		"25006": store.Transient, // read-only transaction (a standby after failover)
		"42P01": store.Unknown,   // undefined table
		"42501": store.Unknown,   // insufficient privilege
		"XX000": store.Unknown,   // internal error
		"P0001": store.Unknown,   // a trigger's RAISE EXCEPTION: may mean anything
	} {
		err := fmt.Errorf("write: %w", &pgconn.PgError{Code: code})
		if got := pgstore.Classify(err); got != want {
			t.Errorf("Classify(SQLSTATE %s) = %v, want %v", code, got, want)
		}
	}
	for _, c := range []struct {
		err  error
		want store.Fault
	}{
		{nil, store.NoFault},
		{fmt.Errorf("get: %w", store.ErrNotFound), store.Permanent},
		{context.DeadlineExceeded, store.Transient},
		{errors.New("dial tcp 127.0.0.1:1: connect: connection refused"), store.Transient},
	} {
		if got := pgstore.Classify(c.err); got != c.want {
			t.Errorf("Classify(%v) = %v, want %v", c.err, got, c.want)
		}
	}
}

// The real server's verdicts: a NUL in attributes is refused for good and
// named by its column; a query the schema does not know is neither
// transient nor a data error; a cut connection is transient.
func TestClassifyRealRefusals(t *testing.T) { pgtest.EachDatabase(t, testClassifyRealRefusals) }

func testClassifyRealRefusals(t *testing.T, db string) {
	ctx := context.Background()
	st := open(t, db)
	bad := storetest.Samples(1, time.Now().UTC().Add(-time.Hour).Truncate(time.Second), 3)
	bad[1].Attributes = map[string]any{"note": "a\x00b"}
	for _, mode := range []pgstore.WriteMode{pgstore.WriteCopy, pgstore.WriteInsert} {
		s := st
		if mode == pgstore.WriteInsert {
			var err error
			if s, err = pgstore.Open(ctx, pgstore.Config{URL: db, WriteMode: mode}); err != nil {
				t.Fatal(err)
			}
			defer s.Close()
		}
		err := s.WriteSamples(ctx, bad)
		var ce *store.ColumnError
		if pgstore.Classify(err) != store.Permanent || !errors.As(err, &ce) || ce.Column != "attributes" {
			t.Fatalf("mode %d: NUL in attributes: %v (%v), want a permanent refusal naming attributes", mode, err, pgstore.Classify(err))
		}
		// The others are not stored by the failed write (one COPY, one transaction).
		if got, err := s.Track(ctx, store.TrackQuery{DeviceID: 1, From: bad[0].Time, To: bad[2].Time.Add(time.Second)}); err != nil || len(got) != 0 {
			t.Fatalf("mode %d: %d rows after a refused write (%v)", mode, len(got), err)
		}
	}
	// A repeated sample in the same batch as a bad one: the deduplicating
	// path refuses it the same way.
	if err := st.WriteSamples(ctx, bad[:1]); err != nil {
		t.Fatal(err)
	}
	if err := st.WriteSamples(ctx, bad); pgstore.Classify(err) != store.Permanent {
		t.Fatalf("bad sample behind a stored one: %v, want permanent", err)
	}
	_, err := st.Pool().Exec(ctx, "SELECT * FROM no_such_table")
	if got := pgstore.Classify(err); got != store.Unknown {
		t.Fatalf("undefined table: %v → %v, want unknown", err, got)
	}

	u, _ := url.Parse(db)
	proxy := faultproxy.Start(t, u.Host)
	u.Host = proxy.Addr()
	via := open(t, u.String())
	proxy.Down()
	err = via.WriteSamples(ctx, storetest.Samples(1, time.Now().UTC().Add(-time.Minute).Truncate(time.Second), 1))
	if got := pgstore.Classify(err); got != store.Transient || !pgstore.Unavailable(err) {
		t.Fatalf("database cut: %v → %v, want transient", err, got)
	}
}

// Text no stored row can hold is looked up as "not found", never as an
// error that would answer 503: an OsmAnd id or a login name with a NUL.
func TestLookupOfUnstorableTextIsNotFound(t *testing.T) {
	ctx := context.Background()
	st := open(t, pgtest.NewDatabase(t))
	if _, err := st.DeviceByUID(ctx, "van\x007"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("DeviceByUID with a NUL: %v, want ErrNotFound", err)
	}
	if _, err := st.UserByUsername(ctx, "adm\x00in"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("UserByUsername with a NUL: %v, want ErrNotFound", err)
	}
	if _, err := st.DeviceByUID(ctx, "latin1 \xe9"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("DeviceByUID with invalid UTF-8: %v, want ErrNotFound", err)
	}
}

// A sample without a fix is stored with lon/lat NULL (a table reader
// must never see a point at 0,0); a real fix at 0,0 stays 0,0. Both write
// paths (binary COPY, INSERT) agree, and reads give back what was sent.
func TestNoFixStoresNullPosition(t *testing.T) { pgtest.EachDatabase(t, testNoFixStoresNullPosition) }

func testNoFixStoresNullPosition(t *testing.T, db string) {
	ctx := context.Background()
	for _, mode := range []pgstore.WriteMode{pgstore.WriteCopy, pgstore.WriteInsert} {
		st, err := pgstore.Open(ctx, pgstore.Config{URL: db, WriteMode: mode})
		if err != nil {
			t.Fatal(err)
		}
		defer st.Close()
		device := int64(10 + mode)
		s := storetest.Samples(device, time.Now().UTC().Add(-time.Hour).Truncate(time.Second), 3)
		s[0].GPSValid, s[0].Lon, s[0].Lat = false, 0, 0       // no fix at all
		s[1].GPSValid, s[1].Lon, s[1].Lat = false, 4.05, 51.9 // a fix flagged invalid
		s[2].GPSValid, s[2].Lon, s[2].Lat = true, 0, 0        // a real fix at 0,0
		if err := st.WriteSamples(ctx, s); err != nil {
			t.Fatal(err)
		}
		rows, err := st.Pool().Query(ctx, `SELECT lon IS NULL, lat IS NULL FROM measurements WHERE device_id = $1 ORDER BY time`, device)
		if err != nil {
			t.Fatal(err)
		}
		var got [][2]bool
		for rows.Next() {
			var a, b bool
			if err := rows.Scan(&a, &b); err != nil {
				t.Fatal(err)
			}
			got = append(got, [2]bool{a, b})
		}
		if fmt.Sprint(got) != "[[true true] [true true] [false false]]" {
			t.Fatalf("mode %d: lon/lat NULL per row = %v, want NULL for both samples without a fix only", mode, got)
		}
		back, err := st.Track(ctx, store.TrackQuery{DeviceID: device, From: s[0].Time, To: s[2].Time.Add(time.Second)})
		if err != nil || len(back) != 3 || back[0].GPSValid || back[1].GPSValid || !back[2].GPSValid || back[2].Lon != 0 {
			t.Fatalf("mode %d: track %+v %v", mode, back, err)
		}
	}
}
