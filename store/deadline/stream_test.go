package deadline

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/radtrack/radtrack/sample"
	"github.com/radtrack/radtrack/store"
)

// streaming yields rows every gap, then hangs after hangAfter rows (never
// when hangAfter < 0) until its context ends.
type streaming struct {
	store.Store
	rows, hangAfter int
	gap             time.Duration
}

func (s *streaming) EachSample(ctx context.Context, _ store.StreamQuery, fn store.SampleFunc) error {
	for i := range s.rows {
		if i == s.hangAfter {
			<-ctx.Done()
			return ctx.Err()
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(s.gap):
		}
		smp := sample.New()
		if err := fn(&smp); err != nil {
			return err
		}
	}
	return nil
}

func (s *streaming) Close() {}

// A stream longer than the Query budget runs to its end while rows keep
// coming; one whose rows stop ends within about the budget.
func TestStreamsHaveAnIdleDeadlineNotAnOverallOne(t *testing.T) {
	budget := 200 * time.Millisecond
	long := New(&streaming{rows: 60, hangAfter: -1, gap: 10 * time.Millisecond}, Timeouts{Query: budget}, nil)
	n := 0
	if err := long.EachSample(context.Background(), store.StreamQuery{}, func(*sample.Sample) error { n++; return nil }); err != nil || n != 60 {
		t.Fatalf("a steady stream of 600 ms under a 200 ms budget: %d rows, %v", n, err)
	}
	stalled := New(&streaming{rows: 60, hangAfter: 3, gap: 10 * time.Millisecond}, Timeouts{Query: budget}, nil)
	n = 0
	begin := time.Now()
	err := stalled.EachSample(context.Background(), store.StreamQuery{}, func(*sample.Sample) error { n++; return nil })
	if !errors.Is(err, context.Canceled) && !errors.Is(err, context.DeadlineExceeded) || n != 3 {
		t.Fatalf("stalled stream: %d rows, %v", n, err)
	}
	if took := time.Since(begin); took > 5*budget {
		t.Fatalf("a stalled stream ended after %s, budget %s", took, budget)
	}
	if stalled.Unresponsive() {
		t.Fatal("a stalled stream tripped fail-fast (a Query must not)")
	}
}
