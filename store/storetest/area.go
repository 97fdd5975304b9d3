package storetest

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/radtrack/radtrack/sample"
	"github.com/radtrack/radtrack/store"
)

func testSamplesInArea(t *testing.T, s store.Store) {
	ctx := context.Background()
	a, _ := NewDevice(t, s, "area-a")
	b, _ := NewDevice(t, s, "area-b")
	c, _ := NewDevice(t, s, "area-c")
	// Each device: 10 samples a second apart moving north-east by 1e-5°
	// from 140.1, 37.4; b's start 5 s later; the fifth of a has no fix.
	in := Samples(a.ID, Base, 10)
	in[4].GPSValid = false
	in = append(in, Samples(b.ID, Base.Add(5*time.Second), 10)...)
	in = append(in, Samples(c.ID, Base, 10)...)
	if err := s.WriteSamples(ctx, in); err != nil {
		t.Fatal(err)
	}
	collect := func(q store.AreaQuery) []sample.Sample {
		t.Helper()
		var out []sample.Sample
		if err := s.EachSampleInArea(ctx, q, func(smp *sample.Sample) error { out = append(out, *smp); return nil }); err != nil {
			t.Fatal(err)
		}
		return out
	}
	// The box holds samples 2–7 of each device's track, the window
	// [Base+3 s, Base+12 s) a's 3–9 and b's 0–6.
	box := [4]float64{140.1 + 1.5e-5, 37.4 + 1.5e-5, 140.1 + 7.5e-5, 37.4 + 7.5e-5}
	got := collect(store.AreaQuery{Box: box, From: Base.Add(3 * time.Second), To: Base.Add(12 * time.Second), Devices: []int64{b.ID, a.ID}})
	type key struct {
		dev int64
		sec int
	}
	var keys []key
	for _, smp := range got {
		keys = append(keys, key{smp.DeviceID, int(smp.Time.Sub(Base) / time.Second)})
	}
	// a: 3, 5, 6, 7 (4 has no fix); b: samples 2–6 at Base+7..11 s.
	want := []key{{a.ID, 3}, {a.ID, 5}, {a.ID, 6}, {a.ID, 7}, {b.ID, 7}, {b.ID, 8}, {b.ID, 9}, {b.ID, 10}, {b.ID, 11}}
	if len(keys) != len(want) {
		t.Fatalf("samples in area: %v, want %v", keys, want)
	}
	for i := range want {
		if keys[i] != want[i] {
			t.Fatalf("samples in area: %v, want %v (by device, then time)", keys, want)
		}
	}
	if got[0].Counts != 3 || got[0].Lon != in[3].Lon || !got[0].Time.Equal(in[3].Time) || got[0].Time.Location() != time.UTC {
		t.Errorf("first sample %+v, want %+v", got[0], in[3])
	}
	// Every device: c's 3–7 too; a limit stops early.
	if all := collect(store.AreaQuery{Box: box, From: Base.Add(3 * time.Second), To: Base.Add(12 * time.Second)}); len(all) != len(want)+5 {
		t.Errorf("every device: %d samples, want %d", len(all), len(want)+5)
	}
	if lim := collect(store.AreaQuery{Box: box, From: Base, To: Base.Add(time.Minute), Devices: []int64{a.ID, b.ID, c.ID}, Limit: 3}); len(lim) != 3 {
		t.Errorf("limit 3: %d samples", len(lim))
	}
	if none := collect(store.AreaQuery{Box: box, From: Base, To: Base.Add(time.Minute), Devices: []int64{}}); len(none) != 0 {
		t.Errorf("no devices: %d samples", len(none))
	}
	// The callback's error ends the stream and comes back as it is.
	stop := errors.New("enough")
	n := 0
	err := s.EachSampleInArea(ctx, store.AreaQuery{Box: box, From: Base, To: Base.Add(time.Minute)}, func(*sample.Sample) error { n++; return stop })
	if !errors.Is(err, stop) || n != 1 {
		t.Errorf("callback error: %v after %d samples", err, n)
	}
}
