package storetest

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/radtrack/radtrack/rules"
	"github.com/radtrack/radtrack/store"
)

// progressUpdate is a batched update of episode ep: add samples, last
// seen at, a peak of dose at lon.
func progressUpdate(ep rules.Episode, batch int64, add int, at time.Time, dose, lon float64) store.AlarmUpdate {
	return store.AlarmUpdate{ID: ep.ID, Key: ep.Key, Batch: batch, AddSamples: add, LastSeen: at,
		PeakDose: dose, PeakTime: at, PeakLon: lon, PeakLat: 51.95, PeakGPSValid: true, Significance: dose}
}

// wantEpisode fails unless every read of alarm id (Alarm, ListAlarms,
// EachAlarm) has the given count, last seen and peak.
func wantEpisode(t *testing.T, s store.Store, id int64, samples int, last time.Time, peak, peakLon float64, what string) {
	t.Helper()
	ctx := context.Background()
	check := func(how string, got rules.Episode) {
		t.Helper()
		if got.Samples != samples || !got.LastSeen.Equal(last) || got.PeakDose != peak || got.PeakLon != peakLon {
			t.Fatalf("%s, read by %s: %d samples, last seen %s, peak %v at lon %v; want %d, %s, %v at %v",
				what, how, got.Samples, got.LastSeen, got.PeakDose, got.PeakLon, samples, last, peak, peakLon)
		}
	}
	got, err := s.Alarm(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	check("Alarm", got)
	// The box holds the expected peak's position only: the filter sees the
	// same merged peak as the reader.
	box := &[4]float64{peakLon - 0.0005, 51.9, peakLon + 0.0005, 52.0}
	list, err := s.ListAlarms(ctx, store.AlarmFilter{DeviceID: got.DeviceID, BBox: box})
	if err != nil {
		t.Fatal(err)
	}
	i := slices.IndexFunc(list, func(ep rules.Episode) bool { return ep.ID == id })
	if i < 0 {
		t.Fatalf("%s: ListAlarms in the peak's box does not list alarm %d", what, id)
	}
	check("ListAlarms", list[i])
	n := 0
	err = s.EachAlarm(ctx, store.AlarmFilter{DeviceID: got.DeviceID}, func(ep *rules.Episode) error {
		if ep.ID == id {
			n++
			check("EachAlarm", *ep)
		}
		return nil
	})
	if err != nil || n != 1 {
		t.Fatalf("%s: EachAlarm saw the alarm %d times, %v", what, n, err)
	}
}

// testAlarmProgressExact: an episode's count, last seen and peak are
// exact whichever way its progress arrives — the raise, another node's
// raise merged into it, an immediate update, batches with samples or
// alone — in any order of their values, and stay so through its
// resolution, after which batches add nothing.
func testAlarmProgressExact(t *testing.T, s store.Store) {
	b, ok := s.(store.AlarmBatcher)
	if !ok {
		t.Skip("not a store.AlarmBatcher")
	}
	ctx := context.Background()
	dev, _ := NewDevice(t, s, "veh-progress")
	ep := raise(t, s, episode(dev.ID, 4, Base, 1.5))
	id := ep.ID
	at := func(s int) time.Time { return Base.Add(time.Duration(s) * time.Second) }

	if err := b.WriteSamplesAndAlarms(ctx, Samples(dev.ID, at(1), 3), []store.AlarmUpdate{progressUpdate(ep, 101, 3, at(10), 2.0, 4.10)}); err != nil {
		t.Fatal(err)
	}
	wantEpisode(t, s, id, 1+3, at(10), 2.0, 4.10, "after a batch")

	// The condition ends (an immediate update): later last seen, lower peak.
	ended := ep
	ended.ConditionActive, ended.ConditionEndedAt, ended.LastSeen, ended.PeakDose, ended.PeakLon = false, at(20), at(20), 1.8, 4.11
	if err := s.UpdateAlarm(ctx, ended, 2); err != nil {
		t.Fatal(err)
	}
	wantEpisode(t, s, id, 4+2, at(20), 2.0, 4.10, "after an immediate update")

	// A batch seen late: earlier last seen, a peak between the two.
	if err := b.UpdateAlarms(ctx, []store.AlarmUpdate{progressUpdate(ep, 102, 4, at(15), 1.9, 4.12)}); err != nil {
		t.Fatal(err)
	}
	wantEpisode(t, s, id, 6+4, at(20), 2.0, 4.10, "after a late batch")

	// Another node raises the same key with the highest peak yet.
	other := episode(dev.ID, 4, at(30), 2.5)
	other.PeakLon = 4.13
	if mid, created, err := s.RaiseAlarm(ctx, other, rules.Event{Type: "raised", Key: other.Key, Time: at(30), Episode: other}); err != nil || created || mid != id {
		t.Fatalf("merged raise = %d, %v, %v", mid, created, err)
	}
	wantEpisode(t, s, id, 10+1, at(30), 2.5, 4.13, "after a merged raise")

	// A lower batch peak leaves it; the batch's replay adds nothing.
	lower := []store.AlarmUpdate{progressUpdate(ep, 103, 5, at(40), 2.2, 4.14)}
	for range 2 {
		if err := b.UpdateAlarms(ctx, lower); err != nil {
			t.Fatal(err)
		}
	}
	wantEpisode(t, s, id, 11+5, at(40), 2.5, 4.13, "after a lower batch and its replay")

	// A higher batch peak wins over the raise's.
	if err := b.UpdateAlarms(ctx, []store.AlarmUpdate{progressUpdate(ep, 104, 1, at(41), 3.0, 4.15)}); err != nil {
		t.Fatal(err)
	}
	wantEpisode(t, s, id, 16+1, at(41), 3.0, 4.15, "after a higher batch")

	// Resolved: everything stays; a batch after it adds nothing.
	resolved := ep
	resolved.State, resolved.ResolvedBy, resolved.ResolvedAt, resolved.Code = "resolved", "olga", at(50), "false_alarm"
	if err := s.TransitionAlarm(ctx, resolved, "raised", nil); err != nil {
		t.Fatal(err)
	}
	wantEpisode(t, s, id, 17, at(41), 3.0, 4.15, "after the resolution")
	if err := b.UpdateAlarms(ctx, []store.AlarmUpdate{progressUpdate(ep, 105, 100, at(60), 9.0, 4.16)}); err != nil {
		t.Fatal(err)
	}
	wantEpisode(t, s, id, 17, at(41), 3.0, 4.15, "after a batch that came after the resolution")
}

// testAlarmProgressConcurrent: two writers commit batches of samples and
// updates of the same episodes at once, as two flushers do in an
// emergency; every episode ends with the sum of the counts, the latest
// last seen and the highest peak, wherever those came in the order.
func testAlarmProgressConcurrent(t *testing.T, s store.Store) {
	b, ok := s.(store.AlarmBatcher)
	if !ok {
		t.Skip("not a store.AlarmBatcher")
	}
	ctx := context.Background()
	const writers, commits, episodes = 2, 15, 6
	dev, _ := NewDevice(t, s, "veh-progress-concurrent")
	eps := make([]rules.Episode, episodes)
	for i := range eps {
		eps[i] = raise(t, s, episode(dev.ID, int64(10+i), Base, 1.5))
	}
	// Every update of every commit, drawn before the writers start, so
	// that the expected values do not depend on the order of the commits.
	type draw struct {
		add  int
		at   time.Time
		dose float64
	}
	rng := rand.New(rand.NewPCG(19, 20))
	// Doses are distinct per episode: with a tie, which position is stored
	// would depend on the order of the commits.
	doses := make([][]int, episodes)
	for e := range doses {
		doses[e] = rng.Perm(writers * commits)
	}
	plan := make([][][]draw, writers)
	for w := range plan {
		plan[w] = make([][]draw, commits)
		for c := range plan[w] {
			plan[w][c] = make([]draw, episodes)
			for e := range plan[w][c] {
				plan[w][c][e] = draw{add: 1 + rng.IntN(20), at: Base.Add(time.Duration(1+rng.IntN(3600)) * time.Second),
					dose: 2 + float64(doses[e][w*commits+c])/100}
			}
		}
	}
	var wg sync.WaitGroup
	errs := make(chan error, writers)
	for w := range writers {
		wg.Go(func() {
			for c := range commits {
				ups := make([]store.AlarmUpdate, episodes)
				for e, d := range plan[w][c] {
					// The peak's longitude names its draw: the stored
					// position must come with the stored peak.
					ups[e] = progressUpdate(eps[e], int64(1000*(w+1)+c), d.add, d.at, d.dose, 4+float64(w*commits+c)/1000)
				}
				samples := Samples(dev.ID, Base.Add(time.Duration(w*commits+c)*time.Hour), 2)
				if err := b.WriteSamplesAndAlarms(ctx, samples, ups); err != nil {
					errs <- fmt.Errorf("writer %d commit %d: %w", w, c, err)
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	for e, ep := range eps {
		samples, last, peak, peakLon := 1, Base, 1.5, 4.05
		for w := range plan {
			for c, ds := range plan[w] {
				d := ds[e]
				samples += d.add
				if d.at.After(last) {
					last = d.at
				}
				if d.dose > peak {
					peak, peakLon = d.dose, 4+float64(w*commits+c)/1000
				}
			}
		}
		wantEpisode(t, s, ep.ID, samples, last, peak, peakLon, fmt.Sprintf("episode %d", e))
	}
}
