package sim

import (
	"context"
	"errors"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/radtrack/radtrack/sample"
)

// collector is an in-process sink, as the demo plugs in.
type collector struct {
	mu   sync.Mutex
	got  map[string][]sample.Sample
	fail bool
}

func (c *collector) Send(_ context.Context, vehicle string, samples []sample.Sample) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.fail {
		return errors.New("sink down")
	}
	if c.got == nil {
		c.got = map[string][]sample.Sample{}
	}
	c.got[vehicle] = append(c.got[vehicle], samples...)
	return nil
}

func TestRunnerDrivesFleetAndReplay(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		fleet, err := NewFleet(DefaultLayout(), FleetConfig{Vehicles: 3, Seed: 1})
		if err != nil {
			t.Fatal(err)
		}
		replay, err := NewLogReplay("sim-replay-fukushima", LogFukushima, 1)
		if err != nil {
			t.Fatal(err)
		}
		sink := &collector{}
		r := &Runner{Vehicles: append(fleet.Vehicles(), replay), Sink: sink}
		start := time.Now()
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if err := r.Run(ctx); err != nil {
			t.Fatal(err)
		}
		// A patrol reports after each 2 s of counting: 2, 4, …, 60 s. The
		// log's first sample is now, then every 5 s: 0, 5, …, 60 s.
		firstAt := map[string]time.Duration{"sim-001": 2 * time.Second, "sim-003": 2 * time.Second, "sim-replay-fukushima": 0}
		for uid, want := range map[string]int{"sim-001": 30, "sim-003": 30, "sim-replay-fukushima": 13} {
			got := sink.got[uid]
			if len(got) < want-1 || len(got) > want {
				t.Errorf("%s: %d samples in a minute, want %d", uid, len(got), want)
			}
			for i := 1; i < len(got); i++ {
				if !got[i].Time.After(got[i-1].Time) {
					t.Fatalf("%s: sample %d not after %d", uid, i, i-1)
				}
			}
			if first := got[0].Time.Sub(start); first != firstAt[uid] {
				t.Errorf("%s: first sample %v after the start, want %v", uid, first, firstAt[uid])
			}
		}
		st := r.Stats()
		if st.Generated != st.Acked || st.Sent != st.Acked || st.Failed != 0 || st.Dropped != 0 {
			t.Errorf("stats %+v", st)
		}
	})
}

func TestRunnerSpeedAndFailures(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		fleet, err := NewFleet(DefaultLayout(), FleetConfig{Vehicles: 1, Seed: 1})
		if err != nil {
			t.Fatal(err)
		}
		sink := &collector{fail: true}
		r := &Runner{Vehicles: fleet.Vehicles(), Sink: sink, Speed: 10, MaxQueue: 50}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := r.Run(ctx); err != nil {
			t.Fatal(err)
		}
		// 10 s at 10× is 100 simulated seconds: 50 samples, 0.2 s apart.
		st := r.Stats()
		if st.Generated != 50 || st.Failed != st.Sent || st.Acked != 0 || st.Sent+st.Dropped != st.Generated {
			t.Errorf("stats %+v", st)
		}
	})
}

func TestRunnerDropsOldestWhenSinkStalls(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		fleet, err := NewFleet(DefaultLayout(), FleetConfig{Vehicles: 1, Seed: 1})
		if err != nil {
			t.Fatal(err)
		}
		stalled := SinkFunc(func(ctx context.Context, _ string, _ []sample.Sample) error {
			<-ctx.Done() // until the drain time is up
			return ctx.Err()
		})
		r := &Runner{Vehicles: fleet.Vehicles(), Sink: stalled, Speed: 10, MaxQueue: 5, Drain: time.Second}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := r.Run(ctx); err != nil {
			t.Fatal(err)
		}
		// The first sample is stuck in Send; of the other 49 the queue
		// keeps the newest 5, which fail once the drain time is up.
		if st := r.Stats(); st != (Stats{Generated: 50, Sent: 6, Failed: 6, Dropped: 44}) {
			t.Errorf("stats %+v", st)
		}
	})
}

func TestRunnerRejectsBadConfig(t *testing.T) {
	if err := (&Runner{Sink: &collector{}}).Run(context.Background()); err == nil {
		t.Error("no vehicles accepted")
	}
	fleet, _ := NewFleet(DefaultLayout(), FleetConfig{Vehicles: 1})
	if err := (&Runner{Vehicles: fleet.Vehicles(), Sink: &collector{}, Speed: -1}).Run(context.Background()); err == nil {
		t.Error("negative speed accepted")
	}
}
