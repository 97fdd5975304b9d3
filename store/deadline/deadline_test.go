package deadline

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/radtrack/radtrack/rules"
	"github.com/radtrack/radtrack/sample"
	"github.com/radtrack/radtrack/store"
)

// hanging is a store that never answers: each call waits for its context
// and records the deadline it was given.
type hanging struct {
	store.Store // other methods are not called here
	budget      time.Duration
}

func (h *hanging) wait(ctx context.Context) error {
	d, ok := ctx.Deadline()
	if !ok {
		return errors.New("no deadline")
	}
	h.budget = time.Until(d)
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

func (h *hanging) Classify(err error) store.Fault {
	if errors.Is(err, context.DeadlineExceeded) {
		return store.Transient
	}
	return store.Unknown
}

func TestEveryKindOfCallHasItsBudget(t *testing.T) {
	h := &hanging{}
	s := Wrap(h, Timeouts{Hot: 30 * time.Millisecond, Write: 60 * time.Millisecond, Query: 90 * time.Millisecond})
	ctx := context.Background()
	for _, c := range []struct {
		name string
		call func() error
		want time.Duration
	}{
		{"DeviceByTokenHash", func() error { _, err := s.DeviceByTokenHash(ctx, nil); return err }, 30 * time.Millisecond},
		{"RaiseAlarm", func() error { _, _, err := s.RaiseAlarm(ctx, rules.Episode{}, rules.Event{}); return err }, 30 * time.Millisecond},
		{"WriteSamples", func() error { return s.WriteSamples(ctx, nil) }, 60 * time.Millisecond},
		{"ListAudit", func() error { _, err := s.ListAudit(ctx, 1); return err }, 90 * time.Millisecond},
	} {
		err := c.call()
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("%s: %v, want a deadline error", c.name, err)
		}
		if h.budget > c.want || h.budget < c.want-20*time.Millisecond {
			t.Errorf("%s had %s, want its budget %s", c.name, h.budget, c.want)
		}
		if f := s.(store.FaultClassifier).Classify(err); f != store.Transient {
			t.Errorf("%s: the wrapped store's classification is lost: %v", c.name, f)
		}
	}
	// A caller's earlier deadline wins.
	short, cancel := context.WithTimeout(ctx, 10*time.Millisecond)
	defer cancel()
	_ = s.WriteSamples(short, nil)
	if h.budget > 10*time.Millisecond {
		t.Errorf("the caller's 10 ms deadline was extended to %s", h.budget)
	}
}

func TestDefaults(t *testing.T) {
	got := Timeouts{}.withDefaults()
	if got != (Timeouts{Hot: DefaultHot, Write: DefaultWrite, Query: DefaultQuery}) {
		t.Fatalf("%+v", got)
	}
	if _, ok := Wrap(&struct{ store.Store }{}, Timeouts{}).(store.FaultClassifier); ok {
		t.Fatal("a store without a classifier got one")
	}
}
