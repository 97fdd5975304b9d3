package sqlitestore_test

import (
	"context"
	"database/sql"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	_ "modernc.org/sqlite" // the driver the store uses, for building fixtures

	"github.com/radtrack/radtrack/migrations"
	"github.com/radtrack/radtrack/store"
	"github.com/radtrack/radtrack/store/sqlitestore"
	"github.com/radtrack/radtrack/store/storetest"
)

// legacyStore builds, in dir, an embedded database exactly as the binaries
// before the one migration home left it: testdata/schema-v4 and schema-v6
// hold their store/sqlitestore/migrations files (users at 3, API token
// scopes at 5, config version at 6), recorded the way they recorded them.
func legacyStore(t *testing.T, dir, fixture string) {
	t.Helper()
	ctx := context.Background()
	db, err := sql.Open("sqlite", "file:"+filepath.Join(dir, sqlitestore.FileName)+"?_pragma=journal_mode(WAL)")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.ExecContext(ctx, `CREATE TABLE schema_migrations (
		version    INTEGER PRIMARY KEY,
		name       TEXT NOT NULL,
		applied_at INTEGER NOT NULL) STRICT`); err != nil {
		t.Fatal(err)
	}
	files, err := filepath.Glob(filepath.Join("testdata", fixture, "*.sql"))
	if err != nil || len(files) < 4 {
		t.Fatalf("fixture files: %v %v", files, err)
	}
	for i, f := range files {
		body, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := db.ExecContext(ctx, string(body)); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		if _, err := db.ExecContext(ctx, `INSERT INTO schema_migrations VALUES (?, ?, ?)`, i+1, filepath.Base(f), time.Now().UnixMicro()); err != nil {
			t.Fatal(err)
		}
	}
	// A device with a token hash and a user, as the old binary wrote them.
	if _, err := db.ExecContext(ctx, `INSERT INTO devices (uid, name, token_hash) VALUES ('veh-old', 'Old van', x'00112233')`); err != nil {
		t.Fatal(err)
	}
	if _, err := db.ExecContext(ctx, `INSERT INTO users (username, password_hash, role) VALUES ('ana', 'h', 'admin')`); err != nil {
		t.Fatal(err)
	}
}

type migrationRow struct {
	Version int
	Name    string
}

func recorded(t *testing.T, s *sqlitestore.Store) []migrationRow {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+s.Path()+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	rows, err := db.Query(`SELECT version, name FROM schema_migrations ORDER BY version`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []migrationRow
	for rows.Next() {
		var r migrationRow
		if err := rows.Scan(&r.Version, &r.Name); err != nil {
			t.Fatal(err)
		}
		out = append(out, r)
	}
	return out
}

// schema lists every table, index and view with its SQL, without the
// migration record.
func schema(t *testing.T, path string) string {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+path+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	rows, err := db.Query(`SELECT type, name, coalesce(sql, '') FROM sqlite_schema
		WHERE name NOT LIKE 'sqlite_%' AND tbl_name <> 'schema_migrations' ORDER BY type, name`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var b strings.Builder
	for rows.Next() {
		var typ, name, sql string
		if err := rows.Scan(&typ, &name, &sql); err != nil {
			t.Fatal(err)
		}
		b.WriteString(typ + " " + name + ": " + sql + "\n")
	}
	return b.String()
}

func TestUpgradeFromTheOldNumbering(t *testing.T) {
	for _, fixture := range []string{"schema-v4", "schema-v6"} {
		t.Run(fixture, func(t *testing.T) { testUpgradeFromTheOldNumbering(t, fixture) })
	}
}

func testUpgradeFromTheOldNumbering(t *testing.T, fixture string) {
	ctx := context.Background()
	dir := t.TempDir()
	legacyStore(t, dir, fixture)

	s := open(t, dir)
	all, err := migrations.Load(migrations.SQLite)
	if err != nil {
		t.Fatal(err)
	}
	var want []migrationRow
	for _, m := range all {
		want = append(want, migrationRow{m.Version, m.Name})
	}
	if got := recorded(t, s); !slices.Equal(got, want) {
		t.Fatalf("schema_migrations after the upgrade:\n%v\nwant\n%v", got, want)
	}
	if got, fresh := schema(t, s.Path()), schema(t, open(t, t.TempDir()).Path()); got != fresh {
		t.Fatalf("upgraded schema differs from a fresh one:\n%s\nfresh:\n%s", got, fresh)
	}
	d, err := s.DeviceByTokenHash(ctx, []byte{0x00, 0x11, 0x22, 0x33})
	if err != nil || d.UID != "veh-old" || d.Name != "Old van" {
		t.Fatalf("device written by the old binary: %+v, %v", d, err)
	}
	if u, err := s.UserByUsername(ctx, "ana"); err != nil || u.Role != "admin" {
		t.Fatalf("user written by the old binary: %+v, %v", u, err)
	}
	samples := storetest.Samples(d.ID, storetest.Base, 10)
	if err := s.WriteSamples(ctx, samples); err != nil {
		t.Fatal(err)
	}
	got, err := s.Track(ctx, store.TrackQuery{DeviceID: d.ID, From: storetest.Base, To: storetest.Base.Add(time.Hour)})
	if err != nil || len(got) != 10 {
		t.Fatalf("track after the upgrade: %d samples, %v", len(got), err)
	}
	s.Close()

	// A second start finds nothing to do.
	s2 := open(t, dir)
	if got := recorded(t, s2); !slices.Equal(got, want) {
		t.Fatalf("schema_migrations after a second start: %v", got)
	}
}

func TestRefusesASchemaNewerThanTheBinary(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s := open(t, dir)
	db, err := sql.Open("sqlite", "file:"+s.Path())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.ExecContext(ctx, `INSERT INTO schema_migrations VALUES (999, '0999_future.sqlite.sql', 0)`); err != nil {
		t.Fatal(err)
	}
	db.Close()
	s.Close()
	_, err = sqlitestore.Open(ctx, sqlitestore.Config{Dir: dir})
	if !errors.Is(err, migrations.ErrSchemaTooNew) || !strings.Contains(err.Error(), "schema version 999") || !strings.Contains(err.Error(), s.Path()) {
		t.Fatalf("opening a newer schema: %v", err)
	}
}
