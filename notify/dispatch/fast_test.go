package dispatch

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/radtrack/radtrack/internal/pgtest"
	"github.com/radtrack/radtrack/notify"
	"github.com/radtrack/radtrack/rules"
	"github.com/radtrack/radtrack/store"
)

// claimCounter counts the deliveries the store hands out by claim.
type claimCounter struct {
	Store
	claimed atomic.Int64
}

func (c *claimCounter) ClaimDeliveries(ctx context.Context, owner string, now time.Time, lease time.Duration, limit int) ([]store.OutboxItem, error) {
	items, err := c.Store.ClaimDeliveries(ctx, owner, now, lease, limit)
	c.claimed.Add(int64(len(items)))
	return items, err
}

// While Run runs, a raise's T+0 step is planned at once (Run's planner), stored leased
// to this node and sent from memory: the receiver gets every delivery
// and none of them came back through a claim.
func TestStepDueNowSentFromMemory(t *testing.T) {
	eachStore(t, func(t *testing.T, st Store) {
		ops, duty := newReceiver(t), newReceiver(t)
		pol := mustDoc(t, st, store.NotifyPolicy, "p", PolicySpec{Steps: []Step{{Endpoints: []int64{
			mustDoc(t, st, store.NotifyEndpoint, "ops", webhook(ops.URL)), mustDoc(t, st, store.NotifyEndpoint, "duty", webhook(duty.URL))}}}})
		mustDoc(t, st, store.NotifyRule, "all", RuleSpec{Policy: pol})
		cc := &claimCounter{Store: st}
		d, err := New(Config{Store: cc, Node: "a", Poll: time.Hour})
		if err != nil {
			t.Fatal(err)
		}
		runDispatcher(t, d)
		handle(t, d, event(notify.EventRaised, 3, 1, time.Now(), rules.SeverityAlarm))
		waitUntil(t, "both endpoints paged", 20*time.Second, func() bool { return len(ops.got()) == 1 && len(duty.got()) == 1 })
		waitUntil(t, "outcomes recorded", 20*time.Second, func() bool {
			items, _ := st.IncidentDeliveries(context.Background(), 3)
			return len(items) == 2 && items[0].State == store.DeliverySent && items[1].State == store.DeliverySent
		})
		if n := cc.claimed.Load(); n != 0 {
			t.Errorf("%d deliveries went through a claim, want 0 (sent from memory)", n)
		}
		attempts, _ := st.IncidentAttempts(context.Background(), 3)
		if len(attempts) != 2 || attempts[0].Node != "a" || !attempts[0].OK {
			t.Errorf("attempts %+v, want two by a", attempts)
		}
	})
}

// A step planned and leased by one node is not taken by another while
// the lease runs (it would be sent twice); once the lease has run out
// (the planner died before sending) the other node sends it.
func TestPlannedLeaseKeepsOtherNodesOff(t *testing.T) {
	eachStore(t, func(t *testing.T, st Store) {
		ops := newReceiver(t)
		pageAtOnce(t, st, ops.URL)
		c := &clock{t: t0}
		a, b := newDispatcher(t, st, c, "a"), newDispatcher(t, st, c, "b")
		handle(t, a, event(notify.EventRaised, 4, 1, t0, rules.SeverityAlarm))
		if err := a.planDue(context.Background()); err != nil {
			t.Fatal(err)
		}
		if n := len(a.takeFast()); n != 1 { // a "dies" with it in memory
			t.Fatalf("a queued %d deliveries, want 1", n)
		}
		if n := tick(t, b); n != 0 {
			t.Fatalf("b attempted %d deliveries under a's lease, want 0", n)
		}
		c.Set(t0.Add(time.Minute + time.Second)) // the lease (default 1 min) ran out
		if n := tick(t, b); n != 1 {
			t.Fatalf("b attempted %d deliveries after the lease, want 1", n)
		}
		if got := ops.got(); len(got) != 1 || got[0].Incident != 4 {
			t.Fatalf("receiver got %+v, want incident 4 once", got)
		}
		items, _ := st.IncidentDeliveries(context.Background(), 4)
		if len(items) != 1 || items[0].State != store.DeliverySent || items[0].Attempts != 2 {
			t.Fatalf("outbox %+v, want one sent delivery with 2 attempts counted", items)
		}
	})
}

// gatedPlanning holds every planning pass until gate is closed, and
// notes how many escalations each pass planned.
type gatedPlanning struct {
	Store
	gate   chan struct{}
	mu     sync.Mutex
	passes []int
}

func (g *gatedPlanning) AdvanceEscalations(ctx context.Context, now time.Time, limit int, plan store.PlanFunc) (int, error) {
	<-g.gate
	n, err := g.Store.AdvanceEscalations(ctx, now, limit, plan)
	if n > 0 {
		g.mu.Lock()
		g.passes = append(g.passes, n)
		g.mu.Unlock()
	}
	return n, err
}

// A storm's raises: Handle stores each escalation and returns without
// waiting for any planning (an acknowledgement must not queue behind a
// storm's fan-outs), and the raises that came while planning was held
// up are planned together, planBatch incidents a pass, not one by one.
func TestStormRaisesPlannedTogether(t *testing.T) {
	eachStore(t, func(t *testing.T, st Store) {
		const raises = 30
		ops := newReceiver(t)
		pageAtOnce(t, st, ops.URL)
		gp := &gatedPlanning{Store: st, gate: make(chan struct{})}
		d, err := New(Config{Store: gp, Node: "a", Poll: time.Hour})
		if err != nil {
			t.Fatal(err)
		}
		runDispatcher(t, d)
		handled := make(chan error, 1)
		go func() {
			for i := range raises {
				if err := d.Handle(context.Background(), event(notify.EventRaised, int64(100+i), 1, time.Now(), rules.SeverityAlarm)); err != nil {
					handled <- err
					return
				}
			}
			handled <- nil
		}()
		select {
		case err := <-handled:
			if err != nil {
				t.Fatal(err)
			}
		case <-time.After(20 * time.Second):
			close(gp.gate)
			t.Fatal("Handle waited for planning while it was held up")
		}
		close(gp.gate)
		waitUntil(t, "every incident paged", 30*time.Second, func() bool { return len(ops.got()) == raises })
		gp.mu.Lock()
		defer gp.mu.Unlock()
		if len(gp.passes) > (raises+planBatch-1)/planBatch+1 {
			t.Fatalf("%d raises planned in passes of %v, want them together (%d a pass)", raises, gp.passes, planBatch)
		}
	})
}

// lockedEscalation holds a raise's escalation row in a transaction of its
// own right after it is stored (as an update event's write does for a
// moment), and signals each planning pass.
type lockedEscalation struct {
	Store
	pool   *pgxpool.Pool
	locked chan pgx.Tx
	passed chan int
}

func (l *lockedEscalation) StartEscalation(ctx context.Context, e store.Escalation) error {
	if err := l.Store.StartEscalation(ctx, e); err != nil {
		return err
	}
	tx, err := l.pool.Begin(ctx)
	if err != nil {
		return err
	}
	if _, err := tx.Exec(ctx, `SELECT 1 FROM notify_escalations WHERE incident_id = $1 FOR UPDATE`, e.IncidentID); err != nil {
		return err
	}
	l.locked <- tx
	return nil
}

func (l *lockedEscalation) AdvanceEscalations(ctx context.Context, now time.Time, limit int, plan store.PlanFunc) (int, error) {
	n, err := l.Store.AdvanceEscalations(ctx, now, limit, plan)
	select {
	case l.passed <- n:
	default:
	}
	return n, err
}

// A planning pass skips an escalation whose row another transaction holds
// (SKIP LOCKED keeps nodes apart); when that was an update event's write,
// the update asks for a new pass, so the raise's first page goes out at
// once instead of at the next poll (an hour here).
func TestUpdateAsksPlannerAfterSkippedEscalation(t *testing.T) {
	pg := openPG(t, pgtest.NewDatabase(t))
	ops := newReceiver(t)
	pageAtOnce(t, pg, ops.URL)
	le := &lockedEscalation{Store: pg, pool: pg.Pool(), locked: make(chan pgx.Tx, 1), passed: make(chan int, 16)}
	d, err := New(Config{Store: le, Node: "a", Poll: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	runDispatcher(t, d)
	select { // Run's first poll
	case <-le.passed:
	case <-time.After(10 * time.Second):
		t.Fatal("Run made no first pass")
	}
	handle(t, d, event(notify.EventRaised, 9, 1, time.Now(), rules.SeverityAlarm))
	tx := <-le.locked
	select {
	case n := <-le.passed:
		if n != 0 {
			t.Fatalf("the pass planned %d escalations past a held row", n)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the raise asked for no planning pass")
	}
	if err := tx.Commit(context.Background()); err != nil {
		t.Fatal(err)
	}
	handle(t, d, event(notify.EventUpdated, 9, 2, time.Now(), rules.SeverityAlarm))
	waitUntil(t, "the raise's first page", 10*time.Second, func() bool { return len(ops.got()) == 1 })
}

// An update event whose escalation row a planning pass holds (here a
// transaction of the test's) does not hold up the events behind it: the
// next incident's raise is paged while the row is still held, and the
// update is stored once it is free.
func TestHeldEscalationDoesNotHoldUpEvents(t *testing.T) {
	pg := openPG(t, pgtest.NewDatabase(t))
	ops := newReceiver(t)
	pol := mustDoc(t, pg, store.NotifyPolicy, "p", PolicySpec{Steps: []Step{
		{Endpoints: []int64{mustDoc(t, pg, store.NotifyEndpoint, "ops", webhook(ops.URL))}},
		{DelayS: 600, Endpoints: []int64{mustDoc(t, pg, store.NotifyEndpoint, "duty", webhook(ops.URL))}}}})
	mustDoc(t, pg, store.NotifyRule, "all", RuleSpec{Policy: pol})
	d, err := New(Config{Store: pg, Node: "a", Poll: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	runDispatcher(t, d)
	handle(t, d, event(notify.EventRaised, 9, 1, time.Now(), rules.SeverityAlarm))
	waitUntil(t, "incident 9 paged", 10*time.Second, func() bool { return len(ops.got()) == 1 })

	tx, err := pg.Pool().Begin(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(context.Background()) //nolint:errcheck // committed below
	if _, err := tx.Exec(context.Background(), `SELECT 1 FROM notify_escalations WHERE incident_id = 9 FOR UPDATE`); err != nil {
		t.Fatal(err)
	}
	handled := make(chan error, 1)
	go func() {
		if err := d.Handle(context.Background(), event(notify.EventUpdated, 9, 2, time.Now(), rules.SeverityCritical)); err != nil {
			handled <- err
			return
		}
		handled <- d.Handle(context.Background(), event(notify.EventRaised, 10, 1, time.Now(), rules.SeverityAlarm))
	}()
	select {
	case err := <-handled:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		tx.Rollback(context.Background()) //nolint:errcheck // let Handle go
		t.Fatal("the update waited for the held escalation row, and the next raise behind it")
	}
	waitUntil(t, "incident 10 paged while 9's row is held", 10*time.Second, func() bool { return len(ops.got()) == 2 })
	if err := tx.Commit(context.Background()); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, "incident 9's update stored", 10*time.Second, func() bool {
		var version int64
		err := pg.Pool().QueryRow(context.Background(), `SELECT (event->'incident'->>'version')::int8 FROM notify_escalations WHERE incident_id = 9`).Scan(&version)
		return err == nil && version == 2
	})
}
