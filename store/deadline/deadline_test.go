package deadline

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/radtrack/radtrack/rules"
	"github.com/radtrack/radtrack/sample"
	"github.com/radtrack/radtrack/store"
)

// hanging is a store whose database hangs while hung is set: each call
// then waits for its context. It records the budget each call was given.
type hanging struct {
	store.Store // other methods are not called here
	hung        atomic.Bool
	mu          sync.Mutex
	budget      time.Duration
	calls       int
}

func (h *hanging) wait(ctx context.Context) error {
	h.mu.Lock()
	h.calls++
	if d, ok := ctx.Deadline(); ok {
		h.budget = time.Until(d)
	} else {
		h.budget = -1
	}
	h.mu.Unlock()
	if !h.hung.Load() {
		return nil
	}
	<-ctx.Done()
	return ctx.Err()
}

func (h *hanging) DeviceByTokenHash(ctx context.Context, _ []byte) (store.Device, error) {
	return store.Device{}, h.wait(ctx)
}

func (h *hanging) RaiseAlarm(ctx context.Context, _ rules.Episode, _ rules.Event) (int64, bool, error) {
	return 0, false, h.wait(ctx)
}

func (h *hanging) WriteSamples(ctx context.Context, _ []sample.Sample) error { return h.wait(ctx) }

func (h *hanging) ListAudit(ctx context.Context, _ int) ([]store.AuditEntry, error) {
	return nil, h.wait(ctx)
}

func (h *hanging) Ping(ctx context.Context) error { return h.wait(ctx) }

func (h *hanging) Close() {}

func (h *hanging) Classify(err error) store.Fault {
	if errors.Is(err, context.DeadlineExceeded) {
		return store.Transient
	}
	return store.Unknown
}

var budgets = Timeouts{Hot: 30 * time.Millisecond, Write: 60 * time.Millisecond, Query: 90 * time.Millisecond, ProbeEvery: 10 * time.Millisecond}

func TestEveryKindOfCallHasItsBudget(t *testing.T) {
	ctx := context.Background()
	for _, c := range []struct {
		name string
		call func(s store.Store) error
		want time.Duration
	}{
		{"DeviceByTokenHash", func(s store.Store) error { _, err := s.DeviceByTokenHash(ctx, nil); return err }, budgets.Hot},
		{"RaiseAlarm", func(s store.Store) error {
			_, _, err := s.RaiseAlarm(ctx, rules.Episode{}, rules.Event{})
			return err
		}, budgets.Hot},
		{"WriteSamples", func(s store.Store) error { return s.WriteSamples(ctx, nil) }, budgets.Write},
		{"ListAudit", func(s store.Store) error { _, err := s.ListAudit(ctx, 1); return err }, budgets.Query},
	} {
		h := &hanging{}
		h.hung.Store(true)
		s := Wrap(h, budgets, nil)
		err := c.call(s)
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("%s: %v, want a deadline error", c.name, err)
		}
		if h.budget > c.want || h.budget < c.want-20*time.Millisecond {
			t.Errorf("%s had %s, want its budget %s", c.name, h.budget, c.want)
		}
		if f := s.(store.FaultClassifier).Classify(err); f != store.Transient {
			t.Errorf("%s: the wrapped store's classification is lost: %v", c.name, f)
		}
		s.Close()
	}
	// A caller's earlier deadline wins.
	h := &hanging{}
	h.hung.Store(true)
	s := Wrap(h, budgets, nil)
	defer s.Close()
	short, cancel := context.WithTimeout(ctx, 10*time.Millisecond)
	defer cancel()
	_ = s.WriteSamples(short, nil)
	if h.budget > 10*time.Millisecond {
		t.Errorf("the caller's 10 ms deadline was extended to %s", h.budget)
	}
	if s.(classifying).Unresponsive() {
		t.Error("the caller's own deadline marked the database unresponsive")
	}
}

// A Hot or Write call that runs out of time makes every call fail at once
// until the database answers a probe.
func TestUnresponsiveDatabaseFailsFastUntilItAnswers(t *testing.T) {
	ctx := context.Background()
	h := &hanging{}
	h.hung.Store(true)
	s := New(h, budgets, nil)
	defer s.Close()
	if _, err := s.ListAudit(ctx, 1); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatal(err)
	}
	if s.Unresponsive() {
		t.Fatal("a slow Query marked the database unresponsive")
	}
	if _, err := s.DeviceByTokenHash(ctx, nil); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatal(err)
	}
	if !s.Unresponsive() || s.Trips() != 1 {
		t.Fatalf("unresponsive %v after %d trips, want true after 1", s.Unresponsive(), s.Trips())
	}
	h.mu.Lock()
	before := h.calls
	h.mu.Unlock()
	began := time.Now()
	for _, err := range []error{s.WriteSamples(ctx, nil), func() error { _, err := s.ListAudit(ctx, 1); return err }()} {
		if !errors.Is(err, ErrUnresponsive) {
			t.Fatalf("call while unresponsive: %v, want ErrUnresponsive", err)
		}
	}
	if took := time.Since(began); took > 5*time.Millisecond {
		t.Errorf("failing fast took %s", took)
	}
	h.hung.Store(false)
	for deadline := time.Now().Add(2 * time.Second); s.Unresponsive(); time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("still unresponsive 2 s after the database answered")
		}
	}
	if err := s.WriteSamples(ctx, nil); err != nil {
		t.Fatalf("after the probe was answered: %v", err)
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.calls < before+2 { // at least one probe and the write
		t.Fatalf("%d calls reached the store, want the probes and the write", h.calls-before)
	}
}

// connectTimeout is a store whose driver gives up connecting (its own
// timeout, not the call's deadline).
type connectTimeout struct{ hanging }

func (c *connectTimeout) ListAudit(ctx context.Context, _ int) ([]store.AuditEntry, error) {
	return nil, fmt.Errorf("failed to connect: %w", context.DeadlineExceeded)
}

// Any call whose driver timed out connecting means the database does not
// answer, even a Query; a caller's cancelled context means nothing.
func TestDriverTimeoutMarksUnresponsive(t *testing.T) {
	c := &connectTimeout{}
	s := New(c, budgets, nil)
	defer s.Close()
	gone, cancel := context.WithCancel(context.Background())
	cancel()
	_, _ = s.ListAudit(gone, 1)
	if s.Unresponsive() {
		t.Fatal("a call of a caller that went away marked the database unresponsive")
	}
	if _, err := s.ListAudit(context.Background(), 1); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatal(err)
	}
	if !s.Unresponsive() {
		t.Fatal("a connect timeout did not mark the database unresponsive")
	}
}

func TestDefaults(t *testing.T) {
	got := Timeouts{}.withDefaults()
	if got != (Timeouts{Hot: DefaultHot, Write: DefaultWrite, Query: DefaultQuery, ProbeEvery: 250 * time.Millisecond}) {
		t.Fatalf("%+v", got)
	}
	if _, ok := Wrap(&struct{ store.Store }{}, Timeouts{}, nil).(store.FaultClassifier); ok {
		t.Fatal("a store without a classifier got one")
	}
}
