package storetest

import (
	"context"
	"math"
	"reflect"
	"testing"
	"time"

	"github.com/radtrack/radtrack/store"
)

func testSpectra(t *testing.T, s store.Store) {
	ctx := context.Background()
	d, _ := NewDevice(t, s, "spec-1")
	other, _ := NewDevice(t, s, "spec-2")
	conf := 0.99
	big := make([]uint32, 16384)
	for i := range big {
		big[i] = uint32(i % 251)
	}
	big[100] = math.MaxUint32
	in := []store.Spectrum{
		{DeviceID: d.ID, Time: Base, Detector: "A1", RealTime: 639.92, LiveTime: 629.17,
			Calibration: []float64{0.1401463, 0.187422, -2.07732e-09}, Counts: big,
			Nuclides: []store.NuclideID{{Name: "Ba-133", Identified: true, Confidence: &conf, Algorithm: "X"}, {Name: "K-40", Text: "Low"}}},
		{DeviceID: d.ID, Time: Base, Detector: "A2", RealTime: math.NaN(), LiveTime: math.NaN(), Counts: []uint32{0, 0, 3}},
		{DeviceID: d.ID, Time: Base.Add(time.Second), RealTime: 1, LiveTime: 0.999492, Calibration: []float64{1.8081, 2.9994, 0}, Counts: []uint32{7}},
		{DeviceID: other.ID, Time: Base, Counts: []uint32{1}, RealTime: math.NaN(), LiveTime: math.NaN()},
	}
	if err := s.WriteSpectra(ctx, in); err != nil {
		t.Fatal(err)
	}
	// A retried write stores nothing new and does not fail.
	changed := in[0]
	changed.Counts = []uint32{1}
	if err := s.WriteSpectra(ctx, []store.Spectrum{changed}); err != nil {
		t.Fatalf("rewrite: %v", err)
	}
	got, err := s.SpectraRange(ctx, store.SpectrumQuery{DeviceID: d.ID, From: Base, To: Base.Add(time.Minute)})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 3 {
		t.Fatalf("%d spectra, want 3", len(got))
	}
	for i, g := range got {
		w := in[i]
		if !g.Time.Equal(w.Time) || g.Time.Location() != time.UTC || g.DeviceID != w.DeviceID || g.Detector != w.Detector ||
			!sameFloat(g.RealTime, w.RealTime) || !sameFloat(g.LiveTime, w.LiveTime) ||
			!reflect.DeepEqual(g.Calibration, w.Calibration) || !reflect.DeepEqual(g.Counts, w.Counts) || !reflect.DeepEqual(g.Nuclides, w.Nuclides) {
			t.Errorf("%d: got %+v\nwant %+v", i, brief(g), brief(w))
		}
	}
	if got[0].Total() != in[0].Total() {
		t.Errorf("total %d", got[0].Total())
	}
	got, err = s.SpectraRange(ctx, store.SpectrumQuery{DeviceID: d.ID, From: Base.Add(time.Second), To: Base.Add(time.Minute), Limit: 5})
	if err != nil || len(got) != 1 || got[0].Counts[0] != 7 {
		t.Errorf("later range: %+v %v", got, err)
	}
	got, err = s.SpectraRange(ctx, store.SpectrumQuery{DeviceID: d.ID, From: Base, To: Base.Add(time.Minute), Limit: 1})
	if err != nil || len(got) != 1 || got[0].Detector != "A1" {
		t.Errorf("limit 1: %d %v", len(got), err)
	}
	if err := s.WriteSpectra(ctx, []store.Spectrum{{DeviceID: d.ID, Time: Base}}); err == nil {
		t.Error("a spectrum without channels was stored")
	}
}

func brief(s store.Spectrum) store.Spectrum {
	if len(s.Counts) > 8 {
		s.Counts = s.Counts[:8]
	}
	return s
}

// Retention: spectra older than the cut go, in batches of the limit; newer
// ones and other devices' newer ones stay.
func testSpectraRetention(t *testing.T, s store.Store) {
	ctx := context.Background()
	d, _ := NewDevice(t, s, "spec-ret")
	var in []store.Spectrum
	for i := range 5 {
		in = append(in, store.Spectrum{DeviceID: d.ID, Time: Base.Add(time.Duration(i) * time.Hour), Counts: []uint32{uint32(i + 1)}, RealTime: 1, LiveTime: 1})
	}
	if err := s.WriteSpectra(ctx, in); err != nil {
		t.Fatal(err)
	}
	cut := Base.Add(3 * time.Hour) // hours 0, 1, 2 go
	n, err := s.DeleteSpectraBefore(ctx, cut, 2)
	if err != nil || n != 2 {
		t.Fatalf("first batch: %d %v, want 2", n, err)
	}
	n, err = s.DeleteSpectraBefore(ctx, cut, 2)
	if err != nil || n != 1 {
		t.Fatalf("second batch: %d %v, want 1", n, err)
	}
	if n, err = s.DeleteSpectraBefore(ctx, cut, 2); err != nil || n != 0 {
		t.Fatalf("third batch: %d %v, want 0", n, err)
	}
	got, err := s.SpectraRange(ctx, store.SpectrumQuery{DeviceID: d.ID, From: Base.Add(-time.Hour), To: Base.Add(24 * time.Hour)})
	if err != nil || len(got) != 2 || !got[0].Time.Equal(cut) || got[1].Counts[0] != 5 {
		t.Fatalf("left %d %v: %+v", len(got), err, got)
	}
}
