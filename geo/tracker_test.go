package geo

import (
	"fmt"
	"reflect"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/paulmach/orb"
)

var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// A 1 km square whose west edge runs north–south through westLon at 52.5° N.
const westLon, borderLat = 13.4, 52.5

func borderSquare() Fence {
	eastLon, _ := destination(westLon, borderLat, 90, 1000)
	return polygonFence(1, square(westLon, borderLat-0.005, eastLon, borderLat+0.005))
}

// acrossBorder is a point x metres east of the west edge (negative: west,
// outside) and y metres north of borderLat.
func acrossBorder(x, y float64) (float64, float64) {
	lon, lat := destination(westLon, borderLat, 90, x)
	_, lat = destination(lon, lat, 0, y)
	return lon, lat
}

// jitteryPath moves from x0 to x1 metres over n samples with uniform ±5 m
// of jitter east–west and north–south.
func jitteryPath(seed uint64, x0, x1 float64, n int) []float64 {
	rng := newRand(seed)
	xs := make([]float64, n)
	for i := range xs {
		xs[i] = x0 + (x1-x0)*float64(i)/float64(n-1) + (rng.Float64()*10 - 5)
	}
	return xs
}

type run struct {
	tr     *Tracker
	ix     *Index
	clock  time.Time
	events []Event
}

func newRun(cfg Config, ix *Index) *run { return &run{tr: NewTracker(cfg), ix: ix, clock: t0} }

func (r *run) feed(xs []float64) {
	for i, x := range xs {
		lon, lat := acrossBorder(x, float64(i%7)-3)
		r.clock = r.clock.Add(time.Second)
		r.events = r.tr.Update(r.ix, lon, lat, r.clock, true, r.events)
	}
}

func count(events []Event, typ EventType) int {
	n := 0
	for _, e := range events {
		if e.Type == typ {
			n++
		}
	}
	return n
}

// firstRun is the index of the first of n consecutive xs satisfying ok.
func firstRun(xs []float64, n int, ok func(float64) bool) int {
	for i := 0; i+n <= len(xs); i++ {
		all := true
		for _, x := range xs[i : i+n] {
			all = all && ok(x)
		}
		if all {
			return i
		}
	}
	return -1
}

func TestJitterAtTheBorderEntersAndExitsOnce(t *testing.T) {
	ix := mustIndex(t, borderSquare())
	in := jitteryPath(1, -30, 30, 100)
	out := jitteryPath(2, 30, -30, 100)
	for seed := uint64(0); seed < 20; seed++ {
		in, out = jitteryPath(seed, -30, 30, 100), jitteryPath(seed+100, 30, -30, 100)
		r := newRun(DefaultConfig(), ix)
		r.feed(in)
		if len(r.events) != 1 || r.events[0].Type != EventEnter || r.events[0].FenceID != 1 {
			t.Fatalf("seed %d: moving in gave %v, want one enter", seed, r.events)
		}
		// The enter is dated at the first of two samples at least 5 m inside.
		first := firstRun(in, 2, func(x float64) bool { return x >= 5 })
		if want := t0.Add(time.Duration(first+1) * time.Second); !r.events[0].Time.Equal(want) {
			t.Fatalf("seed %d: enter at %v, want %v (sample %d)", seed, r.events[0].Time, want, first)
		}
		wantLon, wantLat := acrossBorder(in[first], float64(first%7)-3)
		if r.events[0].Lon != wantLon || r.events[0].Lat != wantLat {
			t.Fatalf("seed %d: enter at %v,%v, want %v,%v", seed, r.events[0].Lon, r.events[0].Lat, wantLon, wantLat)
		}
		assertIDs(t, "inside after moving in", r.tr.Inside(nil), 1)

		r.events = r.events[:0]
		start := r.clock
		r.feed(out)
		if len(r.events) != 1 || r.events[0].Type != EventExit {
			t.Fatalf("seed %d: moving out gave %v, want one exit", seed, r.events)
		}
		first = firstRun(out, 2, func(x float64) bool { return x <= -5 })
		if want := start.Add(time.Duration(first+1) * time.Second); !r.events[0].Time.Equal(want) {
			t.Fatalf("seed %d: exit at %v, want %v", seed, r.events[0].Time, want)
		}
		assertIDs(t, "inside after moving out", r.tr.Inside(nil))
	}

	// Without hysteresis the same path flaps once per crossing of the line.
	raw := newRun(Config{}, ix)
	raw.feed(in)
	crossings, wasIn := 0, false
	for _, x := range in {
		if x > 0 && !wasIn {
			crossings++
		}
		wasIn = x > 0
	}
	if got := count(raw.events, EventEnter); got != crossings || crossings < 5 {
		t.Fatalf("raw enters = %d, crossings = %d (want equal and several)", got, crossings)
	}
}

func TestConsecutiveSamples(t *testing.T) {
	ix := mustIndex(t, borderSquare())
	r := newRun(Config{EnterAfter: 3, ExitAfter: 2}, ix)
	r.feed([]float64{-50, 50, 50, -50, 50, 50}) // a run of two is not three
	if len(r.events) != 0 {
		t.Fatalf("events %v, want none", r.events)
	}
	r.feed([]float64{50}) // the third in a row
	if len(r.events) != 1 || r.events[0].Type != EventEnter || !r.events[0].Time.Equal(t0.Add(5*time.Second)) {
		t.Fatalf("events %v, want an enter dated at the 5th sample", r.events)
	}
	r.feed([]float64{-50, 50, -50, -50})
	if len(r.events) != 2 || r.events[1].Type != EventExit || !r.events[1].Time.Equal(t0.Add(10*time.Second)) {
		t.Fatalf("events %v, want an exit dated at the 10th sample", r.events)
	}
}

func TestInvalidAndStaleSamplesChangeNothing(t *testing.T) {
	ix := mustIndex(t, borderSquare())
	tr := NewTracker(Config{EnterAfter: 2, ExitAfter: 1})
	inLon, inLat := acrossBorder(100, 0)
	outLon, outLat := acrossBorder(-100, 0)
	var ev []Event
	ev = tr.Update(ix, outLon, outLat, t0.Add(10*time.Second), true, ev)
	ev = tr.Update(ix, inLon, inLat, t0.Add(11*time.Second), false, ev) // no fix
	ev = tr.Update(ix, inLon, inLat, t0.Add(5*time.Second), true, ev)   // older
	ev = tr.Update(ix, inLon, inLat, t0.Add(10*time.Second), true, ev)  // same time: a retry
	ev = tr.Update(ix, inLon, inLat, t0.Add(12*time.Second), true, ev)  // first real sample in
	if len(ev) != 0 {
		t.Fatalf("events %v after one valid sample inside", ev)
	}
	ev = tr.Update(ix, 0, 0, t0.Add(13*time.Second), false, ev) // no fix, far away
	ev = tr.Update(ix, inLon, inLat, t0.Add(14*time.Second), true, ev)
	if len(ev) != 1 || ev[0].Type != EventEnter || !ev[0].Time.Equal(t0.Add(12*time.Second)) {
		t.Fatalf("events %v, want one enter dated t0+12s: invalid samples must not break a run", ev)
	}
}

func TestMarginOnCircleAndCorridor(t *testing.T) {
	circle := NewCircle(1, "c", KindRestricted, 10, 50, 100)
	corridor := NewCorridor(2, "r", KindPatrol, orb.LineString{{20, 60}, {20, 60.01}}, 20)
	ix := mustIndex(t, circle, corridor)
	cfg := Config{EnterAfter: 1, ExitAfter: 1, MarginM: 5}
	for _, c := range []struct {
		name                         string
		fromLon, fromLat, bearing, m float64
		wantEnter                    bool
	}{
		{"96 m from the circle's centre is in the band", 10, 50, 30, 96, false},
		{"94 m from the circle's centre is 6 m inside", 10, 50, 30, 94, true},
		{"16 m east of the corridor axis is in the band", 20, 60.005, 90, 16, false},
		{"14 m west of the corridor axis is 6 m inside", 20, 60.005, 270, 14, true},
	} {
		lon, lat := destination(c.fromLon, c.fromLat, c.bearing, c.m)
		ev := NewTracker(cfg).Update(ix, lon, lat, t0, true, nil)
		if got := len(ev) == 1 && ev[0].Type == EventEnter; got != c.wantEnter {
			t.Errorf("%s: events %v", c.name, ev)
		}
	}
	// Leaving needs 5 m outside: 104 m is not enough, 106 m is.
	tr := NewTracker(cfg)
	lon, lat := destination(10, 50, 0, 50)
	tr.Update(ix, lon, lat, t0, true, nil)
	lon, lat = destination(10, 50, 0, 104)
	if ev := tr.Update(ix, lon, lat, t0.Add(time.Second), true, nil); len(ev) != 0 {
		t.Fatalf("104 m: %v", ev)
	}
	assertIDs(t, "still inside at 104 m", tr.Inside(nil), 1)
	lon, lat = destination(10, 50, 0, 106)
	if ev := tr.Update(ix, lon, lat, t0.Add(2*time.Second), true, nil); len(ev) != 1 || ev[0].Type != EventExit {
		t.Fatalf("106 m: %v", ev)
	}
}

func TestDwell(t *testing.T) {
	ix := mustIndex(t, borderSquare())
	tr := NewTracker(Config{EnterAfter: 2, ExitAfter: 2, Dwell: 5 * time.Minute})
	inLon, inLat := acrossBorder(100, 0)
	outLon, outLat := acrossBorder(-100, 0)
	var ev []Event
	at := t0
	visit := func(minutes int) {
		for range minutes {
			at = at.Add(time.Minute)
			ev = tr.Update(ix, inLon, inLat, at, true, ev)
		}
	}
	leave := func() {
		for range 2 {
			at = at.Add(time.Minute)
			ev = tr.Update(ix, outLon, outLat, at, true, ev)
		}
	}
	visit(10)
	leave()
	visit(3) // too short
	leave()
	visit(6)
	var got []string
	for _, e := range ev {
		got = append(got, fmt.Sprintf("%s@%v", e.Type, e.Time.Sub(t0)))
	}
	// Visits begin at 1m, 13m and 18m; dwell is reached 5 min after each.
	want := []string{"enter@1m0s", "dwell@6m0s", "exit@11m0s", "enter@13m0s", "exit@16m0s", "enter@18m0s", "dwell@23m0s"}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("events %v\nwant %v", got, want)
	}
}

func TestDeletedFenceLeavesWithoutExit(t *testing.T) {
	other := NewCircle(2, "c", KindMonitoring, westLon+0.001, borderLat, 500)
	ix := mustIndex(t, borderSquare(), other)
	tr := NewTracker(Config{EnterAfter: 1, ExitAfter: 1})
	lon, lat := acrossBorder(50, 0)
	ev := tr.Update(ix, lon, lat, t0, true, nil)
	if len(ev) != 2 || ev[0].FenceID != 1 || ev[1].FenceID != 2 {
		t.Fatalf("enter events %v, want fences 1 and 2 in id order", ev)
	}
	without, err := ix.Apply(nil, []int64{1})
	if err != nil {
		t.Fatal(err)
	}
	if ev := tr.Update(without, lon, lat, t0.Add(time.Second), true, nil); len(ev) != 0 {
		t.Fatalf("events after deleting fence 1: %v", ev)
	}
	assertIDs(t, "inside after the delete", tr.Inside(nil), 2)
	// An edited fence keeps its state: moving it away is an ordinary exit.
	moved, _ := without.Apply([]Fence{NewCircle(2, "c", KindMonitoring, 0, 0, 500)}, nil)
	ev = tr.Update(moved, lon, lat, t0.Add(2*time.Second), true, nil)
	if len(ev) != 1 || ev[0].Type != EventExit || ev[0].FenceID != 2 {
		t.Fatalf("events after moving fence 2: %v", ev)
	}
}

// TestTrackersRunInParallel drives 400 devices from 8 goroutines while the
// index is swapped for rebuilt copies, and checks every device saw exactly
// what a sequential run with a single index sees. Run with -race.
func TestTrackersRunInParallel(t *testing.T) {
	fences := starFences(newRand(11), 200, cityBox)
	base := mustIndex(t, fences...)
	const devices, steps = 400, 150
	paths := vehiclePositions(newRand(12), devices, steps, cityBox)
	drive := func(ix func() *Index, device int) []Event {
		tr := NewTracker(DefaultConfig())
		var ev []Event
		for s := range steps {
			p := paths[s*devices+device]
			ev = tr.Update(ix(), p[0], p[1], t0.Add(time.Duration(s)*time.Second), true, ev)
		}
		return ev
	}
	want := make([][]Event, devices)
	total := 0
	for d := range devices {
		want[d] = drive(func() *Index { return base }, d)
		total += len(want[d])
	}
	if total < 50 {
		t.Fatalf("only %d events: the paths do not cross enough fences", total)
	}

	var current atomic.Pointer[Index]
	current.Store(base)
	stop := make(chan struct{})
	var swapper sync.WaitGroup
	swapper.Go(func() {
		for {
			select {
			case <-stop:
				return
			default:
				next, err := current.Load().Apply(nil, nil)
				if err != nil {
					panic(err)
				}
				current.Store(next)
			}
		}
	})
	got := make([][]Event, devices)
	var workers sync.WaitGroup
	for w := range 8 {
		workers.Go(func() {
			for d := w; d < devices; d += 8 {
				got[d] = drive(current.Load, d)
			}
		})
	}
	workers.Wait()
	close(stop)
	swapper.Wait()
	if !reflect.DeepEqual(got, want) {
		t.Fatal("parallel run differs from the sequential one")
	}
}
