package faulttest

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/radtrack/radtrack/internal/pgtest"
	"github.com/radtrack/radtrack/internal/redistest"
)

// socketFrame is the part of a live frame (live/PROTOCOL.md) these tests read.
type socketFrame struct {
	Type      string            `json:"type"`
	Offset    string            `json:"offset"`
	Event     string            `json:"event"`
	AlarmID   int64             `json:"alarm_id"`
	Alarms    []json.RawMessage `json:"alarms"`
	Positions struct {
		Lon []float64 `json:"lon"`
	} `json:"positions"`
	at time.Time // when it was read
}

// socket is a live WebSocket read by a goroutine, so that waiting for a
// frame can time out without breaking the connection.
type socket struct {
	t      *testing.T
	name   string
	frames chan socketFrame
}

func openSocket(t *testing.T, name, addr string, header http.Header) *socket {
	t.Helper()
	ws, _, err := websocket.DefaultDialer.Dial("ws://"+addr+"/api/v1/live", header)
	if err != nil {
		t.Fatalf("%s: dial live: %v", name, err)
	}
	t.Cleanup(func() { ws.Close() })
	s := &socket{t: t, name: name, frames: make(chan socketFrame, 4096)}
	go func() {
		defer close(s.frames)
		for {
			var f socketFrame
			if err := ws.ReadJSON(&f); err != nil {
				return
			}
			f.at = time.Now()
			s.frames <- f
		}
	}()
	s.next("snapshot", 10*time.Second, func(f socketFrame) bool { return f.Type == "snapshot" })
	return s
}

// next returns the first frame ok accepts, failing after within; every
// frame read on the way goes through seen first, if set.
func (s *socket) next(what string, within time.Duration, ok func(socketFrame) bool) socketFrame {
	s.t.Helper()
	deadline := time.After(within)
	for {
		select {
		case f, open := <-s.frames:
			if !open {
				s.t.Fatalf("%s: socket closed while waiting for %s", s.name, what)
			}
			if ok(f) {
				return f
			}
		case <-deadline:
			s.t.Fatalf("%s: no %s within %s", s.name, what, within)
		}
	}
}

// none reads for d and fails if bad accepts a frame.
func (s *socket) none(what string, d time.Duration, bad func(socketFrame) bool) {
	s.t.Helper()
	deadline := time.After(d)
	for {
		select {
		case f, open := <-s.frames:
			if !open {
				s.t.Fatalf("%s: socket closed while checking for no %s", s.name, what)
			}
			if bad(f) {
				s.t.Fatalf("%s: unexpected %s: %+v", s.name, what, f)
			}
		case <-deadline:
			return
		}
	}
}

func postLine(t *testing.T, addr, token string, at time.Time, lon, lat, dose float64) time.Time {
	t.Helper()
	body := fmt.Sprintf(`{"time":%q,"lat":%f,"lon":%f,"dose_rate":%g}`, at.UTC().Format(time.RFC3339Nano), lat, lon, dose)
	req, _ := http.NewRequest(http.MethodPost, "http://"+addr+"/api/v1/measurements", strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	sent := time.Now()
	resp, err := (&http.Client{Timeout: 10 * time.Second}).Do(req)
	if err != nil {
		t.Fatalf("post to %s: %v", addr, err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("post to %s: %d", addr, resp.StatusCode)
	}
	return sent
}

// Redis hangs (SIGSTOP: its sockets stay open, nothing is answered) under
// two radtrack processes. A hot sample on node A reaches A's control room
// within 2 s; B's once Redis runs again; A's control room does not get the
// alarm twice, and positions keep flowing to A's viewers meanwhile.
func TestRedisHangLocalAlarmsAtOnce(t *testing.T) {
	redis := redistest.Start(t)
	var b [6]byte
	_, _ = rand.Read(b[:])
	prefix := "radtrack-faulttest:" + hex.EncodeToString(b[:])
	db := pgtest.NewDatabase(t)
	addrA, addrB := freePort(t), freePort(t)
	a := start(t, db, t.TempDir(), addrA, "-redis-url", redis.URL(), "-redis-prefix", prefix)
	password := waitPassword(t, a)
	start(t, db, t.TempDir(), addrB, "-redis-url", redis.URL(), "-redis-prefix", prefix)
	token := addDevice(t, db, "van-redis-hang")
	onA := openSocket(t, "A's viewer", addrA, login(t, addrA, password))
	onB := openSocket(t, "B's viewer", addrB, login(t, addrB, password))

	// Both nodes share the live push before the fault.
	t0 := time.Now().Add(-time.Minute).Truncate(time.Second)
	postLine(t, addrA, token, t0, 4.0501, 51.95, 0.1)
	onB.next("position from A on B", 10*time.Second, func(f socketFrame) bool {
		return f.Type == "positions" && len(f.Positions.Lon) > 0 && f.Positions.Lon[0] == 4.0501
	})

	redis.Freeze()
	sent := postLine(t, addrA, token, t0.Add(time.Second), 4.0502, 51.95, 0.1)
	p := onA.next("position on A with Redis frozen", 2*time.Second, func(f socketFrame) bool {
		return f.Type == "positions" && len(f.Positions.Lon) > 0 && f.Positions.Lon[0] == 4.0502
	})
	t.Logf("sample → position on A's viewer, Redis frozen: %s", p.at.Sub(sent).Round(time.Millisecond))

	// The hot sample raises the notice and the OIL3 alarm (and more).
	sent = postLine(t, addrA, token, t0.Add(2*time.Second), 4.0503, 51.95, 5)
	raisedOnA := map[int64]bool{}
	first := onA.next("raised alarm on A with Redis frozen", 2*time.Second, func(f socketFrame) bool { return f.Type == "alarm" && f.Event == "raised" })
	raisedOnA[first.AlarmID] = true
	latencyA := first.at.Sub(sent)
	t.Logf("sample → alarm on A's viewer, Redis frozen: %s", latencyA.Round(time.Millisecond))
	if latencyA > 2*time.Second {
		t.Fatalf("alarm reached A's viewer after %s, want within 2 s", latencyA)
	}
	onA.none("more than one raise per alarm", time.Second, func(f socketFrame) bool {
		if f.Type == "alarm" && f.Event == "raised" {
			if raisedOnA[f.AlarmID] {
				return true
			}
			raisedOnA[f.AlarmID] = true
		}
		return false
	})
	onB.none("alarm on B while Redis is frozen", 500*time.Millisecond, func(f socketFrame) bool { return f.Type == "alarm" })
	time.Sleep(2 * time.Second) // appends time out into the frozen server's sockets and are retried
	thawed := time.Now()
	redis.Thaw()

	raisedOnB := map[int64]bool{}
	for len(raisedOnB) < len(raisedOnA) {
		f := onB.next("the alarms raised on A", 20*time.Second, func(f socketFrame) bool { return f.Type == "alarm" && f.Event == "raised" })
		if !raisedOnA[f.AlarmID] || raisedOnB[f.AlarmID] {
			t.Fatalf("B's viewer got raise of alarm %d; raised on A: %v, on B so far: %v", f.AlarmID, raisedOnA, raisedOnB)
		}
		raisedOnB[f.AlarmID] = true
	}
	t.Logf("%d alarms raised on A reached B's viewer %s after Redis ran again (sample → B: %s)",
		len(raisedOnB), time.Since(thawed).Round(time.Millisecond), time.Since(sent).Round(time.Millisecond))
	onA.next("offset frame on A", 10*time.Second, func(f socketFrame) bool {
		if f.Type == "alarm" && f.Event == "raised" {
			t.Fatalf("A's viewer got a second raise of alarm %d", f.AlarmID)
		}
		return f.Type == "offset"
	})
	onA.none("a second raise on A", 2*time.Second, func(f socketFrame) bool { return f.Type == "alarm" && f.Event == "raised" })
}
