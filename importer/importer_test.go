package importer_test

import (
	"bufio"
	"context"
	"io"
	"log/slog"
	"math"
	"strings"
	"testing"

	"github.com/radtrack/radtrack/app"
	"github.com/radtrack/radtrack/geo"
	"github.com/radtrack/radtrack/importer"
	"github.com/radtrack/radtrack/ingest"
	"github.com/radtrack/radtrack/internal/pgtest"
	"github.com/radtrack/radtrack/internal/testutil"
	"github.com/radtrack/radtrack/store/pgstore"
	"github.com/radtrack/radtrack/store/storetest"
)

// The expected numbers were computed from the files without RadTrack's
// decoders (sentences with a valid XOR checksum, per design.md §4):
//
//	python3: re.findall(r'\$[A-Z]+,[^$\r\n]*', text), checksum checked, then
//	  stored   = sentences whose time is not 2000-01-01 (GPS time lost), distinct times
//	  gps      = of those, field 12 == 'A' and coordinates not 0000.0000
//
// The dose is sample.FillDose's (default calibration 334 CPM per µSv/h):
// CPM/334 while the 5-s counts agree with the minute's CPM (two-sided
// binomial test, p ≥ 1e-3), counts×12/334 when they do not. The largest,
// from the same sentences with exact binomial sums (Python math.comb):
// Fukushima 637 CPM (49 counts, steady) → 637/334; Los Angeles 63 CPM
// (3 counts) → 63/334; Zen 13 counts in a CPM of 50 (p < 1e-3) → 13×12/334.
// (Before FillDose weighed the two, the maxima were the 5-s counts' 71, 11
// and 13 × 12/334.)
func TestImportRealLogs(t *testing.T) {
	cases := []struct {
		file            string
		stored, gps     int
		noTime          int
		maxDose         float64
		format          string
		maxDoseOverride float64 // for files that carry dose themselves
	}{
		{file: "safecast_bgeigie_BGRDD_fukushima_2012-07-01.log", stored: 1046, gps: 1046, maxDose: 637.0 / 334, format: "bgeigie"},
		{file: "safecast_bgeigie-mini_BMRDD_los-angeles_2012-05-23.LOG", stored: 1701, gps: 1700, maxDose: 63.0 / 334, format: "bgeigie"},
		{file: "safecast_bgeigie-zen_BNRDD_5002_2025-07-25.log", stored: 14987, gps: 14968, noTime: 863, maxDose: 13 * 12.0 / 334, format: "bgeigie"},
		// tail -n +2 atomfast_walk_2025-07-19.csv | cut -d';' -f1 | sort -u | wc -l → 1112
		// awk -F';' 'NR>1 {if ($2+0>m) m=$2+0} END {print m}'                      → 0.12916
		{file: "atomfast_walk_2025-07-19.csv", stored: 1112, gps: 1112, format: "atomfast", maxDoseOverride: 0.12916},
	}
	for _, c := range cases {
		t.Run(c.file, func(t *testing.T) {
			path := testutil.RadiationFile(t, c.file)
			core, im := newImporter(t, "dev-"+c.format)
			ctx := context.Background()
			rep, err := im.File(ctx, path)
			if err != nil {
				t.Fatal(err)
			}
			if rep.Format != c.format || rep.Accepted != c.stored || rep.Rejected != 0 || rep.Skipped["no_time"] != c.noTime {
				t.Fatalf("report %s", rep)
			}
			var rows, gps int
			var maxDose float64
			var allImported bool
			if err := core.PG.Pool().QueryRow(ctx, `SELECT count(*), count(*) FILTER (WHERE gps_valid), max(dose_rate), bool_and(imported)
				FROM measurements`).Scan(&rows, &gps, &maxDose, &allImported); err != nil {
				t.Fatal(err)
			}
			wantDose := c.maxDose
			if c.maxDoseOverride > 0 {
				wantDose = c.maxDoseOverride
			}
			if rows != c.stored || gps != c.gps || math.Abs(maxDose-wantDose) > 1e-9 || !allImported {
				t.Fatalf("stored %d rows (want %d), %d with GPS (want %d), max dose %v (want %v), all imported %v",
					rows, c.stored, gps, c.gps, maxDose, wantDose, allImported)
			}
			// The same file again stores nothing new.
			if _, err := im.File(ctx, path); err != nil {
				t.Fatal(err)
			}
			var again int
			_ = core.PG.Pool().QueryRow(ctx, `SELECT count(*) FROM measurements`).Scan(&again)
			if again != c.stored {
				t.Fatalf("second import: %d rows, want still %d", again, c.stored)
			}
		})
	}
}

func TestImportN42(t *testing.T) {
	core, im := newImporter(t, "prd-1")
	ctx := context.Background()
	rep, err := im.File(ctx, testutil.RadiationFile(t, "n42_example_prd_doserate.xml"))
	if err != nil {
		t.Fatal(err)
	}
	// grep -c '<RadMeasurement ' n42_example_prd_doserate.xml → 3, each with a DoseRateValue.
	if rep.Format != "n42" || rep.Accepted != 3 {
		t.Fatalf("report %s", rep)
	}
	var withDose int
	_ = core.PG.Pool().QueryRow(ctx, `SELECT count(*) FROM measurements WHERE dose_rate IS NOT NULL`).Scan(&withDose)
	if withDose != 3 {
		t.Fatalf("%d samples with dose, want 3", withDose)
	}
	rep, err = im.File(ctx, testutil.RadiationFile(t, "n42_example_mobile_system.xml"))
	if err != nil || rep.Format != "n42" || rep.Accepted+rep.Rejected+len(rep.Skipped) == 0 {
		t.Fatalf("mobile system document: %s, %v", rep, err)
	}
	if len(rep.Notes) == 0 {
		t.Fatalf("unsupported elements (spectra, analysis results) should be noted: %s", rep)
	}
}

func TestDetectRefusesUnknownFormat(t *testing.T) {
	_, err := importer.Detect(bufio.NewReader(strings.NewReader("hello,world\n")), "x.txt")
	if err == nil {
		t.Fatal("unknown content detected as a format")
	}
}

func newImporter(t *testing.T, uid string) (*app.Core, *importer.Importer) {
	t.Helper()
	ctx := context.Background()
	core, err := app.OpenCore(ctx, app.Config{DB: pgstore.Config{URL: pgtest.NewDatabase(t)}, Writer: ingest.DefaultWriterConfig(), Geo: geo.DefaultConfig()},
		slog.New(slog.NewTextHandler(io.Discard, nil)), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = core.Close(ctx) })
	dev, _ := storetest.NewDevice(t, core.Store, uid)
	return core, &importer.Importer{Pipeline: core.Pipeline, Device: dev, Spectra: core.Store}
}
