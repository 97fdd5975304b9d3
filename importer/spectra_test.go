package importer_test

import (
	"context"
	"testing"
	"time"

	"github.com/radtrack/radtrack/internal/testutil"
	"github.com/radtrack/radtrack/store"
)

// Channel sums: a Python expansion of CountedZeroes over the same files
// (see ingest/n42/spectrum_test.go): race track 153 spectra, 843 302
// counts; Ba-133 portal 8 spectra, 2 621 142; background 8, 467 199.
func TestImportN42Spectra(t *testing.T) {
	cases := []struct {
		file             string
		samples, spectra int
		total            int64
		channels         int64
		from             time.Time
	}{
		{"interspec_racetrack_drive_2024-10-20.n42", 153, 153, 843302, 153 * 1024, time.Date(2024, 10, 20, 15, 35, 55, 0, time.UTC)},
		{"interspec_ba133_source_640s.n42", 0, 8, 2621142, 8 * 16384, time.Date(2010, 4, 17, 17, 33, 19, 409e6, time.UTC)},
		{"interspec_background_640s.n42", 0, 8, 467199, 8 * 16384, time.Date(2010, 4, 17, 20, 36, 28, 409e6, time.UTC)},
	}
	for _, c := range cases {
		t.Run(c.file, func(t *testing.T) {
			path := testutil.RequiredRadiationFile(t, c.file)
			core, im := newImporter(t, "spec")
			ctx := context.Background()
			for round := range 2 { // the second import stores nothing new
				rep, err := im.File(ctx, path)
				if err != nil {
					t.Fatal(err)
				}
				if rep.Format != "n42" || rep.Samples != c.samples || rep.Spectra != c.spectra || rep.Nuclides != 0 || len(rep.Skipped) != 0 {
					t.Fatalf("round %d: report %s (skipped %v)", round, rep, rep.Skipped)
				}
				var n int
				var total, channels int64
				if err := core.PG.Pool().QueryRow(ctx, `SELECT count(*), coalesce(sum(total), 0), coalesce(sum(channels), 0) FROM spectra`).Scan(&n, &total, &channels); err != nil {
					t.Fatal(err)
				}
				if n != c.spectra || total != c.total || channels != c.channels {
					t.Fatalf("round %d: %d spectra, %d counts, %d channels stored", round, n, total, channels)
				}
			}
			got, err := core.Store.SpectraRange(ctx, store.SpectrumQuery{DeviceID: im.Device.ID, From: c.from, To: c.from.Add(time.Hour)})
			if err != nil {
				t.Fatal(err)
			}
			var sum int64
			for _, s := range got {
				sum += s.Total()
			}
			if len(got) != c.spectra || sum != c.total || !got[0].Time.Equal(c.from) || len(got[0].Calibration) != 3 {
				t.Fatalf("read back %d spectra, %d counts, first at %v cal %v", len(got), sum, got[0].Time, got[0].Calibration)
			}
		})
	}
}

func TestImportN42Nuclides(t *testing.T) {
	core, im := newImporter(t, "mobile")
	ctx := context.Background()
	rep, err := im.File(ctx, testutil.RequiredRadiationFile(t, "n42_example_mobile_system.xml"))
	if err != nil {
		t.Fatal(err)
	}
	if rep.Spectra != 2 || rep.Nuclides != 2 {
		t.Fatalf("report %s", rep)
	}
	var names string
	if err := core.PG.Pool().QueryRow(ctx, `SELECT string_agg(n->>'name' || ' ' || (n->>'confidence'), ',' ORDER BY time) FROM spectra, jsonb_array_elements(nuclides) n`).Scan(&names); err != nil {
		t.Fatal(err)
	}
	if names != "Cs-137 0.99,Cs-137 0.99" {
		t.Fatalf("nuclides %q", names)
	}
}
