package sim

import (
	"testing"
	"time"
)

func TestFukushimaReplayLoops(t *testing.T) {
	r, err := NewLogReplay("sim-replay-1", LogFukushima, 1)
	if err != nil {
		t.Fatal(err)
	}
	if r.Len() != 1046 {
		t.Fatalf("%d samples per loop, want 1046", r.Len())
	}
	// 00:41:13 to 02:07:56 plus one 5 s gap.
	if want := 86*time.Minute + 43*time.Second + 5*time.Second; r.Period() != want {
		t.Errorf("period %v, want %v", r.Period(), want)
	}
	if r.Next() != 0 {
		t.Fatalf("first sample at %v, want 0 (now)", r.Next())
	}
	var first, prev time.Duration
	maxDose := 0.0
	for i := range 2*r.Len() + 1 {
		at := r.Next()
		if i > 0 && at <= prev {
			t.Fatalf("sample %d at %v, not after %v", i, at, prev)
		}
		s := r.Report(epoch.Add(at))
		if s.DeviceUID != "sim-replay-1" || !s.Time.Equal(epoch.Add(at)) || s.CountInterval != 5 {
			t.Fatalf("sample %d: %+v", i, s)
		}
		maxDose = max(maxDose, s.DoseRate)
		switch i {
		case 0:
			first = at
		case r.Len(), 2 * r.Len():
			if want := first + time.Duration(i/r.Len())*r.Period(); at != want {
				t.Fatalf("loop %d starts at %v, want %v", i/r.Len(), at, want)
			}
		}
		prev = at
	}
	if maxDose < 1 {
		t.Errorf("the Fukushima drive peaks at %.2f µSv/h, want above 1", maxDose)
	}
}

func TestReplaySpeedAndLosAngeles(t *testing.T) {
	r, err := NewLogReplay("sim-replay-2", LogLosAngeles, 10)
	if err != nil {
		t.Fatal(err)
	}
	if r.Len() < 1600 {
		t.Fatalf("%d samples, want the ~1700 of the LA drive", r.Len())
	}
	r.Report(epoch)
	if r.Next() != 500*time.Millisecond {
		t.Errorf("at 10× a 5 s gap lasts %v, want 500ms", r.Next())
	}
	s := r.Report(epoch)
	if s.Lon > -118 || s.Lat < 34 {
		t.Errorf("LA position %v,%v", s.Lon, s.Lat)
	}
	if _, err := NewLogReplay("x", "atlantis", 1); err == nil {
		t.Error("unknown log accepted")
	}
}
