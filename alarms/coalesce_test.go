package alarms_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"math"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/radtrack/radtrack/alarms"
	"github.com/radtrack/radtrack/geo"
	"github.com/radtrack/radtrack/ingest"
	"github.com/radtrack/radtrack/internal/pgtest"
	"github.com/radtrack/radtrack/metrics"
	"github.com/radtrack/radtrack/rules"
	"github.com/radtrack/radtrack/sample"
	"github.com/radtrack/radtrack/store"
	"github.com/radtrack/radtrack/store/pgstore"
	"github.com/radtrack/radtrack/store/sqlitestore"
	"github.com/radtrack/radtrack/store/storetest"
)

// batchingStore is a store whose per-episode UpdateAlarm calls are counted.
type batchingStore interface {
	store.Store
	store.AlarmBatcher
}

type countingStore struct {
	batchingStore
	updateAlarm atomic.Int64
}

func (c *countingStore) UpdateAlarm(ctx context.Context, ep rules.Episode, add int) error {
	c.updateAlarm.Add(1)
	return c.batchingStore.UpdateAlarm(ctx, ep, add)
}

// While every vehicle sits in an alarm condition, episode updates ride with
// the group commit: no per-sample UpdateAlarm, and after every ack the
// stored episode already counts every acknowledged sample (two flushers,
// so a sample's update may ride in the other flusher's commit). At the end
// each episode's sample count, peak and last seen are exact.
func TestCoalescedEpisodesExact(t *testing.T) {
	for _, engine := range []string{"postgresql", "sqlite"} {
		t.Run(engine, func(t *testing.T) {
			ctx := context.Background()
			var st batchingStore
			if engine == "postgresql" {
				pg, err := pgstore.Open(ctx, pgstore.Config{URL: pgtest.NewDatabase(t)})
				if err != nil {
					t.Fatal(err)
				}
				st = pg
			} else {
				sq, err := sqlitestore.Open(ctx, sqlitestore.Config{Dir: t.TempDir()})
				if err != nil {
					t.Fatal(err)
				}
				st = sq
			}
			t.Cleanup(st.Close)
			cs := &countingStore{batchingStore: st}
			testCoalescedEpisodes(t, cs)
		})
	}
}

func testCoalescedEpisodes(t *testing.T, cs *countingStore) {
	ctx := context.Background()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	co := ingest.NewCoalescer()
	svc, err := alarms.New(ctx, cs, alarms.Options{Geo: geo.DefaultConfig(), Coalescer: co}, log)
	if err != nil {
		t.Fatal(err)
	}
	wcfg := ingest.DefaultWriterConfig()
	wcfg.Alarms = co
	w := ingest.NewWriter(cs, wcfg, metrics.New(), log)
	defer w.Close(ctx) //nolint:errcheck // closed at the end of the test
	p := ingest.NewPipeline(w, metrics.New(), svc)

	const (
		devices  = 6
		requests = 25
		per      = 4
	)
	start := time.Now().UTC().Add(-time.Hour).Truncate(time.Second)
	type want struct {
		dev  store.Device
		peak float64
		last time.Time
	}
	wants := make([]want, devices)
	var wg sync.WaitGroup
	errs := make(chan error, devices)
	for d := range devices {
		dev, _ := storetest.NewDevice(t, cs, "veh-coalesce-"+string(rune('a'+d)))
		smp := storetest.Samples(dev.ID, start, requests*per)
		peak := 0.0
		for i := range smp {
			// Over OIL3 (1.0) throughout; the peak somewhere in the middle.
			smp[i].DoseRate = 1.2 + float64((i*7+d*3)%37)/10
			peak = max(peak, smp[i].DoseRate)
		}
		wants[d] = want{dev: dev, peak: peak, last: smp[len(smp)-1].Time}
		wg.Go(func() {
			for r := range requests {
				batch := append([]sample.Sample(nil), smp[r*per:(r+1)*per]...)
				if _, err := p.Ingest(ctx, dev, "test", batch); err != nil {
					errs <- err
					return
				}
				// Acknowledged: the episodes count every acknowledged sample
				// but the first (dose-only readings raise on the second).
				acked := (r + 1) * per
				eps, err := cs.ListAlarms(ctx, store.AlarmFilter{DeviceID: dev.ID})
				if err != nil {
					errs <- err
					return
				}
				if len(eps) != 2 {
					errs <- fmt.Errorf("device %d: %d episodes after an ack, want 2", dev.ID, len(eps))
					return
				}
				for _, ep := range eps {
					if ep.Samples < acked-1 {
						errs <- fmt.Errorf("device %d %s: stored %d samples after %d were acknowledged, want >= %d",
							dev.ID, ep.RuleName, ep.Samples, acked, acked-1)
						return
					}
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	// The engine counted every sample it evaluated inside the condition:
	// all of them, or all but the first for a rule that raises on the
	// second reading. The store must hold exactly that.
	counted := map[rules.Key]int{}
	for _, ep := range svc.Engine().OpenEpisodes() {
		counted[ep.Key] = ep.Samples
	}
	for _, wt := range wants {
		eps, err := cs.ListAlarms(ctx, store.AlarmFilter{DeviceID: wt.dev.ID})
		if err != nil {
			t.Fatal(err)
		}
		for _, ep := range eps {
			n := counted[ep.Key]
			if n != requests*per && n != requests*per-1 {
				t.Fatalf("device %d %s: the engine counted %d samples of %d", wt.dev.ID, ep.RuleName, n, requests*per)
			}
			if ep.Samples != n || math.Abs(ep.PeakDose-wt.peak) > 1e-9 || !ep.LastSeen.Equal(wt.last) {
				t.Errorf("device %d %s: samples %d peak %v last seen %v; want %d, %v, %v",
					wt.dev.ID, ep.RuleName, ep.Samples, ep.PeakDose, ep.LastSeen, n, wt.peak, wt.last)
			}
		}
	}
	if n := cs.updateAlarm.Load(); n != 0 {
		t.Errorf("%d per-sample UpdateAlarm calls while conditions held, want 0 (coalesced into the group commit)", n)
	}
	if co.Pending() != 0 {
		t.Errorf("%d episodes still pending after every ack", co.Pending())
	}
}
