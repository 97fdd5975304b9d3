package live

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/radtrack/radtrack/internal/faultproxy"
	"github.com/radtrack/radtrack/internal/redistest"
)

// newBrokerAt returns a Redis broker under prefix on the Redis at rawURL.
func newBrokerAt(t *testing.T, rawURL, prefix string) (*RedisBroker, *redis.Client) {
	t.Helper()
	opt, err := redis.ParseURL(rawURL)
	if err != nil {
		t.Fatal(err)
	}
	opt.ContextTimeoutEnabled = true // as app's broker: deadlines bound socket waits
	rdb := redis.NewClient(opt)
	t.Cleanup(func() { _ = rdb.Close() })
	return NewRedisBroker(rdb, RedisConfig{Prefix: prefix, Block: 200 * time.Millisecond, Logger: testLogger(t)}), rdb
}

// publishLocal publishes an event the way a node does (never waiting).
func (th *testHub) publishLocal(id, dev int64, typ string) {
	th.PublishAlarm(AlarmEvent{Type: typ, AlarmID: id, DeviceID: dev, Time: time.Now(), Payload: th.store.set(id, typ)})
}

// TestLocalAlarmsWhileLogUnreachable: node A loses Redis (connections cut,
// new ones refused). Its events reach its own viewers at once under
// node-local offsets; node B gets them in order once Redis is back, and
// A's viewers then get one "offset" frame instead of the events again.
// Resumes from either kind of offset are exact.
func TestLocalAlarmsWhileLogUnreachable(t *testing.T) {
	prefix := redisPrefix(t)
	ru, err := url.Parse(redisURL(t))
	if err != nil {
		t.Fatal(err)
	}
	proxy := faultproxy.Start(t, ru.Host)
	viaProxy := *ru
	viaProxy.Host = proxy.Addr()
	ba, _ := newBrokerAt(t, viaProxy.String(), prefix)
	bb, _ := newTestRedisBroker(t, prefix, "", RedisConfig{})
	a, b := startHub(t, ba, nil), startHub(t, bb, nil)
	va, vb, early := a.dial(t, ""), b.dial(t, ""), a.dial(t, "")
	snapA := va.nextOf("snapshot", 5*time.Second)
	vb.nextOf("snapshot", 5*time.Second)
	early.nextOf("snapshot", 5*time.Second)

	proxy.Down()
	start := time.Now()
	a.publishLocal(1, 1, EventRaised)
	f1 := va.nextOf("alarm", 2*time.Second)
	t.Logf("alarm on A's viewer %v after publishing, Redis unreachable", time.Since(start).Round(time.Millisecond))
	if f1.AlarmID != 1 || f1.Event != EventRaised || !isLocalOffset(f1.offset(t)) || f1.offset(t) <= snapA.offset(t) {
		t.Fatalf("first alarm on A = %+v, want alarm 1 raised under a node-local offset above %s", f1, snapA.Offset)
	}
	e1 := early.nextOf("alarm", 2*time.Second)
	if e1.Offset != f1.Offset {
		t.Fatalf("second viewer of A got offset %s, first %s", e1.Offset, f1.Offset)
	}
	_ = early.ws.Close()
	a.publishLocal(1, 1, EventUpdated)
	f2 := va.nextOf("alarm", 2*time.Second)
	if f2.Event != EventUpdated || !isLocalOffset(f2.offset(t)) || f2.offset(t) <= f1.offset(t) {
		t.Fatalf("second alarm on A = %+v, want the update under a local offset above %s", f2, f1.Offset)
	}
	vb.expectNone("alarm", 500*time.Millisecond)

	proxy.Up()
	g1 := vb.nextOf("alarm", 15*time.Second)
	g2 := vb.nextOf("alarm", 5*time.Second)
	if g1.AlarmID != 1 || g1.Event != EventRaised || g2.Event != EventUpdated || isLocalOffset(g1.offset(t)) || g2.offset(t) <= g1.offset(t) {
		t.Fatalf("B got %+v then %+v, want the raise then the update under log offsets", g1, g2)
	}
	o := va.nextOf("offset", 15*time.Second)
	if o.Offset != g2.Offset {
		t.Fatalf("A's viewer moved to offset %s, want the log offset %s of the last event", o.Offset, g2.Offset)
	}
	va.expectNone("alarm", 500*time.Millisecond)
	logged, err := bb.ReadAlarmsAfter(context.Background(), snapA.offset(t), 100)
	if err != nil {
		t.Fatal(err)
	}
	if len(logged) != 2 || logged[0].EID == "" || logged[0].EID == logged[1].EID {
		t.Fatalf("log after the outage holds %d events (%+v), want the 2 published, each once with its own id", len(logged), logged)
	}

	// The viewer that left holding A's local offset resumes on A: it gets
	// exactly what A's viewers got after it.
	r := a.dial(t, "offset="+e1.Offset)
	if s := r.nextOf("snapshot", 5*time.Second); s.Recovered == nil || !*s.Recovered || s.Offset != e1.Offset {
		t.Fatalf("resume on A from its local offset: %+v, want recovered at %s", s, e1.Offset)
	}
	if f := r.next(5 * time.Second); f.Type != "alarm" || f.Offset != f2.Offset || f.Event != EventUpdated {
		t.Fatalf("replay 1 = %+v, want the update at %s", f, f2.Offset)
	}
	if f := r.next(5 * time.Second); f.Type != "offset" || f.Offset != g2.Offset {
		t.Fatalf("replay 2 = %+v, want the offset frame %s", f, g2.Offset)
	}
	r.expectNone("alarm", 300*time.Millisecond)
	// A local offset means nothing to another node: full snapshot there.
	if s := b.dial(t, "offset="+e1.Offset).nextOf("snapshot", 5*time.Second); s.Recovered == nil || *s.Recovered || !s.HasAlarms {
		t.Fatalf("resume on B from A's local offset: %+v, want recovered:false with the alarm list", s)
	}
	// The log offset A's viewer holds now resumes anywhere, nothing missed.
	rb := b.dial(t, "offset="+o.Offset)
	if s := rb.nextOf("snapshot", 5*time.Second); s.Recovered == nil || !*s.Recovered {
		t.Fatalf("resume on B from %s: %+v, want recovered", o.Offset, s)
	}
	rb.expectNone("alarm", 300*time.Millisecond)

	// Back to normal: A's viewers get log offsets again, the same as B's.
	a.publishLocal(2, 1, EventRaised)
	n1, n2 := va.nextOf("alarm", 5*time.Second), vb.nextOf("alarm", 5*time.Second)
	if n1.AlarmID != 2 || n1.Offset != n2.Offset || isLocalOffset(n1.offset(t)) {
		t.Fatalf("after recovery A's viewer got %+v, B's %+v: want the same log offset", n1, n2)
	}
	if f := rb.nextOf("alarm", 5*time.Second); f.Offset != n2.Offset {
		t.Fatalf("resumed viewer on B got %s, want %s", f.Offset, n2.Offset)
	}
}

// TestLocalFallbackWhenLogHangs: Redis freezes (SIGSTOP: connections stay
// open, nothing answers, appends hang until they time out). An event still
// reaches this node's viewers within LocalFallback; when Redis runs again,
// the appends that timed out and their retries, all buffered in its
// sockets, leave the event in the log once, and the viewers get it once.
func TestLocalFallbackWhenLogHangs(t *testing.T) {
	srv := redistest.Start(t)
	b, rdb := newBrokerAt(t, srv.URL(), "radtrack:test:hang")
	a := startHub(t, b, func(c *Config) { c.PublishTimeout = 300 * time.Millisecond })
	v := a.dial(t, "")
	snap := v.nextOf("snapshot", 5*time.Second)
	// Idle connections in the pool, as a busy node has: each retried
	// append then goes out on one of them (a new connection would hang in
	// its handshake instead) and waits in the frozen server's socket.
	var warm sync.WaitGroup
	for range 8 {
		warm.Go(func() { _ = rdb.Ping(context.Background()).Err() })
	}
	warm.Wait()

	srv.Freeze()
	start := time.Now()
	a.publishLocal(7, 1, EventRaised)
	f := v.nextOf("alarm", 3*time.Second)
	took := time.Since(start)
	t.Logf("alarm on the viewer %v after publishing, Redis frozen", took.Round(time.Millisecond))
	if took > 2*time.Second || f.AlarmID != 7 || !isLocalOffset(f.offset(t)) {
		t.Fatalf("alarm %+v after %v, want alarm 7 under a local offset within 2 s", f, took)
	}
	time.Sleep(1500 * time.Millisecond) // several appends time out into the frozen server's sockets
	srv.Thaw()

	o := v.nextOf("offset", 15*time.Second)
	v.expectNone("alarm", time.Second)
	logged, err := b.ReadAlarmsAfter(context.Background(), snap.offset(t), 100)
	if err != nil {
		t.Fatal(err)
	}
	if len(logged) != 1 || fmt.Sprint(logged[0].Offset) != o.Offset {
		t.Fatalf("log holds %d events %+v, want the one event once, at the viewer's offset %s", len(logged), logged, o.Offset)
	}
}

// TestChangeNotices: a notice published on one node reaches every node's
// sink, and a re-established subscription is reported as a resync.
func TestChangeNotices(t *testing.T) {
	brokerKinds(t, func(t *testing.T, newBroker func(*testing.T) Broker) {
		recv := newBroker(t)
		send := recv
		var name string
		var rdb *redis.Client
		if rb, ok := recv.(*RedisBroker); ok {
			name = "rt-changes-" + rb.node
			var prefix string
			prefix = rb.cfg.Prefix
			recv, rdb = newTestRedisBroker(t, prefix, name, RedisConfig{})
			send = rb
		}
		got := make(chan Change, 10)
		resyncs := make(chan struct{}, 10)
		runBroker(t, recv, 0, Sink{
			Changes: func(c Change) { got <- c },
			Resync:  func() { resyncs <- struct{}{} },
		})
		if rdb != nil {
			select {
			case <-resyncs: // subscribed: notices from now on arrive
			case <-time.After(5 * time.Second):
				t.Fatal("no resync after subscribing")
			}
		} else {
			time.Sleep(50 * time.Millisecond) // the memory broker registers its sink in Run
		}
		ctx := context.Background()
		cred := Change{Kind: ChangeCredential, Data: json.RawMessage(`{"session_hash":"AQI=","user_id":7}`)}
		for _, c := range []Change{{Kind: ChangeDevice, ID: 42}, {Kind: ChangeConfig}, cred} {
			if err := send.PublishChange(ctx, c); err != nil {
				t.Fatal(err)
			}
			select {
			case g := <-got:
				if !reflect.DeepEqual(g, c) {
					t.Fatalf("got %+v, want %+v", g, c)
				}
			case <-time.After(5 * time.Second):
				t.Fatalf("notice %+v not delivered", c)
			}
		}
		if err := send.PublishChange(ctx, Change{Kind: "fences"}); err == nil {
			t.Fatal("a notice of an unknown kind was published")
		}
		if err := send.PublishChange(ctx, Change{Kind: ChangeCredential, Data: json.RawMessage(`{"broken`)}); err == nil {
			t.Fatal("a credential notice that is not JSON was published")
		}
		if rdb == nil {
			return
		}
		admin := newRedisClient(t, redisURL(t), "")
		defer admin.Close()
		if killClients(t, admin, name, "pubsub") == 0 {
			t.Fatal("no pubsub connection to kill")
		}
		select {
		case <-resyncs:
		case <-time.After(10 * time.Second):
			t.Fatal("no resync after the subscription was cut")
		}
	})
}

// TestHeartbeat: an idle connection gets heartbeat frames; one that is
// sent positions every tick does not need them.
func TestHeartbeat(t *testing.T) {
	th := startHub(t, NewMemoryBroker(10), func(c *Config) { c.Heartbeat = 150 * time.Millisecond })
	c := th.dial(t, "")
	c.nextOf("snapshot", 5*time.Second)
	start := time.Now()
	for range 4 {
		c.nextOf("heartbeat", 2*time.Second)
	}
	// One per tick (a heartbeat does not count as traffic): 0.6 s.
	if d := time.Since(start); d > 1500*time.Millisecond {
		t.Fatalf("four heartbeats took %v at a 150 ms interval", d)
	}
	stop := make(chan struct{})
	defer close(stop)
	go func() {
		now := time.Now()
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			case <-time.After(10 * time.Millisecond):
				th.PublishPositions(pos(1, float64(i%100), 1, now.Add(time.Duration(i)*time.Millisecond)))
			}
		}
	}()
	c.nextOf("positions", 2*time.Second)
	c.expectNone("heartbeat", time.Second)
}

// TestUnloggedBound: while the log cannot take them, a node's queued events
// are bounded by dropping the oldest updates, never a raise or an end.
func TestUnloggedBound(t *testing.T) {
	h, err := NewHub(Config{Broker: NewMemoryBroker(10), OpenAlarms: newAlarmStore().OpenAlarms, MaxUnlogged: 3})
	if err != nil {
		t.Fatal(err)
	}
	// Not running: nothing is appended.
	for i, typ := range []string{EventRaised, EventUpdated, EventUpdated, EventConditionEnded, EventUpdated, EventRaised, EventResolved} {
		h.PublishAlarm(AlarmEvent{Type: typ, AlarmID: int64(i)})
	}
	var got []string
	h.mu.RLock()
	for _, le := range h.toAppend {
		got = append(got, fmt.Sprintf("%d:%s", le.ev.AlarmID, le.ev.Type))
	}
	unlogged := len(h.unlogged)
	h.mu.RUnlock()
	want := "[0:raised 3:condition_ended 5:raised 6:resolved]"
	if fmt.Sprint(got) != want || unlogged != len(got) || h.UnloggedAlarms() != len(got) {
		t.Fatalf("queued %v (%d unlogged), want %s", got, unlogged, want)
	}
}

// TestResetForgetsAppendedEarlyEvents: a gap in the log (Redis lost its
// data) may have swallowed events already appended: the hub stops waiting
// for their copies, keeps those still to append, and forgets its ring.
func TestResetForgetsAppendedEarlyEvents(t *testing.T) {
	h, err := NewHub(Config{Broker: NewMemoryBroker(10), OpenAlarms: newAlarmStore().OpenAlarms})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		h.PublishAlarm(AlarmEvent{Type: EventRaised, AlarmID: int64(i + 1)})
	}
	h.mu.Lock()
	h.toAppend = removeAt(h.toAppend, 0) // events 1 and 2 were appended
	h.toAppend = removeAt(h.toAppend, 0)
	if n := h.deliverAllEarlyLocked(); n != 3 || h.provisional != 3 || len(h.ring) != 3 {
		t.Fatalf("delivered early %d, provisional %d, ring %d; want 3, 3, 3", n, h.provisional, len(h.ring))
	}
	last := h.ring[2].offset
	h.mu.Unlock()

	h.resetAlarms(12345)
	h.mu.RLock()
	defer h.mu.RUnlock()
	if len(h.unlogged) != 1 || h.unlogged[0].ev.AlarmID != 3 || h.provisional != 1 || len(h.toAppend) != 1 {
		t.Fatalf("after the reset: %d unlogged, provisional %d, %d to append; want only event 3", len(h.unlogged), h.provisional, len(h.toAppend))
	}
	if _, ok := h.ringAfterLocked(last); ok || len(h.ring) != 0 || h.lastLog != 12345 || h.lastIssued != last {
		t.Fatalf("after the reset the ring still answers (%d items), lastLog %d, lastIssued %d", len(h.ring), h.lastLog, h.lastIssued)
	}
}
