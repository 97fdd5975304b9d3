package storetest

import (
	"context"
	"math"
	"testing"
	"time"

	"github.com/radtrack/radtrack/dose"
	"github.com/radtrack/radtrack/sample"
	"github.com/radtrack/radtrack/store"
)

// HandDoseTrack is a track whose dose is computed by hand (dose package,
// MaxGap 60 s): rates in µSv/h at seconds from t0.
//
//	t(s)  rate   joined interval (trapezoid)        dose µSv
//	 0    1.0
//	10    3.0    (1+3)/2 × 10/3600                   = 20/3600
//	20    —      no dose: skipped
//	30    3.0    (3+3)/2 × 20/3600                   = 60/3600
//	200   9.0    170 s > 60 s: a gap, not bridged    0
//	236   0.0    (9+0)/2 × 36/3600                   = 162/3600
//
// Total 242/3600 µSv; dose time 10+20+36 = 66 s; reporting time
// 10+10+10+36 = 66 s; one gap. Above 2 µSv/h: the line 1→3 for its last
// 5 s, 3→3 for 20 s, 9→0 for 7/9 of 36 s = 28 s: 53 s. Above 5: 4/9 of
// 36 s = 16 s. Positions climb 0.001° of latitude per second from 0,0.
func HandDoseTrack(deviceID int64, t0 time.Time) []sample.Sample {
	rows := []struct {
		sec  int
		rate float64
	}{{0, 1}, {10, 3}, {20, math.NaN()}, {30, 3}, {200, 9}, {236, 0}}
	out := make([]sample.Sample, len(rows))
	for i, r := range rows {
		s := sample.New()
		s.DeviceID = deviceID
		s.Time = t0.Add(time.Duration(r.sec) * time.Second)
		s.ReceivedAt = s.Time
		s.DoseRate = r.rate
		s.Lon, s.Lat, s.GPSValid = 0, float64(r.sec)/1000, true
		s.Source = sample.SourceHTTP
		out[i] = s
	}
	return out
}

// HandDoseUSv is HandDoseTrack's dose.
const HandDoseUSv = 242.0 / 3600

// testStreamedDose: the samples streamed from the store give the
// hand-computed dose exactly as the in-memory track does, in order, only
// those of the device and range; a callback error stops the stream.
func testStreamedDose(t *testing.T, s store.Store) {
	ctx := context.Background()
	d, _ := NewDevice(t, s, "dose-1")
	other, _ := NewDevice(t, s, "dose-2")
	track := HandDoseTrack(d.ID, Base)
	noise := HandDoseTrack(other.ID, Base) // same times, another device
	for i := range noise {
		noise[i].DoseRate = 1000
	}
	before := HandDoseTrack(d.ID, Base.Add(-time.Hour))
	if err := s.WriteSamples(ctx, append(append(append([]sample.Sample{}, noise...), before...), track...)); err != nil {
		t.Fatal(err)
	}
	acc := dose.New(dose.Config{MaxGap: time.Minute, Levels: []float64{2, 5}})
	var times []time.Time
	err := s.EachSample(ctx, store.StreamQuery{DeviceID: d.ID, From: Base, To: Base.Add(time.Hour)}, func(smp *sample.Sample) error {
		times = append(times, smp.Time)
		acc.Add(smp)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(times) != len(track) {
		t.Fatalf("streamed %d samples, want %d", len(times), len(track))
	}
	for i := range track {
		if !times[i].Equal(track[i].Time) {
			t.Fatalf("sample %d at %v, want %v (oldest first)", i, times[i], track[i].Time)
		}
	}
	got := acc.Summary()
	if math.Abs(got.DoseUSv-HandDoseUSv) > 1e-15 || got.DoseSeconds != 66 || got.Gaps != 1 ||
		math.Abs(got.Above[0].Seconds-53) > 1e-9 || math.Abs(got.Above[1].Seconds-16) > 1e-9 || *got.MaxDoseRate != 9 {
		t.Fatalf("dose of the stored track %+v, want %v µSv over 66 s, 1 gap, 53 s above 2, 16 s above 5", got, HandDoseUSv)
	}
	var limited []time.Time
	if err := s.EachSample(ctx, store.StreamQuery{DeviceID: d.ID, From: Base, To: Base.Add(time.Hour), Limit: 2}, func(smp *sample.Sample) error {
		limited = append(limited, smp.Time)
		return nil
	}); err != nil || len(limited) != 2 || !limited[1].Equal(track[1].Time) {
		t.Fatalf("limit 2: %v, %v", limited, err)
	}
	stop := context.Canceled
	n := 0
	if err := s.EachSample(ctx, store.StreamQuery{DeviceID: d.ID, From: Base, To: Base.Add(time.Hour)}, func(*sample.Sample) error {
		n++
		return stop
	}); err != stop || n != 1 {
		t.Fatalf("callback error: got %v after %d samples, want it returned after 1", err, n)
	}
}
