package dispatch

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/radtrack/radtrack/internal/pgtest"
	"github.com/radtrack/radtrack/notify"
	"github.com/radtrack/radtrack/rules"
	"github.com/radtrack/radtrack/store"
)

// The tests below run dispatchers as real processes: this test binary
// re-executed with childEnv set runs one dispatcher until it is killed.
const childEnv = "RADTRACK_DISPATCH_CHILD" // "pg <url>" or "sqlite <dir>", then " <node>"

func TestMain(m *testing.M) {
	if spec := os.Getenv(childEnv); spec != "" {
		os.Exit(runChild(spec))
	}
	os.Exit(m.Run())
}

func runChild(spec string) int {
	f := strings.Fields(spec)
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	var st Store
	var err error
	t := &childTB{}
	switch f[0] {
	case "pg":
		st = openPG(t, f[1])
	case "sqlite":
		st = openSQLite(t, f[1])
	}
	if t.failed != "" {
		fmt.Fprintln(os.Stderr, t.failed)
		return 2
	}
	d, err := New(Config{Store: st, Node: f[2], Poll: 50 * time.Millisecond, Lease: 2 * time.Second,
		Log: slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	fmt.Println("ready")
	_ = d.Run(ctx)
	return 0
}

// childTB lets the test helpers open stores in a child process.
type childTB struct {
	testing.TB
	failed string
}

func (c *childTB) Helper()                        {}
func (c *childTB) Cleanup(func())                 {}
func (c *childTB) Fatal(args ...any)              { c.failed = fmt.Sprint(args...) }
func (c *childTB) Fatalf(format string, a ...any) { c.failed = fmt.Sprintf(format, a...) }

// startChild runs a dispatcher process and returns it once it is ready.
func startChild(t *testing.T, db, node string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), childEnv+"="+db+" "+node)
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	buf := make([]byte, 6)
	if _, err := io.ReadFull(out, buf); err != nil || string(buf) != "ready\n" {
		t.Fatalf("child %s did not start: %q %v", node, buf, err)
	}
	go func() { _, _ = io.Copy(io.Discard, out) }()
	return cmd
}

// childStore opens a new store of engine ("pg" or "sqlite") for the test
// and returns it with the spec a child process opens it by.
func childStore(t *testing.T, engine string) (string, Store) {
	t.Helper()
	if engine == "pg" {
		url := pgtest.NewDatabase(t)
		return "pg " + url, openPG(t, url)
	}
	dir := t.TempDir()
	return "sqlite " + dir, openSQLite(t, dir)
}

func kill9(t *testing.T, cmd *exec.Cmd) {
	t.Helper()
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()
}

func waitUntil(t *testing.T, what string, within time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// holdFirst makes the receiver's first request wait (counted in arrived)
// until release, then answer 503; later requests are answered at once.
func holdFirst(r *receiver) (arrived <-chan struct{}, release func()) {
	a, rel := make(chan struct{}), make(chan struct{})
	var once sync.Once
	r.mu.Lock()
	r.intercept = func(w http.ResponseWriter) bool {
		first := false
		once.Do(func() { first = true })
		if !first {
			return false
		}
		close(a)
		<-rel
		http.Error(w, "node died", http.StatusServiceUnavailable)
		return true
	}
	r.mu.Unlock()
	return a, func() { close(rel) }
}

// kill -9 while a delivery is in flight and while a step is due: after a
// restart every due delivery arrives exactly once per recipient (by
// idempotency key), and nothing is sent for an incident acknowledged
// while no node ran.
func TestKillNineBetweenDueAndDelivery(t *testing.T) {
	for _, engine := range []string{"sqlite", "pg"} {
		t.Run(engine, func(t *testing.T) {
			db, st := childStore(t, engine)
			ops, duty := newReceiver(t), newReceiver(t)
			arrived, release := holdFirst(ops)
			pol := mustDoc(t, st, store.NotifyPolicy, "p", PolicySpec{Steps: []Step{
				{DelayS: 0, Endpoints: []int64{mustDoc(t, st, store.NotifyEndpoint, "ops", webhook(ops.URL))}},
				{DelayS: 3, Endpoints: []int64{mustDoc(t, st, store.NotifyEndpoint, "duty", webhook(duty.URL))}},
			}})
			mustDoc(t, st, store.NotifyRule, "all", RuleSpec{Policy: pol})
			// The test's own dispatcher only takes events (as the alarm
			// path does); the children plan and send.
			in := newDispatcher(t, st, &clock{}, "events")
			in.now = time.Now

			a := startChild(t, db, "a")
			start := time.Now()
			handle(t, in, event(notify.EventRaised, 1, 1, start, rules.SeverityAlarm))
			select {
			case <-arrived:
			case <-time.After(10 * time.Second):
				t.Fatal("the first delivery never arrived")
			}
			kill9(t, a) // in flight: claimed, sent, no answer recorded
			release()
			handle(t, in, event(notify.EventRaised, 2, 1, time.Now(), rules.SeverityAlarm))
			time.Sleep(time.Until(start.Add(3500 * time.Millisecond))) // both incidents' step 2 is due, no node runs
			handle(t, in, event(notify.EventAcknowledged, 2, 2, time.Now(), rules.SeverityAlarm))

			startChild(t, db, "b")
			waitUntil(t, "incident 1 delivered to both endpoints", 15*time.Second, func() bool {
				return len(ops.got()) >= 1 && len(duty.got()) >= 1
			})
			time.Sleep(time.Second) // anything else would arrive now
			for name, r := range map[string]*receiver{"ops": ops, "duty": duty} {
				got := r.got()
				if len(got) != 1 || got[0].Incident != 1 || got[0].Event != notify.EventRaised {
					t.Errorf("%s accepted %+v, want incident 1 raised once", name, got)
				}
			}
			items, _ := st.IncidentDeliveries(context.Background(), 2)
			if len(items) != 0 {
				t.Errorf("incident 2, acknowledged while no node ran, has deliveries %+v", items)
			}
			attempts, _ := st.IncidentAttempts(context.Background(), 1)
			nodes := map[string]int{}
			for _, at := range attempts {
				nodes[at.Node]++
			}
			if nodes["a"] != 0 || nodes["b"] != 2 {
				t.Errorf("attempts by node %v, want b's two (a died before recording its attempt)", nodes)
			}
		})
	}
}

// kill -9 while a stored digest (three incidents' pages to one receiver,
// planned in one pass) is on its way, and an acknowledgement of one of
// them while no node runs: after the lease runs out the next node sends
// the other two once, and tells the receiver of the acknowledgement (the
// dead node's request may have carried that page).
func TestKillNineMidStoredDigest(t *testing.T) {
	for _, engine := range []string{"sqlite", "pg"} {
		t.Run(engine, func(t *testing.T) {
			db, st := childStore(t, engine)
			ops := newReceiver(t)
			arrived, release := holdFirst(ops)
			pageAtOnce(t, st, ops.URL)
			in := newDispatcher(t, st, &clock{}, "events")
			in.now = time.Now
			for id := int64(1); id <= 3; id++ {
				handle(t, in, event(notify.EventRaised, id, 1, time.Now(), rules.SeverityAlarm))
			}
			a := startChild(t, db, "a") // its first pass plans the three together
			select {
			case <-arrived:
			case <-time.After(10 * time.Second):
				t.Fatal("the digest never arrived")
			}
			kill9(t, a)
			release()
			items, _ := st.IncidentDeliveries(context.Background(), 2)
			if len(items) != 1 || len(items[0].Covers) != 3 {
				t.Fatalf("incident 2's deliveries %+v, want the one stored digest of three", items)
			}
			handle(t, in, event(notify.EventAcknowledged, 2, 2, time.Now(), rules.SeverityAlarm))

			startChild(t, db, "b")
			waitUntil(t, "the other two pages and the acknowledgement", 15*time.Second, func() bool { return len(ops.got()) >= 3 })
			time.Sleep(time.Second) // anything else would arrive now
			var raised []int64
			acked := 0
			for _, g := range ops.got() {
				switch {
				case g.Event == notify.EventRaised:
					raised = append(raised, g.Incident)
				case g.Event == notify.EventAcknowledged && g.Incident == 2:
					acked++
				default:
					t.Errorf("accepted %+v", g)
				}
			}
			slices.Sort(raised)
			if !slices.Equal(raised, []int64{1, 3}) || acked != 1 {
				t.Errorf("accepted raises of %v and %d acknowledgements of 2; want [1 3] once each and one", raised, acked)
			}
			attempts, _ := st.IncidentAttempts(context.Background(), 3)
			if len(attempts) != 1 || attempts[0].Node != "b" || !attempts[0].OK {
				t.Errorf("incident 3's attempts %+v, want b's one (a died before recording its attempt)", attempts)
			}
		})
	}
}

// Two dispatcher processes on one PostgreSQL database: every step of
// every incident is sent once, by one of them.
func TestTwoNodesSendEachStepOnce(t *testing.T) {
	url := pgtest.NewDatabase(t)
	st := openPG(t, url)
	recv := []*receiver{newReceiver(t), newReceiver(t), newReceiver(t)}
	var steps []Step
	for i, r := range recv {
		steps = append(steps, Step{DelayS: i, Endpoints: []int64{mustDoc(t, st, store.NotifyEndpoint, fmt.Sprint("e", i), webhook(r.URL))}})
	}
	mustDoc(t, st, store.NotifyRule, "all", RuleSpec{Policy: mustDoc(t, st, store.NotifyPolicy, "p", PolicySpec{Steps: steps})})
	in := newDispatcher(t, st, &clock{}, "events")
	in.now = time.Now
	startChild(t, "pg "+url, "a")
	startChild(t, "pg "+url, "b")
	const incidents = 30
	for i := range incidents {
		handle(t, in, event(notify.EventRaised, int64(i+1), 1, time.Now(), rules.SeverityAlarm))
	}
	waitUntil(t, "every step delivered", 20*time.Second, func() bool {
		for _, r := range recv {
			if len(r.got()) < incidents {
				return false
			}
		}
		return true
	})
	time.Sleep(500 * time.Millisecond)
	nodes := map[string]int{}
	for i, r := range recv {
		r.mu.Lock()
		if len(r.all) != incidents || len(r.keys) != incidents {
			t.Errorf("endpoint %d: %d requests, %d keys; want %d of each", i, len(r.all), len(r.keys), incidents)
		}
		r.mu.Unlock()
	}
	for i := range incidents {
		attempts, _ := st.IncidentAttempts(context.Background(), int64(i+1))
		for _, a := range attempts {
			nodes[a.Node]++
		}
	}
	t.Logf("deliveries by node: %v", nodes)
	if nodes["a"]+nodes["b"] != 3*incidents {
		t.Errorf("attempts %v, want %d in all", nodes, 3*incidents)
	}
}
