package ingest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/radtrack/radtrack/metrics"
	"github.com/radtrack/radtrack/sample"
	"github.com/radtrack/radtrack/spool"

	"github.com/radtrack/radtrack/store"
)

func upd(id int64, samples, add int, peak float64, last time.Time) store.AlarmUpdate {
	return store.AlarmUpdate{ID: id, Samples: samples, PeakDose: peak, LastSeen: last, AddSamples: add}
}

// A flusher whose samples' updates ride in another flusher's generation
// waits for that generation, and learns if it failed; failed updates go
// back to pending, merged with what came since (counts add, the peak
// stays the highest).
func TestCoalescerGenerations(t *testing.T) {
	c := NewCoalescer()
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	c.Add(upd(7, 1, 1, 2.0, t0))
	c.Add(upd(7, 2, 1, 5.0, t0.Add(time.Second)))
	upsA, tkA := c.Take() // flusher A
	if len(upsA) != 1 || upsA[0].AddSamples != 2 || upsA[0].PeakDose != 5 || tkA.Gen != 1 {
		t.Fatalf("A took %+v %+v, want one update of 2 samples, peak 5, generation 1", upsA, tkA)
	}
	upsB, tkB := c.Take() // flusher B: nothing new, but depends on A's generation
	if len(upsB) != 0 || tkB.Gen != 1 {
		t.Fatalf("B took %+v %+v, want nothing, depending on generation 1", upsB, tkB)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if err := c.Wait(ctx, tkB); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("B's wait before A finished: %v, want it to block (deadline exceeded)", err)
	}
	c.Add(upd(7, 3, 1, 4.0, t0.Add(2*time.Second)))
	done := make(chan error, 1)
	go func() { done <- c.Wait(context.Background(), tkB) }()
	boom := errors.New("connection refused")
	c.Finish(tkA, upsA, boom)
	if err := <-done; !errors.Is(err, boom) {
		t.Fatalf("B's wait after A failed: %v, want A's error", err)
	}
	ups, tk := c.Take()
	if len(ups) != 1 {
		t.Fatalf("after the failure %d pending, want 1", len(ups))
	}
	u := ups[0]
	if u.AddSamples != 3 || u.PeakDose != 5 || !u.LastSeen.Equal(t0.Add(2*time.Second)) || u.Samples != 3 {
		t.Fatalf("merged back %+v, want 3 samples to add, peak 5, last seen +2s", u)
	}
	c.Finish(tk, ups, nil)
	if err := c.Wait(context.Background(), tk); err != nil {
		t.Fatalf("wait after success: %v", err)
	}
	if _, tk := c.Take(); c.Wait(context.Background(), tk) != nil {
		t.Fatal("a later ticket inherited an old failure")
	}
}

// alarmSink is a flakySink that also takes episode updates, with the
// samples (or alone) and failing the same way.
type alarmSink struct {
	flakySink
	ups int // episode updates stored
}

func (a *alarmSink) WriteSamplesAndAlarms(ctx context.Context, s []sample.Sample, ups []store.AlarmUpdate) error {
	if err := a.WriteSamples(ctx, s); err != nil {
		return err
	}
	a.mu.Lock()
	a.ups += len(ups)
	a.mu.Unlock()
	return nil
}

func (a *alarmSink) UpdateAlarms(ctx context.Context, ups []store.AlarmUpdate) error {
	return a.WriteSamplesAndAlarms(ctx, nil, ups)
}

// A group commit the database cannot take: its samples are spooled and
// its episode updates handed to OnUnstored (the alarm journal); the
// senders are acknowledged only if that kept them. If it could not, the
// senders get the error and the updates are pending again, none lost.
func TestUnstoredUpdatesGoToTheJournalOrStayPending(t *testing.T) {
	for _, journalOK := range []bool{true, false} {
		t.Run(fmt.Sprintf("journal takes them: %v", journalOK), func(t *testing.T) {
			sp, err := spool.Open(t.TempDir(), 1<<20)
			if err != nil {
				t.Fatal(err)
			}
			co := NewCoalescer()
			var journaled []store.AlarmUpdate
			errFull := errors.New("journal full")
			co.OnUnstored = func(_ context.Context, ups []store.AlarmUpdate, cause error) error {
				if !errors.Is(cause, errUnavailable) {
					t.Errorf("OnUnstored cause %v, want the commit's", cause)
				}
				if !journalOK {
					return errFull
				}
				journaled = append(journaled, ups...)
				return nil
			}
			sink := &alarmSink{flakySink: flakySink{down: true}}
			w := NewWriter(sink, WriterConfig{BatchSize: 100, FlushInterval: time.Millisecond, Flushers: 2, QueueLimit: 1000,
				Spool: sp, Classify: classifyTest, ReplayEvery: time.Hour, Alarms: co},
				metrics.New(), slog.New(slog.NewTextHandler(io.Discard, nil)))
			defer w.Close(context.Background())
			t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
			co.Add(upd(7, 10, 10, 3, t0))
			err = w.Write(context.Background(), samplesAt(0, 10))
			if journalOK {
				if err != nil || len(journaled) != 1 || journaled[0].AddSamples != 10 || co.Pending() != 0 {
					t.Fatalf("write = %v, journaled %+v, %d pending; want acknowledged, the update journaled", err, journaled, co.Pending())
				}
				return
			}
			if !errors.Is(err, errFull) || co.Pending() != 1 {
				t.Fatalf("write = %v, %d pending; want the journal's refusal and the update pending again", err, co.Pending())
			}
			// The database returns: the next commit carries the update.
			sink.set(false)
			if err := w.Write(context.Background(), samplesAt(100, 10)); err != nil {
				t.Fatal(err)
			}
			if sink.ups != 1 || co.Pending() != 0 {
				t.Fatalf("after the return %d updates stored, %d pending; want 1, 0", sink.ups, co.Pending())
			}
		})
	}
}
