package pgstore_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/radtrack/radtrack/internal/pgtest"
	"github.com/radtrack/radtrack/rules"
	"github.com/radtrack/radtrack/sample"
	"github.com/radtrack/radtrack/store"
	"github.com/radtrack/radtrack/store/pgstore"
)

// BenchmarkGroupCommit measures the writer's group commit on its own, as
// `radtrack bench ingest -emergency` drives it above OIL3: 100 vehicles
// with two open episodes each, two flushers committing 1 500 samples (15
// per vehicle) at once, with no episode updates (normal) or with one for
// each of the 200 episodes (every commit touches every episode, as when
// every vehicle sits in its alarm conditions). ns/op is wall time per
// commit with both flushers busy; ms/commit is a commit's own latency,
// which in the ingest benchmark's closed loop sets the rate.
//
//	go test -run '^$' -bench GroupCommit/postgresql -benchtime 400x ./store/pgstore/
func BenchmarkGroupCommit(b *testing.B) {
	for _, e := range pgtest.Engines() {
		b.Run(e.Name, func(b *testing.B) {
			ctx := context.Background()
			st, err := pgstore.Open(ctx, pgstore.Config{URL: e.NewDatabase(b), MaxConns: 4})
			if err != nil {
				b.Fatal(err)
			}
			defer st.Close()
			devices, episodes := openEpisodes(ctx, b, st, 100, 2)
			b.Run("normal", func(b *testing.B) { benchCommits(ctx, b, st, devices, nil, false) })
			b.Run(fmt.Sprintf("updates=%d", len(episodes)), func(b *testing.B) { benchCommits(ctx, b, st, devices, episodes, false) })
			b.Run(fmt.Sprintf("updates=%d/apart", len(episodes)), func(b *testing.B) { benchCommits(ctx, b, st, devices, episodes, true) })
		})
	}
}

// TestConcurrentBatchesShareEpisodes: two flushers whose every commit
// updates the same 200 episodes lose no count and fail no commit. Without
// alarmUpdatesLockKey each could lock the rows in its own heap order and
// deadlock, but too rarely per commit for this test to catch reliably;
// BenchmarkGroupCommit's thousands of commits showed it within seconds.
func TestConcurrentBatchesShareEpisodes(t *testing.T) {
	ctx := context.Background()
	st := open(t, pgtest.NewDatabase(t))
	devices, episodes := openEpisodes(ctx, t, st, 100, 2)
	const flushers, commits, perDevice = 2, 25, 2
	var wg sync.WaitGroup
	errs := make(chan error, flushers)
	for range flushers {
		wg.Go(func() {
			for range commits {
				if err := commitGroup(ctx, st, devices, episodes, perDevice); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	for _, ep := range episodes {
		got, err := st.Alarm(ctx, ep.ID)
		if want := 1 + flushers*commits*perDevice; err != nil || got.Samples != want {
			t.Fatalf("alarm %d: %d samples (%v), want %d", ep.ID, got.Samples, err, want)
		}
	}
}

// openEpisodes creates n vehicles with perDevice raised episodes each.
func openEpisodes(ctx context.Context, b testing.TB, st *pgstore.Store, n, perDevice int) ([]int64, []rules.Episode) {
	b.Helper()
	base := time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)
	var (
		devices  []int64
		episodes []rules.Episode
	)
	for k := range n {
		d, err := st.CreateDevice(ctx, store.Device{UID: fmt.Sprintf("gc%d", k), Name: fmt.Sprintf("gc%d", k)}, fmt.Appendf(nil, "h%d", k))
		if err != nil {
			b.Fatal(err)
		}
		devices = append(devices, d.ID)
		for r := range perDevice {
			ep := rules.Episode{Key: rules.Key{DeviceID: d.ID, RuleID: int64(r + 1)}, RuleName: "OIL3",
				Kind: "level", Severity: "alarm", State: rules.StateRaised, FirstSeen: base, LastSeen: base,
				Samples: 1, ConditionActive: true, PeakDose: 1.5, PeakTime: base, PeakLon: 4.1, PeakLat: 51.9, PeakGPSValid: true}
			ep.ID, _, err = st.RaiseAlarm(ctx, ep, rules.Event{Type: "raised", Key: ep.Key, Time: base, Episode: ep})
			if err != nil {
				b.Fatal(err)
			}
			episodes = append(episodes, ep)
		}
	}
	return devices, episodes
}

// commitSeq numbers the commits of every sub-benchmark, so that no two
// commits store a vehicle's sample at the same time.
var commitSeq atomic.Int64

// benchCommits runs b.N group commits on two flushers; each carries 15
// samples of every vehicle and, if episodes is set, one update of each.
// apart: the commits carry the samples only, and one updater (as a writer
// with an updates transaction of its own would) stores what every commit
// asked for since its last statement, beside the commits' COPY; a commit
// counts as done once both are durable. An experiment for issue 19: the
// updates then neither lock rows against each other nor wait in the
// samples' transaction.
func benchCommits(ctx context.Context, b *testing.B, st *pgstore.Store, devices []int64, episodes []rules.Episode, apart bool) {
	const flushers, perDevice = 2, 15
	var (
		next    atomic.Int64
		latency atomic.Int64
		wg      sync.WaitGroup
		errs    = make(chan error, flushers)
	)
	var updater chan chan error
	if apart {
		updater = make(chan chan error, flushers)
		go runUpdater(ctx, st, episodes, perDevice, updater)
		defer close(updater)
	}
	b.ResetTimer()
	for range flushers {
		wg.Go(func() {
			for next.Add(1) <= int64(b.N) {
				t0 := time.Now()
				commit := func() error { return commitGroup(ctx, st, devices, episodes, perDevice) }
				if apart {
					commit = func() error { return commitApart(ctx, st, devices, perDevice, updater) }
				}
				if err := commit(); err != nil {
					errs <- err
					return
				}
				latency.Add(int64(time.Since(t0)))
			}
		})
	}
	wg.Wait()
	b.StopTimer()
	close(errs)
	if err := <-errs; err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(latency.Load())/float64(b.N)/1e6, "ms/commit")
}

// commitGroup is one group commit: perDevice samples of every vehicle and,
// with a fresh batch id, one update of each episode adding perDevice.
func commitGroup(ctx context.Context, st *pgstore.Store, devices []int64, episodes []rules.Episode, perDevice int) error {
	base := time.Date(2026, 11, 2, 0, 0, 0, 0, time.UTC)
	c := commitSeq.Add(1)
	samples := make([]sample.Sample, 0, len(devices)*perDevice)
	for _, id := range devices {
		for i := range perDevice {
			s := sample.New()
			s.DeviceID, s.Time = id, base.Add(time.Duration(c*int64(perDevice)+int64(i))*time.Second)
			s.Lon, s.Lat, s.GPSValid = 4.1, 51.9, true
			s.DoseRate, s.Counts, s.CountInterval, s.RadValid = 1.5, 150, 5, true
			s.Source = sample.SourceHTTP
			samples = append(samples, s)
		}
	}
	ups := make([]store.AlarmUpdate, len(episodes))
	batch := rand.Int64N(1<<62) + 1
	for i, ep := range episodes {
		ep.LastSeen = samples[len(samples)-1].Time
		ups[i] = store.UpdateOf(ep, perDevice)
		ups[i].Batch = batch
	}
	return st.WriteSamplesAndAlarms(ctx, samples, ups)
}

// commitApart is commitGroup with the updates left to the updater: asked
// for before the COPY, waited for after it.
func commitApart(ctx context.Context, st *pgstore.Store, devices []int64, perDevice int, updater chan chan error) error {
	done := make(chan error, 1)
	updater <- done
	if err := commitGroup(ctx, st, devices, nil, perDevice); err != nil {
		return err
	}
	return <-done
}

// runUpdater stores one update of every episode for all the requests
// waiting when it starts a statement (their counts summed), and answers
// them.
func runUpdater(ctx context.Context, st *pgstore.Store, episodes []rules.Episode, perDevice int, reqs chan chan error) {
	for first := range reqs {
		waiting := []chan error{first}
	drain:
		for {
			select {
			case r, ok := <-reqs:
				if !ok {
					break drain
				}
				waiting = append(waiting, r)
			default:
				break drain
			}
		}
		ups := make([]store.AlarmUpdate, len(episodes))
		batch := rand.Int64N(1<<62) + 1
		for i, ep := range episodes {
			ep.LastSeen = time.Date(2026, 11, 2, 0, 0, 0, 0, time.UTC)
			ups[i] = store.UpdateOf(ep, perDevice*len(waiting))
			ups[i].Batch = batch
		}
		err := st.UpdateAlarms(ctx, ups)
		for _, w := range waiting {
			w <- err
		}
	}
}
