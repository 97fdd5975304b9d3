package live

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// TestTwoNodes: two hubs on two Redis brokers with one prefix are two
// nodes of one cluster.
func TestTwoNodes(t *testing.T) {
	prefix := redisPrefix(t)
	ba, _ := newTestRedisBroker(t, prefix, "", RedisConfig{})
	bb, _ := newTestRedisBroker(t, prefix, "", RedisConfig{})
	a, b := startHub(t, ba, nil), startHub(t, bb, nil)
	v := b.dial(t, "")
	v.nextOf("snapshot", 5*time.Second)

	start := time.Now()
	a.PublishPositions(pos(1, 5.5, 5, start))
	v.waitPosition(1, 5.5, 2*time.Second)
	t.Logf("position A→B in %v", time.Since(start))

	start = time.Now()
	off := a.publishAlarm(t, 9, 1, EventRaised)
	if f := v.nextOf("alarm", 2*time.Second); f.offset(t) != off || f.AlarmID != 9 {
		t.Fatalf("alarm on B = %+v, want alarm 9 at %d", f, off)
	}
	t.Logf("alarm A→B in %v", time.Since(start))

	// A node started later finds the position in its snapshot.
	bc, _ := newTestRedisBroker(t, prefix, "", RedisConfig{})
	c := startHub(t, bc, nil)
	snap := c.dial(t, "").nextOf("snapshot", 5*time.Second)
	if !ids(snap)[1] || snap.offset(t) != off {
		t.Fatalf("late node snapshot: vehicles %v offset %s, want device 1 and offset %d", ids(snap), snap.Offset, off)
	}
	// A viewer of A resumes on B.
	va := a.dial(t, "")
	va.nextOf("snapshot", 5*time.Second)
	off2 := a.publishAlarm(t, 10, 1, EventRaised)
	va.nextOf("alarm", 2*time.Second)
	_ = va.ws.Close()
	off3 := a.publishAlarm(t, 11, 1, EventRaised)
	r := b.dial(t, fmt.Sprint("offset=", off2))
	if s := r.nextOf("snapshot", 5*time.Second); s.Recovered == nil || !*s.Recovered {
		t.Fatal("resume on another node not recovered")
	}
	if f := r.nextOf("alarm", 2*time.Second); f.offset(t) != off3 {
		t.Fatalf("resume on B: offset %s, want %d", f.Offset, off3)
	}
}

// killClients kills the connections named name (of type typ if not empty)
// from another client and returns how many it killed.
func killClients(t *testing.T, admin *redis.Client, name, typ string) int {
	t.Helper()
	ctx := context.Background()
	args := []any{"CLIENT", "LIST"}
	if typ != "" {
		args = append(args, "TYPE", typ)
	}
	list, err := admin.Do(ctx, args...).Text()
	if err != nil {
		t.Fatalf("CLIENT LIST: %v", err)
	}
	n := 0
	for _, line := range strings.Split(list, "\n") {
		var id, cname string
		for _, f := range strings.Fields(line) {
			if v, ok := strings.CutPrefix(f, "id="); ok {
				id = v
			}
			if v, ok := strings.CutPrefix(f, "name="); ok {
				cname = v
			}
		}
		if id == "" || cname != name {
			continue
		}
		if err := admin.Do(ctx, "CLIENT", "KILL", "ID", id).Err(); err == nil {
			n++
		}
	}
	return n
}

// TestRedisReconnect kills the brokers' Redis connections mid-stream (the
// closest a unit test gets to a Redis restart) and checks that positions
// and every alarm still arrive, and that nothing leaks afterwards.
func TestRedisReconnect(t *testing.T) {
	baseline := runtime.NumGoroutine()
	prefix := redisPrefix(t)
	nameA, nameB := "rt-"+strings.ReplaceAll(prefix, ":", "-")+"-a", "rt-"+strings.ReplaceAll(prefix, ":", "-")+"-b"
	ba, rdbA := newTestRedisBroker(t, prefix, nameA, RedisConfig{})
	bb, rdbB := newTestRedisBroker(t, prefix, nameB, RedisConfig{})
	admin := newRedisClient(t, redisURL(t), "")
	a, b := startHub(t, ba, nil), startHub(t, bb, nil)
	v := b.dial(t, "")
	v.nextOf("snapshot", 5*time.Second)
	va := a.dial(t, "")
	va.nextOf("snapshot", 5*time.Second)

	// Pub/Sub connection of B killed: the next position still arrives,
	// through the resubscription or the resync from the latest hash.
	// The hub is ready before its subscription is up: wait for it.
	for deadline := time.Now().Add(5 * time.Second); killClients(t, admin, nameB, "pubsub") == 0; {
		if time.Now().After(deadline) {
			t.Fatal("no pubsub connection of node B found")
		}
		time.Sleep(20 * time.Millisecond)
	}
	now := time.Now()
	a.PublishPositions(pos(1, 1, 1, now))
	v.waitPosition(1, 1, 10*time.Second)
	a.PublishPositions(pos(1, 2, 1, now.Add(time.Second)))
	v.waitPosition(1, 2, 10*time.Second)

	// All connections of B killed (the XREAD BLOCK among them) while A
	// appends: B resumes the stream from its last ID and misses nothing.
	if n := killClients(t, admin, nameB, ""); n == 0 {
		t.Fatal("no connection of node B found")
	}
	var want []int64
	publish := func(id int64) {
		for try := 0; ; try++ {
			off, err := a.AppendAlarm(context.Background(), AlarmEvent{Type: EventRaised, AlarmID: id, DeviceID: 1, Time: time.Now()})
			if err == nil {
				want = append(want, off)
				return
			}
			if try == 20 {
				t.Fatalf("publish alarm %d: %v", id, err)
			}
			time.Sleep(100 * time.Millisecond) // the server's retry
		}
	}
	for i := range 5 {
		publish(int64(100 + i))
	}
	// Now A's connections too: its own tail and its appends recover.
	if n := killClients(t, admin, nameA, ""); n == 0 {
		t.Fatal("no connection of node A found")
	}
	for i := range 5 {
		publish(int64(200 + i))
	}
	for _, c := range []*client{v, va} {
		for i, w := range want {
			if f := c.nextOf("alarm", 10*time.Second); f.offset(t) != w {
				t.Fatalf("alarm %d after reconnect: offset %s, want %d", i, f.Offset, w)
			}
		}
		c.expectNone("alarm", 300*time.Millisecond)
	}
	a.PublishPositions(pos(1, 3, 1, now.Add(2*time.Second)))
	v.waitPosition(1, 3, 10*time.Second)

	// Tear everything down by hand and check that no goroutine is left.
	for _, c := range []*client{v, va} {
		_ = c.ws.Close()
	}
	for _, h := range []*testHub{a, b} {
		h.stop()
		h.srv.Close()
	}
	for _, r := range []*redis.Client{rdbA, rdbB, admin} {
		_ = r.Close()
	}
	deadline := time.Now().Add(10 * time.Second)
	for runtime.NumGoroutine() > baseline {
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<20)
			t.Fatalf("%d goroutines left, %d before:\n%s", runtime.NumGoroutine(), baseline, buf[:runtime.Stack(buf, true)])
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestRedisDown: with Redis unreachable, appends fail with an error, the
// broker's Run keeps retrying without crashing and stops on cancel.
func TestRedisDown(t *testing.T) {
	rdb := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1", DialTimeout: 200 * time.Millisecond, MaxRetries: -1})
	defer rdb.Close()
	b := NewRedisBroker(rdb, RedisConfig{Prefix: "radtrack:test:down", Block: 100 * time.Millisecond, Logger: testLogger(t)})
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if _, err := b.AppendAlarm(ctx, AlarmEvent{Type: EventRaised, AlarmID: 1}); err == nil {
		t.Fatal("AppendAlarm without Redis succeeded")
	}
	if err := b.PublishPositions(ctx, []Position{pos(1, 1, 1, time.Now())}); err == nil {
		t.Fatal("PublishPositions without Redis succeeded")
	}
	if _, err := b.ReadAlarmsAfter(ctx, 5, 10); err == nil || errors.Is(err, ErrOffsetNotRetained) {
		t.Fatalf("ReadAlarmsAfter without Redis: %v, want a connection error", err)
	}
	runCtx, stop := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- b.Run(runCtx, 0, Sink{}) }()
	time.Sleep(500 * time.Millisecond)
	stop()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Run: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not stop after cancel")
	}

	// A hub on it is not ready and answers 503, but does not crash.
	h, err := NewHub(Config{Broker: b, OpenAlarms: newAlarmStore().OpenAlarms, Logger: testLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	hctx, hstop := context.WithTimeout(context.Background(), 500*time.Millisecond)
	defer hstop()
	if err := h.Run(hctx); err != nil {
		t.Fatalf("hub Run: %v", err)
	}
	select {
	case <-h.Ready():
		t.Fatal("hub ready without Redis")
	default:
	}
}
