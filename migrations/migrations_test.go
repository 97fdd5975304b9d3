package migrations

import (
	"errors"
	"strings"
	"testing"
	"testing/fstest"
)

func names(ms []Migration) string {
	var out []string
	for _, m := range ms {
		out = append(out, m.Name)
	}
	return strings.Join(out, " ")
}

func TestEmbeddedFilesLoadForEveryDialectWithTheSameVersions(t *testing.T) {
	var latest []int
	for _, d := range []Dialect{TimescaleDB, PostgreSQL, SQLite} {
		all, err := Load(d)
		if err != nil {
			t.Fatalf("%s: %v", d, err)
		}
		for i, m := range all {
			if m.Version != i+1 {
				t.Fatalf("%s: migration %d is %s", d, i+1, m.Name)
			}
			if strings.TrimSpace(m.SQL) == "" {
				t.Errorf("%s: %s is empty (a step an engine skips still says why in a comment)", d, m.Name)
			}
		}
		latest = append(latest, Latest(all))
	}
	if latest[0] != latest[1] || latest[1] != latest[2] || latest[0] < 8 {
		t.Fatalf("latest versions (tsdb, plain, sqlite) = %v, want one number ≥ 8", latest)
	}
	tsdb, _ := Load(TimescaleDB)
	if got := tsdb[2].Name; got != "0003_measurements_engine.tsdb.sql" {
		t.Fatalf("TimescaleDB version 3 is %s", got)
	}
	conv, err := PlainToTimescaleDB()
	if err != nil {
		t.Fatal(err)
	}
	if got := names(conv); got != "0011_dose_grid.undo-plain.sql 0008_dose_1m_refresh_all.undo-plain.sql 0003_measurements_engine.undo-plain.sql "+
		"0003_measurements_engine.tsdb.sql 0008_dose_1m_refresh_all.tsdb.sql 0011_dose_grid.tsdb.sql" {
		t.Fatalf("conversion steps: %s", got)
	}
}

func TestLoadPicksEachDialectsFiles(t *testing.T) {
	fsys := fstest.MapFS{
		"0001_a.pg.sql":         {Data: []byte("a pg")},
		"0001_a.sqlite.sql":     {Data: []byte("a sqlite")},
		"0002_b.tsdb.sql":       {Data: []byte("b tsdb")},
		"0002_b.plain.sql":      {Data: []byte("-- radtrack:no-transaction\nb plain")},
		"0002_b.undo-plain.sql": {Data: []byte("b undo")},
		"0002_b.sqlite.sql":     {Data: []byte("-- nothing")},
		"0003_c.tsdb.sql":       {Data: []byte("c tsdb")},
		"0003_c.plain.sql":      {Data: []byte("c plain")},
		"0003_c.undo-plain.sql": {Data: []byte("c undo")},
		"0003_c.sqlite.sql":     {Data: []byte("c sqlite")},
		"README.md":             {Data: []byte("not a migration")},
	}
	for d, want := range map[Dialect]string{
		TimescaleDB: "0001_a.pg.sql 0002_b.tsdb.sql 0003_c.tsdb.sql",
		PostgreSQL:  "0001_a.pg.sql 0002_b.plain.sql 0003_c.plain.sql",
		SQLite:      "0001_a.sqlite.sql 0002_b.sqlite.sql 0003_c.sqlite.sql",
	} {
		all, err := load(fsys, d)
		if err != nil {
			t.Fatalf("%s: %v", d, err)
		}
		if got := names(all); got != want {
			t.Errorf("%s: %s, want %s", d, got, want)
		}
	}
	plain, _ := load(fsys, PostgreSQL)
	if !plain[1].NoTransaction || plain[0].NoTransaction || plain[1].SQL != "-- radtrack:no-transaction\nb plain" {
		t.Fatalf("no-transaction marker: %+v", plain)
	}
	delete(fsys, "0002_b.plain.sql")
	fsys["0002_b.plain.sql"] = &fstest.MapFile{Data: []byte("b plain")}
	conv, err := plainToTimescaleDB(fsys)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := names(conv), "0003_c.undo-plain.sql 0002_b.undo-plain.sql 0002_b.tsdb.sql 0003_c.tsdb.sql"; got != want {
		t.Fatalf("conversion: %s, want %s", got, want)
	}
	if _, err := load(fsys, Dialect("mysql")); err == nil || !strings.Contains(err.Error(), `"mysql"`) {
		t.Fatalf("unknown dialect: %v", err)
	}
}

func TestLoadRefusesIncompleteOrAmbiguousSets(t *testing.T) {
	base := func() fstest.MapFS {
		return fstest.MapFS{
			"0001_a.pg.sql":     {Data: []byte("x")},
			"0001_a.sqlite.sql": {Data: []byte("x")},
		}
	}
	for _, tc := range []struct {
		name   string
		change func(fstest.MapFS)
		want   string
	}{
		{"gap", func(f fstest.MapFS) {
			f["0003_c.pg.sql"], f["0003_c.sqlite.sql"] = &fstest.MapFile{}, &fstest.MapFile{}
		}, "migration version 2 is missing"},
		{"no sqlite", func(f fstest.MapFS) { f["0002_b.pg.sql"] = &fstest.MapFile{} }, "version 2 has no .sqlite.sql"},
		{"no pg", func(f fstest.MapFS) { f["0002_b.sqlite.sql"] = &fstest.MapFile{} }, "version 2 needs a .pg.sql file or all of"},
		{"variant without undo", func(f fstest.MapFS) {
			f["0002_b.sqlite.sql"], f["0002_b.tsdb.sql"], f["0002_b.plain.sql"] = &fstest.MapFile{}, &fstest.MapFile{}, &fstest.MapFile{}
		}, "version 2 needs a .pg.sql file or all of"},
		{"pg and variant", func(f fstest.MapFS) { f["0001_a.tsdb.sql"] = &fstest.MapFile{} }, "has a .pg.sql file and engine variants"},
		{"same version twice", func(f fstest.MapFS) { f["0001_other.pg.sql"] = &fstest.MapFile{} }, "0001_a.pg.sql and 0001_other.pg.sql are both version 1 for pg"},
		{"no dialect", func(f fstest.MapFS) { f["0002_b.sql"] = &fstest.MapFile{} }, "0002_b.sql: name must be NNNN_name.DIALECT.sql"},
		{"unknown dialect", func(f fstest.MapFS) { f["0002_b.mysql.sql"] = &fstest.MapFile{} }, `unknown dialect "mysql"`},
		{"bad number", func(f fstest.MapFS) { f["2_b.pg.sql"] = &fstest.MapFile{} }, "four-digit version"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fsys := base()
			tc.change(fsys)
			_, err := load(fsys, PostgreSQL)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want it to contain %q", err, tc.want)
			}
		})
	}
}

func TestPendingRefusesANewerSchema(t *testing.T) {
	all := []Migration{{Version: 1, Name: "a"}, {Version: 2, Name: "b"}, {Version: 3, Name: "c"}}
	p, err := Pending(all, []int{1, 2})
	if err != nil || names(p) != "c" {
		t.Fatalf("pending %q, %v; want c", names(p), err)
	}
	p, err = Pending(all, nil)
	if err != nil || names(p) != "a b c" {
		t.Fatalf("pending %q, %v; want a b c", names(p), err)
	}
	p, err = Pending(all, []int{1, 2, 3})
	if err != nil || len(p) != 0 {
		t.Fatalf("pending %q, %v; want none", names(p), err)
	}
	_, err = Pending(all, []int{1, 2, 3, 4, 5})
	if !errors.Is(err, ErrSchemaTooNew) || !strings.Contains(err.Error(), "schema version 5, this binary knows versions up to 3") {
		t.Fatalf("newer schema: %v", err)
	}
}
