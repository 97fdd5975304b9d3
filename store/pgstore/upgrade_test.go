package pgstore_test

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/radtrack/radtrack/internal/pgtest"
	"github.com/radtrack/radtrack/migrations"
	"github.com/radtrack/radtrack/store"
	"github.com/radtrack/radtrack/store/pgstore"
	"github.com/radtrack/radtrack/store/storetest"
)

// legacyDatabase builds a database exactly as the binaries before the one
// migration home left it: testdata/schema-v7 holds their migrations/ files
// (NNNN_name.sql with .tsdb/.plain pairs), applied and recorded as they
// applied and recorded them.
func legacyDatabase(t *testing.T, e pgtest.Engine) string {
	t.Helper()
	ctx := context.Background()
	url := e.NewDatabase(t)
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, `CREATE TABLE schema_migrations (
		version    integer PRIMARY KEY,
		name       text NOT NULL,
		applied_at timestamptz NOT NULL DEFAULT now())`); err != nil {
		t.Fatal(err)
	}
	skip := ".tsdb.sql"
	if e.Timescale {
		skip = ".plain.sql"
	}
	files, err := filepath.Glob("testdata/schema-v7/*.sql")
	if err != nil {
		t.Fatal(err)
	}
	version := 0
	for _, f := range files {
		if strings.HasSuffix(f, skip) {
			continue
		}
		version++
		body, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if err := pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
			if _, err := tx.Exec(ctx, string(body)); err != nil {
				return err
			}
			_, err := tx.Exec(ctx, `INSERT INTO schema_migrations (version, name) VALUES ($1, $2)`, version, filepath.Base(f))
			return err
		}); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
	}
	if version != 7 {
		t.Fatalf("fixture has %d versions, want 7", version)
	}
	if _, err := conn.Exec(ctx, `INSERT INTO devices (uid, name, token_hash) VALUES ('veh-old', 'Old van', '\x00112233')`); err != nil {
		t.Fatal(err)
	}
	return url
}

// A database made by the binaries before migrations had one home upgrades in
// place: its records are kept, the new versions apply, its rows stay, and
// its schema ends equal to a new database's.
func TestUpgradeFromTheSchemaBeforeOneMigrationHome(t *testing.T) {
	pgtest.EachEngine(t, func(t *testing.T, e pgtest.Engine) {
		ctx := context.Background()
		url := legacyDatabase(t, e)
		s := open(t, url)
		if s.Timescale() != e.Timescale {
			t.Fatalf("TimescaleDB = %v on %s", s.Timescale(), e.Name)
		}
		var want []migrationRow
		for _, m := range wantRecorded(t, dialect(e.Timescale)) {
			if m.Version <= 7 { // recorded by the old binary, under its file names
				m.Name = strings.NewReplacer(".pg.sql", ".sql").Replace(m.Name)
			}
			want = append(want, m)
		}
		if got := recorded(t, s.Pool()); !slices.Equal(got, want) {
			t.Fatalf("schema_migrations after the upgrade:\n%v\nwant\n%v", got, want)
		}
		fresh := openEngine(t, e)
		if got, want := schema(t, s.Pool(), e.Timescale), schema(t, fresh.Pool(), e.Timescale); got != want {
			t.Fatalf("upgraded schema differs from a new one:\n%s\n\nnew:\n%s", got, want)
		}
		d, err := s.DeviceByTokenHash(ctx, []byte{0x00, 0x11, 0x22, 0x33})
		if err != nil || d.UID != "veh-old" {
			t.Fatalf("device stored by the old binary: %+v, %v", d, err)
		}
		samples := storetest.Samples(d.ID, storetest.Base, 100)
		write(t, s, samples)
		got, err := s.Track(ctx, store.TrackQuery{DeviceID: d.ID, From: storetest.Base, To: storetest.Base.Add(time.Hour)})
		if err != nil || render(got) != render(samples) {
			t.Fatalf("track after the upgrade: %d samples, %v", len(got), err)
		}
	})
}

// radtrack migrate -to-timescaledb: a plain-PostgreSQL database on a server
// that preloads TimescaleDB becomes a TimescaleDB one with its rows, and
// every answer stays the same.
func TestConvertPlainDatabaseToTimescaleDB(t *testing.T) {
	ctx := context.Background()
	e := pgtest.Engines()[1]
	url := e.NewDatabase(t)
	plain := openWith(t, pgstore.Config{URL: url, Timescale: pgstore.TimescaleOff})
	if plain.Timescale() {
		t.Fatal("RADTRACK_TIMESCALEDB=off chose TimescaleDB")
	}
	now := time.Now().UTC().Truncate(time.Second)
	devices := newDevices(t, plain, 0, 3)
	samples := fleet(devices, now.Add(-5*24*time.Hour), now.Add(-2*time.Hour), 5*time.Minute)
	write(t, plain, samples)
	alarm := raiseAlarm(t, plain, devices[2], now.Add(-3*24*time.Hour), now.Add(-3*24*time.Hour+2*time.Hour))
	from, to := now.Add(-6*24*time.Hour), now
	before := ask(t, plain, devices, from, to, alarm)
	plain.Close()

	s, conv, err := pgstore.ConvertToTimescaleDB(ctx, pgstore.Config{URL: url})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	first, last := days(samples)
	if !s.Timescale() || !conv.Converted || conv.Rows != int64(len(samples)) || conv.Chunks != int(last.Sub(first)/(24*time.Hour))+1 {
		t.Fatalf("conversion: %+v, TimescaleDB %v; want %d rows in %d chunks", conv, s.Timescale(), len(samples), int(last.Sub(first)/(24*time.Hour))+1)
	}
	t.Logf("converted %d rows into %d chunks in %s", conv.Rows, conv.Chunks, conv.Took)
	if got := chunks(t, s.Pool()); !slices.Equal(got, dayChunks(first, last, func(time.Time) bool { return false })) {
		t.Fatalf("chunks: %q", got)
	}
	sameAnswers(t, "converted vs before", ask(t, s, devices, from, to, alarm), before)
	if got, want := recorded(t, s.Pool()), wantRecorded(t, migrations.TimescaleDB); !slices.Equal(got, want) {
		t.Fatalf("schema_migrations after the conversion:\n%v\nwant\n%v", got, want)
	}
	fresh := openEngine(t, e)
	if got, want := schema(t, s.Pool(), true), schema(t, fresh.Pool(), true); got != want {
		t.Fatalf("converted schema differs from a new TimescaleDB one:\n%s\n\nnew:\n%s", got, want)
	}

	// The history is materialised by the aggregate's job, not lost behind
	// its watermark; compressed, it still answers the same.
	runJob(t, s.Pool(), "policy_refresh_continuous_aggregate", "dose_1m")
	sameAnswers(t, "after the dose_1m job", ask(t, s, devices, from, to, alarm), before)
	if _, err := s.Pool().Exec(ctx, `SELECT compress_chunk(c) FROM show_chunks('measurements') c`); err != nil {
		t.Fatal(err)
	}
	sameAnswers(t, "compressed", ask(t, s, devices, from, to, alarm), before)
	s.Close()

	// Next starts: TimescaleDB without being asked; converting again does nothing.
	again, _, err := openMode(t, url, pgstore.TimescaleOn)
	if err != nil || !again.Timescale() {
		t.Fatalf("reopen with on: %v", err)
	}
	s2, conv, err := pgstore.ConvertToTimescaleDB(ctx, pgstore.Config{URL: url})
	if err != nil || conv.Converted || !s2.Timescale() {
		t.Fatalf("second conversion: %+v, %v", conv, err)
	}
	s2.Close()

	// A new database is simply created as TimescaleDB.
	s3, conv, err := pgstore.ConvertToTimescaleDB(ctx, pgstore.Config{URL: e.NewDatabase(t)})
	if err != nil || conv.Converted || !s3.Timescale() {
		t.Fatalf("conversion of a new database: %+v, %v", conv, err)
	}
	s3.Close()
}

// Where the server cannot load TimescaleDB, the conversion refuses and
// leaves the database as it was.
func TestConvertRefusesWithoutTimescaleDB(t *testing.T) {
	ctx := context.Background()
	url := pgtest.Engines()[0].NewDatabase(t)
	plain := open(t, url)
	devices := newDevices(t, plain, 0, 1)
	write(t, plain, storetest.Samples(devices[0], storetest.Base, 10))
	plain.Close()
	_, _, err := pgstore.ConvertToTimescaleDB(ctx, pgstore.Config{URL: url})
	if err == nil || !strings.Contains(err.Error(), "cannot convert database") || !strings.Contains(err.Error(), "TimescaleDB is ") {
		t.Fatalf("conversion on plain PostgreSQL: %v", err)
	}
	s := open(t, url)
	if s.Timescale() || count(t, s.Pool(), "SELECT count(*) FROM measurements") != 10 {
		t.Fatal("the refused conversion changed the database")
	}
	if !slices.Equal(recorded(t, s.Pool()), wantRecorded(t, migrations.PostgreSQL)) {
		t.Fatalf("schema_migrations: %v", recorded(t, s.Pool()))
	}
}
