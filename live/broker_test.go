package live

import (
	"context"
	"encoding/json"
	"errors"
	"sync"
	"testing"
	"time"
)

// recorder is a Sink that remembers what it got.
type recorder struct {
	mu     sync.Mutex
	alarms []AlarmEvent
	resets []int64
	resync int
}

func (r *recorder) sink() Sink {
	return Sink{
		Alarms: func(evs []AlarmEvent) { r.mu.Lock(); r.alarms = append(r.alarms, evs...); r.mu.Unlock() },
		Reset:  func(last int64) { r.mu.Lock(); r.resets = append(r.resets, last); r.mu.Unlock() },
		Resync: func() { r.mu.Lock(); r.resync++; r.mu.Unlock() },
	}
}

func (r *recorder) waitAlarms(t *testing.T, n int) []AlarmEvent {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		r.mu.Lock()
		got := append([]AlarmEvent(nil), r.alarms...)
		r.mu.Unlock()
		if len(got) >= n {
			return got
		}
		if time.Now().After(deadline) {
			t.Fatalf("sink got %d alarm events, want %d", len(got), n)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func runBroker(t *testing.T, b Broker, after int64, s Sink) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = b.Run(ctx, after, s) }()
	t.Cleanup(func() {
		cancel()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			t.Error("broker Run did not stop")
		}
	})
}

func TestBrokerAlarmLog(t *testing.T) {
	brokerKinds(t, func(t *testing.T, newBroker func(*testing.T) Broker) {
		b := newBroker(t)
		ctx := context.Background()
		start, err := b.LastAlarmOffset(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := b.AppendAlarm(ctx, AlarmEvent{Type: "exploded"}); err == nil {
			t.Error("unknown event type accepted")
		}
		var offs []int64
		for i := range 5 {
			off, err := b.AppendAlarm(ctx, AlarmEvent{Type: EventRaised, AlarmID: int64(i), DeviceID: 3, Time: time.Now(), Payload: json.RawMessage(`{"n":1}`)})
			if err != nil {
				t.Fatal(err)
			}
			if len(offs) > 0 && off <= offs[len(offs)-1] || off <= start {
				t.Fatalf("offset %d not increasing (start %d, previous %v)", off, start, offs)
			}
			offs = append(offs, off)
		}
		if last, _ := b.LastAlarmOffset(ctx); last != offs[4] {
			t.Errorf("LastAlarmOffset = %d, want %d", last, offs[4])
		}
		evs, err := b.ReadAlarmsAfter(ctx, offs[1], 2)
		if err != nil || len(evs) != 2 || evs[0].Offset != offs[2] || evs[1].Offset != offs[3] || evs[0].AlarmID != 2 {
			t.Fatalf("ReadAlarmsAfter(2nd, 2) = %+v, %v", evs, err)
		}
		if string(evs[0].Payload) != `{"n":1}` || evs[0].DeviceID != 3 || evs[0].Type != EventRaised {
			t.Errorf("event round trip: %+v", evs[0])
		}
		if evs, err := b.ReadAlarmsAfter(ctx, start, 0); err != nil || len(evs) != 5 {
			t.Fatalf("ReadAlarmsAfter(start) = %d events, %v; want 5", len(evs), err)
		}
		if evs, err := b.ReadAlarmsAfter(ctx, offs[4], 10); err != nil || len(evs) != 0 {
			t.Fatalf("ReadAlarmsAfter(head) = %+v, %v", evs, err)
		}
		for _, bad := range []int64{offs[4] + 1000<<seqBits, start - 1<<seqBits, 0} {
			if _, err := b.ReadAlarmsAfter(ctx, bad, 10); !errors.Is(err, ErrOffsetNotRetained) {
				t.Errorf("ReadAlarmsAfter(%d) = %v, want ErrOffsetNotRetained", bad, err)
			}
		}

		// Run replays from an offset, then follows.
		var rec recorder
		runBroker(t, b, offs[2], rec.sink())
		more, err := b.AppendAlarm(ctx, AlarmEvent{Type: EventResolved, AlarmID: 9})
		if err != nil {
			t.Fatal(err)
		}
		got := rec.waitAlarms(t, 3)
		if got[0].Offset != offs[3] || got[1].Offset != offs[4] || got[2].Offset != more || got[2].Type != EventResolved {
			t.Fatalf("Run delivered %+v", got)
		}
	})
}

func TestBrokerLatestPositions(t *testing.T) {
	brokerKinds(t, func(t *testing.T, newBroker func(*testing.T) Broker) {
		b := newBroker(t)
		ctx := context.Background()
		now := time.Now().UTC()
		if err := b.PublishPositions(ctx, []Position{pos(1, 1, 1, now), pos(2, 2, 2, now)}); err != nil {
			t.Fatal(err)
		}
		if err := b.PublishPositions(ctx, []Position{pos(1, 1.5, 1, now.Add(time.Second))}); err != nil {
			t.Fatal(err)
		}
		ps, err := b.LatestPositions(ctx)
		if err != nil || len(ps) != 2 {
			t.Fatalf("LatestPositions = %v, %v", ps, err)
		}
		for _, p := range ps {
			if p.DeviceID == 1 && (p.Lon != 1.5 || !p.Time.Equal(now.Add(time.Second)) || p.Name != "car 1") {
				t.Errorf("device 1 = %+v", p)
			}
		}
	})
}

func TestMemoryBrokerTrim(t *testing.T) {
	b := NewMemoryBroker(3)
	ctx := context.Background()
	var offs []int64
	for i := range 5 {
		off, _ := b.AppendAlarm(ctx, AlarmEvent{Type: EventRaised, AlarmID: int64(i)})
		offs = append(offs, off)
	}
	if _, err := b.ReadAlarmsAfter(ctx, offs[0], 10); !errors.Is(err, ErrOffsetNotRetained) {
		t.Errorf("after an evicted offset: %v", err)
	}
	if evs, err := b.ReadAlarmsAfter(ctx, offs[1], 10); err != nil || len(evs) != 3 {
		t.Errorf("after the newest evicted offset: %d events, %v; want 3", len(evs), err)
	}
	var rec recorder
	runBroker(t, b, offs[0], rec.sink())
	rec.waitAlarms(t, 3)
	rec.mu.Lock()
	defer rec.mu.Unlock()
	if len(rec.resets) != 1 || rec.resets[0] != offs[1] {
		t.Errorf("resets = %v, want [%d]", rec.resets, offs[1])
	}
}

// TestRedisLogGaps: trimming past a reader and a stream lost with Redis's
// data are both detected, by ReadAlarmsAfter and by the tail.
func TestRedisLogGaps(t *testing.T) {
	prefix := redisPrefix(t)
	b, rdb := newTestRedisBroker(t, prefix, "", RedisConfig{StreamMaxLen: 10})
	ctx := context.Background()
	old, err := b.AppendAlarm(ctx, AlarmEvent{Type: EventRaised, AlarmID: 1})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 300 {
		if _, err := b.AppendAlarm(ctx, AlarmEvent{Type: EventUpdated, AlarmID: int64(i)}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := b.ReadAlarmsAfter(ctx, old, 10); !errors.Is(err, ErrOffsetNotRetained) {
		t.Fatalf("trimmed offset: %v, want ErrOffsetNotRetained", err)
	}
	var rec recorder
	runBroker(t, b, old, rec.sink())
	deadline := time.Now().Add(5 * time.Second)
	for {
		rec.mu.Lock()
		n := len(rec.resets)
		rec.mu.Unlock()
		if n == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("tail from a trimmed offset: %d resets, want 1", n)
		}
		time.Sleep(5 * time.Millisecond)
	}

	// Redis loses the stream (restart without persistence).
	head, _ := b.LastAlarmOffset(ctx)
	before := len(rec.waitAlarms(t, 1))
	if err := rdb.Del(ctx, prefix+":alarms").Err(); err != nil {
		t.Fatal(err)
	}
	next, err := b.AppendAlarm(ctx, AlarmEvent{Type: EventRaised, AlarmID: 777})
	if err != nil {
		t.Fatal(err)
	}
	got := rec.waitAlarms(t, before+1)
	if got[len(got)-1].Offset != next || got[len(got)-1].AlarmID != 777 {
		t.Fatalf("after the restart the tail delivered %+v", got[len(got)-1])
	}
	rec.mu.Lock()
	resets := len(rec.resets)
	rec.mu.Unlock()
	if resets != 2 {
		t.Errorf("restarted log: %d resets, want 2", resets)
	}
	if _, err := b.ReadAlarmsAfter(ctx, head, 10); !errors.Is(err, ErrOffsetNotRetained) {
		t.Errorf("offset of the lost log: %v, want ErrOffsetNotRetained", err)
	}
}
