package live

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

func TestSnapshotThenStream(t *testing.T) {
	brokerKinds(t, func(t *testing.T, newBroker func(*testing.T) Broker) {
		th := startHub(t, newBroker(t), nil)
		now := time.Now().UTC().Truncate(time.Millisecond)
		th.PublishPositions(pos(1, 10, 50, now), pos(2, 11, 51, now))
		th.store.set(100, EventRaised)

		c := th.dial(t, "")
		snap := c.nextOf("snapshot", 5*time.Second)
		if snap.Recovered != nil {
			t.Errorf("fresh snapshot has recovered=%v", *snap.Recovered)
		}
		if len(snap.Alarms) != 1 || !strings.Contains(string(snap.Alarms[0]), `"id":100`) {
			t.Errorf("snapshot alarms = %s, want alarm 100", snap.Alarms)
		}
		got := ids(snap)
		if !got[1] || !got[2] || len(got) != 2 {
			t.Fatalf("snapshot vehicles = %v, want 1 and 2", got)
		}
		if len(snap.Positions.Name) != 2 || len(snap.Positions.UID) != 2 {
			t.Errorf("snapshot lacks names: %+v", snap.Positions)
		}
		if snap.Positions.Spd[0] != nil {
			t.Errorf("absent speed not null")
		}
		snapOff := snap.offset(t)

		th.PublishPositions(pos(1, 10.5, 50, now.Add(time.Second)))
		f := c.waitPosition(1, 10.5, 5*time.Second)
		if f.Full || f.Positions.Name != nil {
			t.Errorf("incremental frame is full or carries names: %+v", f)
		}
		for i, id := range f.Positions.ID {
			if id == 1 && *f.Positions.T[i] != now.Add(time.Second).UnixMilli() {
				t.Errorf("time = %d", *f.Positions.T[i])
			}
		}

		off := th.publishAlarm(t, 101, 2, EventRaised)
		a := c.nextOf("alarm", 5*time.Second)
		if a.offset(t) != off || a.AlarmID != 101 || a.DeviceID != 2 || a.Event != EventRaised {
			t.Fatalf("alarm frame = %+v, want alarm 101 at offset %d", a, off)
		}
		if off <= snapOff {
			t.Errorf("alarm offset %d not after snapshot offset %d", off, snapOff)
		}
		if !strings.Contains(string(a.Alarm), `"id":101`) {
			t.Errorf("alarm payload = %s", a.Alarm)
		}
	})
}

func TestBBoxFilterAndSubscriptionChange(t *testing.T) {
	brokerKinds(t, func(t *testing.T, newBroker func(*testing.T) Broker) {
		th := startHub(t, newBroker(t), nil)
		t0 := time.Now()
		th.PublishPositions(pos(1, 10, 10, t0), pos(2, 50, 50, t0))
		c := th.dial(t, "")
		c.nextOf("snapshot", 5*time.Second)

		c.send(`{"v":1,"type":"subscribe","id":1,"bbox":[0,0,20,20]}`)
		if r := c.nextOf("ok", 5*time.Second); r.Re != "subscribe" || string(r.ID) != "1" {
			t.Fatalf("reply = %+v", r)
		}
		full := c.nextOf("positions", 5*time.Second)
		if !full.Full || len(ids(full)) != 1 || !ids(full)[1] {
			t.Fatalf("after subscribe: %+v, want a full frame with device 1 only", full.Positions)
		}

		// Device 2 moves outside the box, device 1 inside: only 1 is sent.
		// 21 is outside the box but inside its 10% margin.
		for i := 1; i <= 5; i++ {
			ti := t0.Add(time.Duration(i) * time.Second)
			th.PublishPositions(pos(1, 10+float64(i)/10, 10, ti), pos(2, 50, 50+float64(i)/10, ti), pos(3, 21, 10, ti))
			f := c.nextOf("positions", 5*time.Second)
			if got := ids(f); got[2] || !got[1] {
				t.Fatalf("tick %d: vehicles %v, want 1 (and 3) but never 2", i, got)
			}
		}
		th.PublishPositions(pos(3, 25, 10, t0.Add(10*time.Second))) // leaves the margin
		c.expectNone("positions", 150*time.Millisecond)

		// Switch to a device list far from the box.
		c.send(`{"type":"subscribe","devices":[2]}`)
		c.nextOf("ok", 5*time.Second)
		full = c.nextOf("positions", 5*time.Second)
		if !full.Full || len(ids(full)) != 1 || !ids(full)[2] {
			t.Fatalf("after device subscribe: %v, want only 2", ids(full))
		}
		th.PublishPositions(pos(1, 11, 11, t0.Add(20*time.Second)), pos(2, 51, 51, t0.Add(20*time.Second)))
		f := c.nextOf("positions", 5*time.Second)
		if got := ids(f); got[1] || !got[2] {
			t.Fatalf("vehicles %v, want 2 only", got)
		}

		c.send(`{"type":"subscribe","bbox":[0,0,200,20]}`)
		if r := c.nextOf("error", 5*time.Second); !strings.Contains(r.Error, "bbox") {
			t.Fatalf("bad bbox reply = %+v", r)
		}
	})
}

// TestSubscribeOkBeforeItsFullFrame: a subscription's ok comes before
// the full positions frame it asks for (PROTOCOL.md), however the reply
// and a tick meet. The reader used to switch the subscription before its
// ok was queued, so a tick in between sent the full frame first and a
// client waiting for the ok read past it.
func TestSubscribeOkBeforeItsFullFrame(t *testing.T) {
	th := startHub(t, NewMemoryBroker(1000), func(c *Config) { c.Tick = time.Millisecond })
	th.PublishPositions(pos(1, 10, 10, time.Now()))
	c := th.dial(t, "")
	c.nextOf("snapshot", 5*time.Second)
	for i := 1; i <= 200; i++ {
		c.send(fmt.Sprintf(`{"type":"subscribe","id":%d,"bbox":[0,0,%d,20]}`, i, 20+i%2))
		for acked := false; ; {
			f := c.next(5 * time.Second)
			if f.Type == "ok" && string(f.ID) == strconv.Itoa(i) {
				acked = true
			}
			if f.Type == "positions" && f.Full {
				if !acked {
					t.Fatalf("subscribe %d: its full frame came before its ok", i)
				}
				break
			}
		}
	}
}

func TestAlarmDeliveredRegardlessOfBBox(t *testing.T) {
	brokerKinds(t, func(t *testing.T, newBroker func(*testing.T) Broker) {
		th := startHub(t, newBroker(t), nil)
		th.PublishPositions(pos(7, 139.7, 35.6, time.Now()))
		c := th.dial(t, "")
		c.nextOf("snapshot", 5*time.Second)
		c.send(`{"type":"subscribe","bbox":[-10,40,0,50],"devices":[]}`)
		c.nextOf("ok", 5*time.Second)
		off := th.publishAlarm(t, 5, 7, EventRaised)
		a := c.nextOf("alarm", 5*time.Second)
		if a.offset(t) != off || a.DeviceID != 7 {
			t.Fatalf("alarm = %+v, want device 7 offset %d", a, off)
		}
	})
}

// TestResumeExactlyOnce: a viewer away while 50 alarms are published
// resumes with its last offset and gets all 50, in order, once.
func TestResumeExactlyOnce(t *testing.T) {
	brokerKinds(t, func(t *testing.T, newBroker func(*testing.T) Broker) {
		th := startHub(t, newBroker(t), nil)
		for _, how := range []string{"query", "message"} {
			c := th.dial(t, "")
			c.nextOf("snapshot", 5*time.Second)
			first := th.publishAlarm(t, 1, 1, EventRaised)
			if a := c.nextOf("alarm", 5*time.Second); a.offset(t) != first {
				got := a.offset(t)
				t.Fatalf("first alarm offset %d, want %d", got, first)
			}
			_ = c.ws.Close()

			var want []int64
			for i := range 50 {
				want = append(want, th.publishAlarm(t, int64(1000+i), int64(i%5), EventRaised))
			}

			var r *client
			if how == "query" {
				r = th.dial(t, fmt.Sprintf("offset=%d", first))
			} else {
				r = th.dial(t, "")
				if s := r.nextOf("snapshot", 5*time.Second); s.HasAlarms == false {
					t.Fatal("fresh connection without alarm list")
				}
				r.send(fmt.Sprintf(`{"v":1,"type":"resume","offset":"%d"}`, first))
			}
			snap := r.nextOf("snapshot", 5*time.Second)
			if snap.Recovered == nil || !*snap.Recovered || snap.offset(t) != first || snap.HasAlarms {
				t.Fatalf("%s: resume snapshot recovered=%v offset=%s alarms=%v, want recovered at %d",
					how, snap.Recovered, snap.Offset, snap.HasAlarms, first)
			}
			for i, w := range want {
				a := r.nextOf("alarm", 5*time.Second)
				if a.offset(t) != w || a.AlarmID != int64(1000+i) {
					t.Fatalf("%s: replay %d: alarm %d offset %s, want alarm %d offset %d", how, i, a.AlarmID, a.Offset, 1000+i, w)
				}
			}
			last := th.publishAlarm(t, 2000, 1, EventUpdated)
			if a := r.nextOf("alarm", 5*time.Second); a.offset(t) != last {
				t.Fatalf("%s: after replay got offset %s, want the live %d (duplicate?)", how, a.Offset, last)
			}
			r.expectNone("alarm", 200*time.Millisecond)
			_ = r.ws.Close()
		}
	})
}

func TestResumeTooOld(t *testing.T) {
	brokerKinds(t, func(t *testing.T, newBroker func(*testing.T) Broker) {
		var b Broker
		if t.Name() == "TestResumeTooOld/memory" {
			b = NewMemoryBroker(10)
		} else {
			b, _ = newTestRedisBroker(t, redisPrefix(t), "", RedisConfig{StreamMaxLen: 10})
		}
		th := startHub(t, b, nil)
		old := th.publishAlarm(t, 1, 1, EventRaised)
		// Redis trims whole radix nodes (100 entries): publish well past that.
		for i := range 300 {
			th.publishAlarm(t, int64(10+i), 1, EventUpdated)
			if i%2 == 0 {
				th.store.set(int64(10+i), EventResolved)
			}
		}
		head := th.publishAlarm(t, 2, 1, EventRaised)
		// With a log this short the node's own tail may be trimmed past
		// (and rightly kick everyone): let it catch up first.
		th.waitOffset(t, head)

		for _, off := range []string{fmt.Sprint(old), "0", fmt.Sprint(head + 1000<<seqBits)} {
			open, _ := th.store.OpenAlarms(context.Background(), Viewer{})
			c := th.dial(t, "offset="+off)
			snap := c.nextOf("snapshot", 5*time.Second)
			if snap.Recovered == nil || *snap.Recovered {
				t.Fatalf("resume from %s: recovered=%v, want false", off, snap.Recovered)
			}
			if len(snap.Alarms) != len(open) {
				t.Fatalf("resume from %s: %d alarms, want the full open list of %d", off, len(snap.Alarms), len(open))
			}
			// The snapshot offset is this node's: with Redis it may trail
			// the head, and the events in between follow as alarm frames.
			prev := snap.offset(t)
			if prev > head {
				t.Fatalf("resume from %s: snapshot offset %d beyond head %d", off, prev, head)
			}
			next := th.publishAlarm(t, 3, 1, EventUpdated)
			for prev != next {
				a := c.nextOf("alarm", 5*time.Second)
				if a.offset(t) <= prev {
					t.Fatalf("alarm offset %s after %d", a.Offset, prev)
				}
				prev = a.offset(t)
			}
			head = next
			_ = c.ws.Close()
		}
	})
}

// TestSlowReaderDoesNotDelayOthers: a client that stops reading while ~16
// MB of alarm frames go out must neither slow publishing nor another viewer,
// and is closed with CloseLagging once its alarm queue overflows; it then
// resumes without losing an event. It tests the hub, so it runs on the
// memory broker: pushing 16 MB through Redis under -race only adds minutes.
func TestSlowReaderDoesNotDelayOthers(t *testing.T) {
	t.Run("memory", func(t *testing.T) {
		th := startHub(t, NewMemoryBroker(1000), func(c *Config) {
			c.AlarmQueue = 32
			c.WriteTimeout = 30 * time.Second // the slow client must still get its close frame later
		})
		// The slow client never reads after its snapshot: the kernel
		// buffers a few MB for it, then its queue overflows.
		slow := dialURL(t, th.srv.URL, "", nil)
		// The fast viewer only extracts offsets: decoding 64 KiB frames as
		// JSON would make the test measure encoding/json under -race.
		fast := dialURL(t, th.srv.URL, "", nil)
		// Both snapshots first: an alarm published before a connection's
		// snapshot is in the snapshot's alarm list, not sent as a frame.
		for _, c := range []*client{slow, fast} {
			_ = c.ws.SetReadDeadline(time.Now().Add(10 * time.Second))
			if _, data, err := c.ws.ReadMessage(); err != nil || !bytes.Contains(data, []byte(`"type":"snapshot"`)) {
				t.Fatalf("first frame %.100s, %v: want the snapshot", data, err)
			}
			_ = c.ws.SetReadDeadline(time.Time{})
		}

		const n = 250
		payload := json.RawMessage(`{"blob":"` + strings.Repeat("x", 64<<10) + `"}`)
		var (
			mu       sync.Mutex
			received []int64
			latency  time.Duration
			sentAt   = make([]time.Time, n)
		)
		count := func() int { mu.Lock(); defer mu.Unlock(); return len(received) }
		fastErr := make(chan error, 1)
		go func() {
			prefix := []byte(`{"v":1,"type":"alarm","offset":"`)
			// One deadline for all: heartbeats must not keep a reader that
			// misses alarms waiting for ever.
			_ = fast.ws.SetReadDeadline(time.Now().Add(60 * time.Second))
			for {
				_, data, err := fast.ws.ReadMessage()
				if err != nil {
					fastErr <- err
					return
				}
				rest, ok := bytes.CutPrefix(data, prefix)
				if !ok {
					continue
				}
				off, err := strconv.ParseInt(string(rest[:bytes.IndexByte(rest, '"')]), 10, 64)
				if err != nil {
					fastErr <- err
					return
				}
				mu.Lock()
				i := len(received)
				received = append(received, off)
				latency = max(latency, time.Since(sentAt[i]))
				done := len(received) == n
				mu.Unlock()
				if done {
					fastErr <- nil
					return
				}
			}
		}()

		// Publish as fast as the fast viewer reads, at most 8 ahead of it.
		start := time.Now()
		var want []int64
		for i := range n {
			for deadline := time.Now().Add(10 * time.Second); count() < i-8; {
				if time.Now().After(deadline) {
					t.Fatalf("fast viewer stuck at %d of %d alarms", count(), i)
				}
				time.Sleep(200 * time.Microsecond)
			}
			mu.Lock()
			sentAt[i] = time.Now()
			mu.Unlock()
			off, err := th.AppendAlarm(context.Background(), AlarmEvent{Type: EventRaised, AlarmID: int64(i + 1), DeviceID: 1, Time: time.Now(), Payload: payload})
			if err != nil {
				t.Fatal(err)
			}
			want = append(want, off)
		}
		if err := <-fastErr; err != nil {
			t.Fatalf("fast viewer: %v after %d alarms", err, count())
		}
		took := time.Since(start)
		for i := range want {
			if received[i] != want[i] {
				t.Fatalf("fast viewer alarm %d: offset %d, want %d", i, received[i], want[i])
			}
		}
		// Generous bounds, far below the 30 s a blocked slow socket could take.
		if took > 20*time.Second || latency > 5*time.Second {
			t.Fatalf("%d alarms took %v, worst latency %v: the slow reader held others up", n, took, latency)
		}
		t.Logf("%d alarms of 64 KiB in %v, worst latency to the fast viewer %v", n, took, latency)

		// The slow reader drains what the kernel buffered, then gets 4008.
		slow.startReading()
		var last int64
		seen := 0
		for {
			f, err := slow.tryNext(20 * time.Second)
			if err != nil {
				if !websocket.IsCloseError(err, CloseLagging) {
					t.Fatalf("slow reader ended with %v after %d alarms, want close %d", err, seen, CloseLagging)
				}
				break
			}
			if f.Type == "alarm" {
				if f.offset(t) != want[seen] {
					t.Fatalf("slow reader alarm %d: offset %s, want %d (gap)", seen, f.Offset, want[seen])
				}
				last = f.offset(t)
				seen++
			}
		}
		if seen == n {
			t.Fatalf("slow reader received all %d alarms: its queue never overflowed", n)
		}
		if st := th.Stats(); st.Lagging == 0 {
			t.Errorf("Stats.Lagging = 0")
		}
		if seen == 0 {
			t.Fatal("slow reader got no alarm before being closed; cannot test its resume")
		}
		// It resumes and gets the rest, exactly once.
		r := th.dial(t, fmt.Sprint("offset=", last))
		if snap := r.nextOf("snapshot", 5*time.Second); snap.Recovered == nil || !*snap.Recovered {
			t.Fatalf("resume after lagging not recovered")
		}
		for i := seen; i < n; i++ {
			if a := r.nextOf("alarm", 10*time.Second); a.offset(t) != want[i] {
				t.Fatalf("resumed alarm %d: offset %s, want %d", i, a.Offset, want[i])
			}
		}
		r.expectNone("alarm", 100*time.Millisecond)
		t.Logf("slow reader got %d alarms before close %d, the other %d on resume", seen, CloseLagging, n-seen)
	})
}

func TestAckAndPing(t *testing.T) {
	b := NewMemoryBroker(100)
	var th *testHub
	th = startHub(t, b, func(c *Config) {
		c.Ack = func(ctx context.Context, v Viewer, id int64, comment string) error {
			if id == 13 {
				return errors.New("alarm 13 is already resolved")
			}
			th.store.mu.Lock()
			th.store.acks = append(th.store.acks, fmt.Sprintf("%d:%d:%s", v.UserID, id, comment))
			th.store.mu.Unlock()
			_, err := th.AppendAlarm(ctx, AlarmEvent{Type: EventAcknowledged, AlarmID: id, DeviceID: 1, Time: time.Now(), Payload: th.store.set(id, "acknowledged")})
			return err
		}
	})
	c := th.dial(t, "")
	c.nextOf("snapshot", 5*time.Second)

	c.send(`{"v":1,"type":"ack","id":"a1","alarm_id":12,"comment":"seen, team sent"}`)
	// The event may overtake the reply: it is queued while Ack runs.
	var gotOK, gotEvent bool
	for !gotOK || !gotEvent {
		switch f := c.next(5 * time.Second); f.Type {
		case "ok":
			if f.Re != "ack" || string(f.ID) != `"a1"` {
				t.Fatalf("ack reply = %+v", f)
			}
			gotOK = true
		case "alarm":
			if f.Event != EventAcknowledged || f.AlarmID != 12 {
				t.Fatalf("ack event = %+v", f)
			}
			gotEvent = true
		}
	}
	if th.store.acks[0] != "1:12:seen, team sent" {
		t.Errorf("Ack called with %v", th.store.acks)
	}
	c.send(`{"v":1,"type":"ack","id":2,"alarm_id":13}`)
	if e := c.nextOf("error", 5*time.Second); e.Error != "alarm 13 is already resolved" || string(e.ID) != "2" {
		t.Fatalf("failed ack reply = %+v", e)
	}
	c.send(`{"v":1,"type":"ping","id":9}`)
	if p := c.nextOf("pong", 5*time.Second); string(p.ID) != "9" {
		t.Fatalf("pong = %+v", p)
	}
	c.send(`not json`)
	c.nextOf("error", 5*time.Second)
	c.send(`{"v":2,"type":"ping"}`)
	if e := c.nextOf("error", 5*time.Second); !strings.Contains(e.Error, "version") {
		t.Fatalf("v2 reply = %+v", e)
	}
	c.send(`{"type":"resume","offset":"abc"}`)
	c.nextOf("error", 5*time.Second)

	// A viewer without the right cannot ack; Ack is not even called.
	r := th.dial(t, "user=restricted")
	r.nextOf("snapshot", 5*time.Second)
	r.send(`{"type":"ack","alarm_id":12}`)
	if e := r.nextOf("error", 5*time.Second); !strings.Contains(e.Error, "not allowed") {
		t.Fatalf("restricted ack reply = %+v", e)
	}
	if len(th.store.acks) != 1 {
		t.Errorf("Ack called for a restricted viewer")
	}
}

// TestViewerDeviceFilter: a viewer only gets devices its role allows, for
// positions and alarms alike.
func TestViewerDeviceFilter(t *testing.T) {
	th := startHub(t, NewMemoryBroker(100), nil)
	now := time.Now()
	th.PublishPositions(pos(1, 1, 1, now), pos(2, 2, 2, now))
	c := th.dial(t, "user=restricted")
	snap := c.nextOf("snapshot", 5*time.Second)
	if got := ids(snap); !got[1] || got[2] {
		t.Fatalf("restricted snapshot = %v", got)
	}
	th.PublishPositions(pos(1, 1.5, 1, now.Add(time.Second)), pos(2, 2.5, 2, now.Add(time.Second)))
	if got := ids(c.nextOf("positions", 5*time.Second)); !got[1] || got[2] {
		t.Fatalf("restricted frame = %v", got)
	}
	th.publishAlarm(t, 20, 2, EventRaised)
	off := th.publishAlarm(t, 21, 1, EventRaised)
	if a := c.nextOf("alarm", 5*time.Second); a.offset(t) != off {
		t.Fatalf("restricted viewer got alarm %d (device %d)", a.AlarmID, a.DeviceID)
	}
}

func TestOriginCheck(t *testing.T) {
	th := startHub(t, NewMemoryBroker(10), func(c *Config) { c.AllowedOrigins = []string{"https://map.example.org"} })
	u := "ws" + strings.TrimPrefix(th.srv.URL, "http") + "/"
	host := strings.TrimPrefix(th.srv.URL, "http://")
	for origin, want := range map[string]int{
		"":                         http.StatusSwitchingProtocols,
		"http://" + host:           http.StatusSwitchingProtocols,
		"https://map.example.org":  http.StatusSwitchingProtocols,
		"https://evil.example.com": http.StatusForbidden,
	} {
		hdr := http.Header{}
		if origin != "" {
			hdr.Set("Origin", origin)
		}
		ws, resp, err := websocket.DefaultDialer.Dial(u, hdr)
		if resp == nil {
			t.Fatalf("origin %q: %v", origin, err)
		}
		if resp.StatusCode != want {
			t.Errorf("origin %q: status %d, want %d", origin, resp.StatusCode, want)
		}
		if ws != nil {
			_ = ws.Close()
		}
	}
}

// failingPublish wraps a broker whose position publishing is down.
type failingPublish struct{ Broker }

func (failingPublish) PublishPositions(context.Context, []Position) error {
	return errors.New("redis: connection refused")
}

func TestPositionPublishFailsSoft(t *testing.T) {
	th := startHub(t, failingPublish{NewMemoryBroker(10)}, nil)
	c := th.dial(t, "")
	c.nextOf("snapshot", 5*time.Second)
	th.PublishPositions(pos(4, 4, 4, time.Now()))
	c.waitPosition(4, 4, 5*time.Second)
	deadline := time.Now().Add(5 * time.Second)
	for th.Stats().PublishErrors == 0 {
		if time.Now().After(deadline) {
			t.Fatal("publish error not counted")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestNotReadyAndShutdown(t *testing.T) {
	h, err := NewHub(Config{Broker: NewMemoryBroker(1), OpenAlarms: newAlarmStore().OpenAlarms})
	if err != nil {
		t.Fatal(err)
	}
	rec := httptest.NewRecorder()
	h.ServeWS(rec, httptest.NewRequest(http.MethodGet, "/", nil), Viewer{})
	if rec.Code != http.StatusServiceUnavailable {
		t.Fatalf("before Run: status %d, want 503", rec.Code)
	}
	if _, err := NewHub(Config{}); err == nil {
		t.Error("NewHub without broker succeeded")
	}

	// Shutdown closes viewers with 1001.
	th := startHub(t, NewMemoryBroker(10), nil)
	c := th.dial(t, "")
	c.nextOf("snapshot", 5*time.Second)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			if _, err := c.tryNext(10 * time.Second); err != nil {
				if !websocket.IsCloseError(err, websocket.CloseGoingAway) {
					t.Errorf("on shutdown: %v, want close 1001", err)
				}
				return
			}
		}
	}()
	th.stop()
	<-done
}
