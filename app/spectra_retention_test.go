package app

import (
	"context"
	"testing"
	"time"

	"github.com/radtrack/radtrack/store"
	"github.com/radtrack/radtrack/store/sqlitestore"
)

// pruneSpectra repeats batches until all older spectra are gone.
func TestPruneSpectra(t *testing.T) {
	ctx := context.Background()
	st, err := sqlitestore.Open(ctx, sqlitestore.Config{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	dev, err := st.CreateDevice(ctx, store.Device{UID: "nai", Name: "NaI", CPMPerUSvH: 334}, []byte("h"))
	if err != nil {
		t.Fatal(err)
	}
	base := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	var in []store.Spectrum
	for i := range spectraPruneBatch + 10 {
		in = append(in, store.Spectrum{DeviceID: dev.ID, Time: base.Add(time.Duration(i) * time.Second), Counts: []uint32{1}, RealTime: 1, LiveTime: 1})
	}
	if err := st.WriteSpectra(ctx, in); err != nil {
		t.Fatal(err)
	}
	cut := base.Add(time.Duration(spectraPruneBatch+5) * time.Second)
	n, err := pruneSpectra(ctx, st, cut)
	if err != nil || n != spectraPruneBatch+5 {
		t.Fatalf("deleted %d %v, want %d", n, err, spectraPruneBatch+5)
	}
	left, err := st.SpectraRange(ctx, store.SpectrumQuery{DeviceID: dev.ID, From: base, To: base.Add(24 * time.Hour)})
	if err != nil || len(left) != 5 || !left[0].Time.Equal(cut) {
		t.Fatalf("left %d %v", len(left), err)
	}
}
