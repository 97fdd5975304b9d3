package dose_test

import (
	"math"
	"testing"
	"time"

	"github.com/radtrack/radtrack/dose"
	"github.com/radtrack/radtrack/sample"
	"github.com/radtrack/radtrack/store/storetest"
)

func near(a, b float64) bool { return math.Abs(a-b) <= 1e-12*math.Max(1, math.Abs(b)) }

func TestHandComputedIntegral(t *testing.T) {
	a := dose.New(dose.Config{MaxGap: time.Minute, Levels: []float64{2, 5}})
	t0 := time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)
	for _, s := range storetest.HandDoseTrack(0, t0) {
		a.Add(&s)
	}
	got := a.Summary()
	if !near(got.DoseUSv, 242.0/3600) || got.DoseSeconds != 66 || got.ReportingSeconds != 66 || got.Gaps != 1 ||
		got.Samples != 6 || got.DoseSamples != 5 {
		t.Fatalf("summary %+v", got)
	}
	if !near(got.Above[0].Seconds, 53) || !near(got.Above[1].Seconds, 16) {
		t.Errorf("above %+v, want 53 s above 2 and 16 s above 5", got.Above)
	}
	if *got.MaxDoseRate != 9 || !got.MaxAt.Equal(t0.Add(200*time.Second)) {
		t.Errorf("max %v at %v", *got.MaxDoseRate, got.MaxAt)
	}
	// Distance: fixes 0→10→20→30 (30 m of latitude as 0.03°) and 200→236;
	// the 170 s gap is not driven.
	want := dose.Haversine(0, 0, 0, 0.030) + dose.Haversine(0, 0.2, 0, 0.236)
	if !near(got.DistanceM, want) {
		t.Errorf("distance %v, want %v", got.DistanceM, want)
	}
	// A longer gap limit bridges the gap: (3+9)/2 × 170 s more.
	b := dose.New(dose.Config{MaxGap: 3 * time.Minute})
	for _, s := range storetest.HandDoseTrack(0, t0) {
		b.Add(&s)
	}
	if got := b.Summary(); !near(got.DoseUSv, (242.0+1020)/3600) || got.Gaps != 0 {
		t.Errorf("bridged: %+v", got)
	}
}

func TestDailySplitsAtUTCMidnight(t *testing.T) {
	t0 := time.Date(2026, 11, 1, 23, 59, 50, 0, time.UTC)
	d := dose.NewDaily(dose.Config{})
	for i := range 4 { // 23:59:50, :00:00 … every 10 s at 2 µSv/h
		s := sample.New()
		s.Time, s.DoseRate = t0.Add(time.Duration(i)*10*time.Second), 2
		d.Add(&s)
	}
	days := d.Days()
	if len(days) != 2 || days[0].Date != "2026-11-01" || days[1].Date != "2026-11-02" ||
		days[0].DoseUSv != 0 || !near(days[1].DoseUSv, 2*20.0/3600) || days[1].Samples != 3 {
		t.Fatalf("days %+v", days)
	}
}
