package live

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/redis/go-redis/v9"
)

// envRedisURL names the Redis the integration tests use; scripts/test.sh
// sets it.
const envRedisURL = "RADTRACK_TEST_REDIS_URL"

func redisURL(t testing.TB) string {
	t.Helper()
	u := os.Getenv(envRedisURL)
	if u == "" {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s is not set: run the tests through scripts/test.sh", envRedisURL)
		}
		t.Skipf("%s is not set: run scripts/test.sh (or export %s=redis://127.0.0.1:6379/0) for the Redis tests", envRedisURL, envRedisURL)
	}
	return u
}

func testLogger(t testing.TB) *slog.Logger {
	if testing.Verbose() {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}

// redisPrefix returns a key prefix of its own for this test and deletes the
// keys under it when the test ends.
func redisPrefix(t testing.TB) string {
	t.Helper()
	var b [6]byte
	_, _ = rand.Read(b[:])
	prefix := "radtrack:test:" + hex.EncodeToString(b[:])
	u := redisURL(t)
	t.Cleanup(func() {
		rdb := newRedisClient(t, u, "")
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := rdb.Del(ctx, prefix+":positions", prefix+":latest", prefix+":alarms").Err(); err != nil {
			t.Errorf("clean up redis keys of %s: %v", prefix, err)
		}
		_ = rdb.Close()
	})
	return prefix
}

// newRedisClient connects to the test Redis; name, when set, becomes the
// CLIENT SETNAME of every connection so a test can kill exactly those.
func newRedisClient(t testing.TB, url, name string) *redis.Client {
	t.Helper()
	opt, err := redis.ParseURL(url)
	if err != nil {
		t.Fatalf("parse %s: %v", envRedisURL, err)
	}
	opt.ClientName = name
	return redis.NewClient(opt)
}

// newTestRedisBroker returns a broker on its own client under prefix.
func newTestRedisBroker(t testing.TB, prefix, clientName string, cfg RedisConfig) (*RedisBroker, *redis.Client) {
	t.Helper()
	rdb := newRedisClient(t, redisURL(t), clientName)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	if err := rdb.Ping(ctx).Err(); err != nil {
		t.Fatalf("redis at %s: %v (start it with scripts/services.sh)", redisURL(t), err)
	}
	t.Cleanup(func() { _ = rdb.Close() })
	cfg.Prefix = prefix
	if cfg.Block == 0 {
		cfg.Block = 200 * time.Millisecond
	}
	cfg.Logger = testLogger(t)
	return NewRedisBroker(rdb, cfg), rdb
}

// brokerKinds runs f once per broker implementation.
func brokerKinds(t *testing.T, f func(t *testing.T, newBroker func(t *testing.T) Broker)) {
	t.Run("memory", func(t *testing.T) {
		t.Parallel()
		f(t, func(t *testing.T) Broker { return NewMemoryBroker(1000) })
	})
	t.Run("redis", func(t *testing.T) {
		t.Parallel()
		f(t, func(t *testing.T) Broker {
			b, _ := newTestRedisBroker(t, redisPrefix(t), "", RedisConfig{})
			return b
		})
	})
}

// alarmStore stands in for the server's alarm table.
type alarmStore struct {
	mu   sync.Mutex
	open map[int64]json.RawMessage
	acks []string
}

func newAlarmStore() *alarmStore { return &alarmStore{open: make(map[int64]json.RawMessage)} }

func (s *alarmStore) set(id int64, state string) json.RawMessage {
	raw := json.RawMessage(fmt.Sprintf(`{"id":%d,"state":%q}`, id, state))
	s.mu.Lock()
	defer s.mu.Unlock()
	if state == "resolved" {
		delete(s.open, id)
	} else {
		s.open[id] = raw
	}
	return raw
}

func (s *alarmStore) OpenAlarms(context.Context, Viewer) ([]json.RawMessage, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]json.RawMessage, 0, len(s.open))
	for _, raw := range s.open {
		out = append(out, raw)
	}
	return out, nil
}

// testHub is a running hub behind an httptest server.
type testHub struct {
	*Hub
	srv    *httptest.Server
	store  *alarmStore
	viewer Viewer
	stop   func() // stops the hub and waits for Run; idempotent
}

func startHub(t testing.TB, b Broker, tune func(*Config)) *testHub {
	t.Helper()
	th := &testHub{store: newAlarmStore(), viewer: Viewer{UserID: 1, Name: "op", Role: "operator", CanAck: true}}
	cfg := Config{
		Broker:     b,
		Logger:     testLogger(t),
		OpenAlarms: th.store.OpenAlarms,
		Tick:       20 * time.Millisecond,
	}
	if tune != nil {
		tune(&cfg)
	}
	h, err := NewHub(cfg)
	if err != nil {
		t.Fatal(err)
	}
	th.Hub = h
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- h.Run(ctx) }()
	select {
	case <-h.Ready():
	case err := <-done:
		t.Fatalf("hub stopped before ready: %v", err)
	case <-time.After(10 * time.Second):
		t.Fatal("hub not ready after 10s")
	}
	th.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		v := th.viewer
		if r.URL.Query().Get("user") == "restricted" {
			v = Viewer{UserID: 2, Role: "field", Devices: func(id int64) bool { return id == 1 }}
		}
		h.ServeWS(w, r, v)
	}))
	var once sync.Once
	th.stop = func() {
		once.Do(func() {
			cancel()
			select {
			case err := <-done:
				if err != nil {
					t.Errorf("hub Run: %v", err)
				}
			case <-time.After(15 * time.Second):
				t.Errorf("hub Run did not return 15s after cancel")
			}
		})
	}
	t.Cleanup(func() {
		th.stop()
		th.srv.Close()
	})
	return th
}

// publishAlarm publishes an event for alarm id on device dev.
func (th *testHub) publishAlarm(t testing.TB, id, dev int64, typ string) int64 {
	t.Helper()
	payload := th.store.set(id, typ)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	off, err := th.AppendAlarm(ctx, AlarmEvent{Type: typ, AlarmID: id, DeviceID: dev, Time: time.Now(), Payload: payload})
	if err != nil {
		t.Fatalf("publish alarm %d: %v", id, err)
	}
	return off
}

// waitOffset waits until the hub has delivered the alarm log up to off.
func (th *testHub) waitOffset(t testing.TB, off int64) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); th.Stats().AlarmOffset < off; {
		if time.Now().After(deadline) {
			t.Fatalf("hub at alarm offset %d, want %d", th.Stats().AlarmOffset, off)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func pos(id int64, lon, lat float64, t time.Time) Position {
	return Position{DeviceID: id, UID: "uid-" + strconv.FormatInt(id, 10), Name: "car " + strconv.FormatInt(id, 10),
		Time: t, Lon: lon, Lat: lat, DoseRate: 0.1, Speed: math.NaN(), Heading: math.NaN(), Battery: math.NaN()}
}

// client is a test viewer. A goroutine reads frames into a channel (a
// gorilla connection is unusable after one read timeout, so tests time out
// on the channel instead); noRead clients start it only when told.
type client struct {
	t       testing.TB
	ws      *websocket.Conn
	frames  chan frame
	readErr error // valid once frames is closed
	once    sync.Once
}

var errNoFrame = errors.New("no frame before the timeout")

func (th *testHub) dial(t testing.TB, query string) *client {
	t.Helper()
	c := dialURL(t, th.srv.URL, query, nil)
	c.startReading()
	return c
}

// dialURL connects without starting the reader goroutine.
func dialURL(t testing.TB, base, query string, d *websocket.Dialer) *client {
	t.Helper()
	if d == nil {
		d = &websocket.Dialer{HandshakeTimeout: 5 * time.Second}
	}
	u := "ws" + strings.TrimPrefix(base, "http") + "/"
	if query != "" {
		u += "?" + query
	}
	ws, resp, err := d.Dial(u, nil)
	if err != nil {
		status := 0
		if resp != nil {
			status = resp.StatusCode
		}
		t.Fatalf("dial %s: %v (status %d)", u, err, status)
	}
	c := &client{t: t, ws: ws, frames: make(chan frame, 1024)}
	t.Cleanup(func() { _ = ws.Close() })
	return c
}

func (c *client) startReading() {
	c.once.Do(func() {
		go func() {
			defer close(c.frames)
			for {
				_, data, err := c.ws.ReadMessage()
				if err != nil {
					c.readErr = err
					return
				}
				f, err := decodeFrame(data)
				if err != nil {
					c.readErr = err
					return
				}
				c.frames <- f
			}
		}()
	})
}

func decodeFrame(data []byte) (frame, error) {
	var f frame
	if err := json.Unmarshal(data, &f); err != nil {
		return frame{}, fmt.Errorf("decode %.200s: %w", data, err)
	}
	var probe map[string]json.RawMessage
	_ = json.Unmarshal(data, &probe)
	_, f.HasAlarms = probe["alarms"]
	if f.V != 1 {
		return frame{}, fmt.Errorf("frame without v=1: %.200s", data)
	}
	return f, nil
}

type columns struct {
	ID    []int64    `json:"id"`
	T     []*int64   `json:"t"`
	Lon   []float64  `json:"lon"`
	Lat   []float64  `json:"lat"`
	Dose  []*float64 `json:"dose"`
	Spd   []*float64 `json:"spd"`
	Hdg   []*float64 `json:"hdg"`
	Bat   []*float64 `json:"bat"`
	Alarm []int      `json:"alarm"`
	UID   []string   `json:"uid"`
	Name  []string   `json:"name"`
}

type frame struct {
	V          int               `json:"v"`
	Type       string            `json:"type"`
	Offset     string            `json:"offset"`
	Recovered  *bool             `json:"recovered"`
	Alarms     []json.RawMessage `json:"alarms"`
	HasAlarms  bool              `json:"-"`
	Positions  *columns          `json:"positions"`
	Full       bool              `json:"full"`
	Event      string            `json:"event"`
	AlarmID    int64             `json:"alarm_id"`
	DeviceID   int64             `json:"device_id"`
	Alarm      json.RawMessage   `json:"alarm"`
	Incidents  []json.RawMessage `json:"incidents"`
	IncidentID int64             `json:"incident_id"`
	Incident   json.RawMessage   `json:"incident"`
	Re         string            `json:"re"`
	ID         json.RawMessage   `json:"id"`
	Error      string            `json:"error"`
}

func (f *frame) offset(t testing.TB) int64 {
	t.Helper()
	off, err := strconv.ParseInt(f.Offset, 10, 64)
	if err != nil {
		t.Fatalf("frame %s: offset %q: %v", f.Type, f.Offset, err)
	}
	return off
}

// tryNext returns the next frame, errNoFrame on timeout, or the error that
// ended the connection.
func (c *client) tryNext(timeout time.Duration) (frame, error) {
	c.startReading()
	t := time.NewTimer(timeout)
	defer t.Stop()
	select {
	case f, ok := <-c.frames:
		if !ok {
			return frame{}, c.readErr
		}
		return f, nil
	case <-t.C:
		return frame{}, errNoFrame
	}
}

// next reads one frame; it fails the test on timeout or close.
func (c *client) next(timeout time.Duration) frame {
	c.t.Helper()
	f, err := c.tryNext(timeout)
	if err != nil {
		c.t.Fatalf("read frame: %v", err)
	}
	return f
}

// nextOf skips frames of other types (positions interleave with replies).
func (c *client) nextOf(typ string, timeout time.Duration) frame {
	c.t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		left := time.Until(deadline)
		if left <= 0 {
			c.t.Fatalf("no %s frame within %v", typ, timeout)
		}
		f, err := c.tryNext(left)
		if errors.Is(err, errNoFrame) {
			c.t.Fatalf("no %s frame within %v", typ, timeout)
		}
		if err != nil {
			c.t.Fatalf("waiting for %s: %v", typ, err)
		}
		if f.Type == typ {
			return f
		}
	}
}

// expectNone reads for d and fails on any frame of type typ.
func (c *client) expectNone(typ string, d time.Duration) {
	c.t.Helper()
	deadline := time.Now().Add(d)
	for {
		left := time.Until(deadline)
		if left <= 0 {
			return
		}
		f, err := c.tryNext(left)
		if errors.Is(err, errNoFrame) {
			return
		}
		if err != nil {
			c.t.Fatalf("read: %v", err)
		}
		if f.Type == typ {
			c.t.Fatalf("unexpected %s frame: %+v", typ, f)
		}
	}
}

// waitPosition reads frames until device id shows up at lon.
func (c *client) waitPosition(id int64, lon float64, timeout time.Duration) frame {
	c.t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		left := time.Until(deadline)
		if left <= 0 {
			c.t.Fatalf("device %d never reached lon %v within %v", id, lon, timeout)
		}
		f, err := c.tryNext(left)
		if err != nil {
			c.t.Fatalf("device %d never reached lon %v: %v", id, lon, err)
		}
		if f.Positions == nil {
			continue
		}
		for i, got := range f.Positions.ID {
			if got == id && f.Positions.Lon[i] == lon {
				return f
			}
		}
	}
}

func (c *client) send(msg string) {
	c.t.Helper()
	_ = c.ws.SetWriteDeadline(time.Now().Add(5 * time.Second))
	if err := c.ws.WriteMessage(websocket.TextMessage, []byte(msg)); err != nil {
		c.t.Fatalf("send %s: %v", msg, err)
	}
}

func ids(f frame) map[int64]bool {
	m := map[int64]bool{}
	if f.Positions != nil {
		for _, id := range f.Positions.ID {
			m[id] = true
		}
	}
	return m
}
