package app_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"golang.org/x/crypto/bcrypt"

	"github.com/radtrack/radtrack/app"
	"github.com/radtrack/radtrack/auth"
	"github.com/radtrack/radtrack/internal/faultproxy"
	"github.com/radtrack/radtrack/store"
)

// frame is one message of the live protocol (live/PROTOCOL.md).
type frame struct {
	Type      string            `json:"type"`
	Offset    string            `json:"offset"`
	Event     string            `json:"event"`
	AlarmID   int64             `json:"alarm_id"`
	DeviceID  int64             `json:"device_id"`
	Recovered *bool             `json:"recovered"`
	Alarms    []json.RawMessage `json:"alarms"`
	Positions struct {
		ID    []int64    `json:"id"`
		Lon   []float64  `json:"lon"`
		Lat   []float64  `json:"lat"`
		Dose  []*float64 `json:"dose"`
		Alarm []int      `json:"alarm"`
	} `json:"positions"`
	Error string `json:"error"`
	// A source frame's incident and estimate; a snapshot's estimates.
	IncidentID int64             `json:"incident_id"`
	Source     json.RawMessage   `json:"source"`
	Sources    []json.RawMessage `json:"sources"`
}

// viewer is a logged-in browser with an open live socket.
type viewer struct {
	t      *testing.T
	ws     *websocket.Conn
	frames chan frame
	mu     sync.Mutex
	last   string // offset of the last alarm frame or snapshot
}

func addUser(t *testing.T, n *app.Node, name, role string) {
	t.Helper()
	hash, _ := auth.HashPassword(name+"-password", bcrypt.MinCost)
	if _, err := n.Store.CreateUser(context.Background(), store.User{Username: name, Role: role, PasswordHash: hash}); err != nil &&
		!strings.Contains(err.Error(), "exists") {
		t.Fatal(err)
	}
}

// connect logs name in on node n and opens /api/v1/live (resuming after
// offset when it is not ""), with a goroutine reading frames.
func connect(t *testing.T, n *app.Node, name, offset string) *viewer {
	t.Helper()
	ws := dialLive(t, n, name, offset)
	v := &viewer{t: t, ws: ws, frames: make(chan frame, 10_000)}
	go func() {
		defer close(v.frames)
		for {
			var f frame
			if err := ws.ReadJSON(&f); err != nil {
				return
			}
			v.frames <- f
		}
	}()
	return v
}

// dialLive logs in and opens the live socket, without reading it.
func dialLive(t *testing.T, n *app.Node, name, offset string) *websocket.Conn {
	t.Helper()
	client := loginClient(t, n, name)
	base := "http://" + n.Addr()
	u, _ := url.Parse(base)
	header := http.Header{"Origin": {base}}
	for _, c := range client.Jar.Cookies(u) {
		header.Add("Cookie", c.String())
	}
	target := "ws://" + n.Addr() + "/api/v1/live"
	if offset != "" {
		target += "?offset=" + offset
	}
	ws, resp, err := websocket.DefaultDialer.Dial(target, header)
	if err != nil {
		t.Fatalf("dial live: %v (%v)", err, resp)
	}
	t.Cleanup(func() { ws.Close() })
	return ws
}

// loginClient logs name (made by addUser) in on node n and returns a client
// holding the session cookie.
func loginClient(t *testing.T, n *app.Node, name string) *http.Client {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	client := &http.Client{Jar: jar, Timeout: 10 * time.Second}
	resp, err := client.Post("http://"+n.Addr()+"/api/v1/login", "application/json",
		strings.NewReader(fmt.Sprintf(`{"username":%q,"password":%q}`, name, name+"-password")))
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("login %s: %v %v", name, resp, err)
	}
	resp.Body.Close()
	return client
}

// next waits for a frame matching ok.
func (v *viewer) next(what string, within time.Duration, ok func(frame) bool) frame {
	v.t.Helper()
	deadline := time.After(within)
	for {
		select {
		case f, open := <-v.frames:
			if !open {
				v.t.Fatalf("socket closed while waiting for %s", what)
			}
			if f.Type == "alarm" || f.Type == "snapshot" {
				v.mu.Lock()
				v.last = f.Offset
				v.mu.Unlock()
			}
			if ok(f) {
				return f
			}
		case <-deadline:
			v.t.Fatalf("no %s within %s", what, within)
		}
	}
}

func postJSON(t *testing.T, addr, token string, body string) {
	t.Helper()
	if code := postStatus(t, addr, token, body); code != http.StatusOK {
		t.Fatalf("post to %s: %d", addr, code)
	}
}

// postStatus posts NDJSON samples as a device and returns the status code.
func postStatus(t *testing.T, addr, token string, body string) int {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, "http://"+addr+"/api/v1/measurements", strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/x-ndjson")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

func sampleLine(at time.Time, lon, lat, dose float64) string {
	return fmt.Sprintf(`{"time":%q,"lon":%f,"lat":%f,"dose_rate":%g}`+"\n", at.UTC().Format(time.RFC3339), lon, lat, dose)
}

func TestLiveSnapshotPositionsAndAlarms(t *testing.T) {
	n := startNode(t)
	addUser(t, n, "vera", auth.RoleViewer)
	token := addDevice(t, n, "van-live", false)
	v := connect(t, n, "vera", "")
	v.next("snapshot", 5*time.Second, func(f frame) bool { return f.Type == "snapshot" })

	t0 := time.Now().Add(-time.Minute)
	postJSON(t, n.Addr(), token, sampleLine(t0, 4.05, 51.95, 0.1))
	f := v.next("position of van-live", 5*time.Second, func(f frame) bool { return f.Type == "positions" && len(f.Positions.ID) > 0 })
	if f.Positions.Lon[0] != 4.05 || f.Positions.Lat[0] != 51.95 || f.Positions.Dose[0] == nil || *f.Positions.Dose[0] != 0.1 || f.Positions.Alarm != nil {
		t.Fatalf("position frame %+v (no alarm column while no vehicle has an open alarm)", f.Positions)
	}
	postJSON(t, n.Addr(), token, sampleLine(t0.Add(time.Second), 4.051, 51.95, 2.5))
	a := v.next("raised alarm", 5*time.Second, func(f frame) bool { return f.Type == "alarm" && f.Event == "raised" })
	if a.AlarmID == 0 || a.Offset == "" {
		t.Fatalf("alarm frame %+v", a)
	}
	// The hot sample's position marks the vehicle as alarmed.
	hot := v.next("position of the alarmed van", 5*time.Second, func(f frame) bool {
		return f.Type == "positions" && len(f.Positions.Lon) > 0 && f.Positions.Lon[0] == 4.051
	})
	if len(hot.Positions.Alarm) != 1 || hot.Positions.Alarm[0] != 1 {
		t.Fatalf("position of a vehicle with an open alarm: alarm column %v, want [1]", hot.Positions.Alarm)
	}
	// A viewer cannot acknowledge over the socket; the answer says so.
	if err := v.ws.WriteJSON(map[string]any{"type": "ack", "alarm_id": a.AlarmID, "comment": "x", "id": 1}); err != nil {
		t.Fatal(err)
	}
	e := v.next("ack refusal", 5*time.Second, func(f frame) bool { return f.Type == "error" })
	if !strings.Contains(e.Error, "role") && !strings.Contains(e.Error, "allowed") {
		t.Fatalf("ack by a viewer: %+v", e)
	}
}

func redisURL(t *testing.T) string {
	t.Helper()
	u := os.Getenv("RADTRACK_TEST_REDIS_URL")
	if u == "" {
		if os.Getenv("CI") == "true" {
			t.Fatal("RADTRACK_TEST_REDIS_URL is not set: run the tests through scripts/test.sh")
		}
		t.Skip("RADTRACK_TEST_REDIS_URL is not set: run scripts/test.sh to start Redis")
	}
	return u
}

func randomPrefix() string {
	var b [6]byte
	_, _ = rand.Read(b[:])
	return "radtrack-test:" + hex.EncodeToString(b[:])
}

func TestTwoNodesShareVehiclesAlarmsAndAcks(t *testing.T) {
	rurl := redisURL(t)
	prefix := randomPrefix()
	db := ""
	a := startNodeWith(t, func(c *app.Config) { c.RedisURL, c.RedisPrefix = rurl, prefix; db = c.DB.URL })
	b := startNodeWith(t, func(c *app.Config) { c.RedisURL, c.RedisPrefix, c.DB.URL = rurl, prefix, db })
	addUser(t, a, "olga", auth.RoleOperator)
	addUser(t, a, "vera", auth.RoleViewer)
	token := addDevice(t, a, "van-2n", false)

	onB := connect(t, b, "vera", "")
	onB.next("snapshot on B", 5*time.Second, func(f frame) bool { return f.Type == "snapshot" })
	opA := connect(t, a, "olga", "")
	opA.next("snapshot on A", 5*time.Second, func(f frame) bool { return f.Type == "snapshot" })

	// A vehicle posting to node A is seen by a viewer on node B.
	t0 := time.Now().Add(-time.Minute)
	start := time.Now()
	postJSON(t, a.Addr(), token, sampleLine(t0, 4.05, 51.95, 0.1))
	onB.next("position on B", 3*time.Second, func(f frame) bool { return f.Type == "positions" && len(f.Positions.ID) > 0 })
	t.Logf("position A→B in %s", time.Since(start))

	// Samples of one device alternate between the nodes while it is hot:
	// one alarm per rule, not one per node.
	for i := range 6 {
		node := a
		if i%2 == 1 {
			node = b
		}
		postJSON(t, node.Addr(), token, sampleLine(t0.Add(time.Duration(i+1)*time.Second), 4.05, 51.95, 1.8))
	}
	var oil3 []rulesAlarm
	list := listAlarms(t, a, "olga")
	for _, al := range list {
		if strings.Contains(al.RuleName, "OIL3") {
			oil3 = append(oil3, al)
		}
	}
	// Each node judges the readings it is given (rules/detect.go keeps the
	// reading history per node): A sees 0.1 then 1.8 at i = 0, 2, 4 and
	// raises on i = 2 (2 of its latest 3 over the level), B sees i = 1, 3,
	// 5 and joins on i = 3: 4 of the 6 hot samples are in the one alarm.
	if len(oil3) != 1 || oil3[0].Samples != 4 {
		t.Fatalf("OIL3 alarms %+v: want exactly one, counting 4 samples from both nodes", oil3)
	}
	raised := onB.next("raised alarm on B", 3*time.Second, func(f frame) bool { return f.Type == "alarm" && f.Event == "raised" && f.AlarmID == oil3[0].ID })

	// Acknowledged over the socket on A, seen on B.
	if err := opA.ws.WriteJSON(map[string]any{"type": "ack", "alarm_id": raised.AlarmID, "comment": "on my way", "id": 7}); err != nil {
		t.Fatal(err)
	}
	opA.next("ok for the ack", 3*time.Second, func(f frame) bool { return f.Type == "ok" })
	onB.next("acknowledged on B", 3*time.Second, func(f frame) bool {
		return f.Type == "alarm" && f.Event == "acknowledged" && f.AlarmID == raised.AlarmID
	})
}

type rulesAlarm struct {
	ID       int64  `json:"id"`
	RuleName string `json:"rule_name"`
	State    string `json:"state"`
	Samples  int    `json:"samples"`
}

func listAlarms(t *testing.T, n *app.Node, user string) []rulesAlarm {
	t.Helper()
	list, err := n.Store.ListAlarms(context.Background(), store.AlarmFilter{})
	if err != nil {
		t.Fatal(err)
	}
	out := make([]rulesAlarm, len(list))
	for i, a := range list {
		out[i] = rulesAlarm{ID: a.ID, RuleName: a.RuleName, State: string(a.State), Samples: a.Samples}
	}
	return out
}

// A viewer away while 50 alarms are raised gets all 50 after resuming, in
// order, exactly once.
func TestResumeDeliversEveryMissedAlarmOnce(t *testing.T) {
	n := startNode(t)
	addUser(t, n, "vera", auth.RoleViewer)
	v := connect(t, n, "vera", "")
	snap := v.next("snapshot", 5*time.Second, func(f frame) bool { return f.Type == "snapshot" })
	v.ws.Close()

	// 25 hot vehicles: each raises a notice and an OIL3 alarm.
	t0 := time.Now().Add(-time.Minute)
	for i := range 25 {
		token := addDevice(t, n, fmt.Sprintf("hot-%02d", i), false)
		postJSON(t, n.Addr(), token, sampleLine(t0, 4.05+float64(i)*0.001, 51.95, 3))
	}
	back := connect(t, n, "vera", snap.Offset)
	resumed := back.next("resume snapshot", 5*time.Second, func(f frame) bool { return f.Type == "snapshot" })
	if resumed.Recovered == nil || !*resumed.Recovered {
		t.Fatalf("resume not recovered: %+v", resumed)
	}
	seen := map[int64]int{}
	var prev string
	for len(seen) < 50 {
		f := back.next("missed alarm", 5*time.Second, func(f frame) bool { return f.Type == "alarm" && f.Event == "raised" })
		seen[f.AlarmID]++
		if prev != "" && !offsetLess(prev, f.Offset) {
			t.Fatalf("offsets out of order: %s then %s", prev, f.Offset)
		}
		prev = f.Offset
	}
	for id, c := range seen {
		if c != 1 {
			t.Fatalf("alarm %d delivered %d times", id, c)
		}
	}
}

func offsetLess(a, b string) bool {
	if len(a) != len(b) {
		return len(a) < len(b)
	}
	return a < b
}

// Redis cut for a few seconds during a two-node run: nodes keep taking data
// and serving their viewers — node A's viewer gets A's alarm at once, B's
// viewer when Redis is back, and A's viewer does not get it twice — and
// fan-out comes back by itself.
func TestRedisOutageTwoNodesRecover(t *testing.T) {
	rurl := redisURL(t)
	ru, _ := url.Parse(rurl)
	proxy := faultproxy.Start(t, ru.Host)
	viaProxy := *ru
	viaProxy.Host = proxy.Addr()
	prefix := randomPrefix()
	db := ""
	a := startNodeWith(t, func(c *app.Config) { c.RedisURL, c.RedisPrefix = viaProxy.String(), prefix; db = c.DB.URL })
	b := startNodeWith(t, func(c *app.Config) { c.RedisURL, c.RedisPrefix, c.DB.URL = viaProxy.String(), prefix, db })
	addUser(t, a, "vera", auth.RoleViewer)
	token := addDevice(t, a, "van-redis", false)
	onB := connect(t, b, "vera", "")
	onB.next("snapshot", 5*time.Second, func(f frame) bool { return f.Type == "snapshot" })
	onA := connect(t, a, "vera", "")
	onA.next("snapshot", 5*time.Second, func(f frame) bool { return f.Type == "snapshot" })

	proxy.Down()
	t0 := time.Now().Add(-time.Minute)
	for i := range 3 {
		postJSON(t, a.Addr(), token, sampleLine(t0.Add(time.Duration(i)*time.Second), 4.05+float64(i)*0.001, 51.95, 0.1)) // ingest goes on
	}
	// Positions keep reaching A's own viewers.
	onA.next("position on A while Redis is away", 2*time.Second, func(f frame) bool {
		return f.Type == "positions" && len(f.Positions.Lon) > 0 && f.Positions.Lon[len(f.Positions.Lon)-1] == 4.052
	})
	// A hot sample while Redis is away: the alarm is stored and A's viewer
	// sees it at once; B's waits for Redis.
	sent := time.Now()
	postJSON(t, a.Addr(), token, sampleLine(t0.Add(5*time.Second), 4.05, 51.95, 5))
	raised := onA.next("raised alarm on A while Redis is away", 2*time.Second, func(f frame) bool { return f.Type == "alarm" && f.Event == "raised" })
	t.Logf("sample → A's viewer with Redis cut: %s", time.Since(sent).Round(time.Millisecond))
	time.Sleep(2 * time.Second)
	proxy.Up()

	// The viewer on B gets the alarm raised during the outage — on its
	// socket, or, if B closed it to make it resume, on the next one.
	deadline := time.Now().Add(20 * time.Second)
	got := false
	for !got && time.Now().Before(deadline) {
		select {
		case f, open := <-onB.frames:
			if !open {
				onB = connect(t, b, "vera", onB.lastOffset())
				continue
			}
			if f.Type == "alarm" && f.Event == "raised" && f.AlarmID == raised.AlarmID {
				got = true
			}
			if f.Type == "snapshot" && len(f.Alarms) > 0 {
				got = true
			}
		case <-time.After(500 * time.Millisecond):
		}
	}
	if !got {
		t.Fatal("the alarm raised while Redis was away never reached the viewer on the other node")
	}
	t.Logf("sample → B's viewer across the outage: %s", time.Since(sent).Round(time.Millisecond))
	// A's viewer: the log's copy moves its offset, it is not sent again.
	onA.next("offset frame on A", 10*time.Second, func(f frame) bool {
		if f.Type == "alarm" && f.Event == "raised" && f.AlarmID == raised.AlarmID {
			t.Fatalf("A's viewer got alarm %d raised twice", raised.AlarmID)
		}
		return f.Type == "offset"
	})
	// And positions flow across nodes again.
	postJSON(t, a.Addr(), token, sampleLine(t0.Add(10*time.Second), 4.06, 51.96, 0.1))
	onB.next("position after recovery", 10*time.Second, func(f frame) bool {
		return f.Type == "positions" && len(f.Positions.Lon) > 0 && f.Positions.Lon[len(f.Positions.Lon)-1] == 4.06
	})
	onA.next("no second raise on A", 2*time.Second, func(f frame) bool {
		if f.Type == "alarm" && f.Event == "raised" && f.AlarmID == raised.AlarmID {
			t.Fatalf("A's viewer got alarm %d raised twice", raised.AlarmID)
		}
		return f.Type == "positions" && len(f.Positions.Lon) > 0 && f.Positions.Lon[len(f.Positions.Lon)-1] == 4.06
	})
}

func (v *viewer) lastOffset() string {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.last
}

// A viewer that stops reading does not slow ingest: its frames coalesce
// and it is eventually cut off, while samples keep being acknowledged at
// the same pace.
func TestStalledViewerDoesNotSlowIngest(t *testing.T) {
	n := startNode(t)
	addUser(t, n, "vera", auth.RoleViewer)
	tokens := make([]string, 50)
	for i := range tokens {
		tokens[i] = addDevice(t, n, fmt.Sprintf("load-%02d", i), false)
	}
	t0 := time.Now().Add(-time.Hour)
	round := 0
	ingest := func(rounds int) time.Duration {
		start := time.Now()
		for range rounds {
			for i, tok := range tokens {
				var body strings.Builder
				for k := range 20 {
					body.WriteString(sampleLine(t0.Add(time.Duration(round*20+k)*time.Second), 4.05+float64(i)*0.001, 51.95+float64(k)*1e-4, 0.1))
				}
				postJSON(t, n.Addr(), tok, body.String())
			}
			round++
		}
		return time.Since(start)
	}
	base := ingest(4)

	// The stalled viewer: logged in, subscribed to everything, never reads.
	_ = dialLive(t, n, "vera", "") // never read
	withStall := ingest(4)
	t.Logf("ingest of 4000 samples: %s without, %s with a stalled viewer", base, withStall)
	if withStall > 3*base+2*time.Second {
		t.Fatalf("a stalled viewer slowed ingest from %s to %s", base, withStall)
	}

	resp, err := http.Get("http://" + n.Addr() + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var text strings.Builder
	_, _ = io.Copy(&text, resp.Body)
	for _, want := range []string{"radtrack_websocket_clients", "radtrack_websocket_position_frames_total", `radtrack_alarms_open{state="raised"}`,
		`radtrack_samples_accepted_total{protocol="http"} 8000`, "radtrack_commit_seconds_bucket"} {
		if !strings.Contains(text.String(), want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
}
