package app_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/radtrack/radtrack/app"
	"github.com/radtrack/radtrack/auth"
	"github.com/radtrack/radtrack/ingest"
)

// from returns a dialer whose connections come from the loopback address
// ip, so each part of a test has its own per-IP budget.
func from(ip string) *net.Dialer {
	return &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}, Timeout: 5 * time.Second}
}

// httpFrom is an HTTP client whose connections come from ip.
func httpFrom(ip string) *http.Client {
	return &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{DialContext: from(ip).DialContext}}
}

// refused reads radtrack_requests_refused_total{protocol,reason} from the
// node's /metrics.
func refused(t *testing.T, n *app.Node, protocol string, reason ingest.Reason) int {
	t.Helper()
	resp, err := http.Get("http://" + n.Addr() + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	prefix := fmt.Sprintf("radtrack_requests_refused_total{protocol=%q,reason=%q} ", protocol, reason)
	for line := range strings.SplitSeq(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, prefix); ok {
			f, err := strconv.ParseFloat(v, 64)
			if err != nil {
				t.Fatalf("metric line %q: %v", line, err)
			}
			return int(f)
		}
	}
	return 0
}

func storedOf(t *testing.T, n *app.Node, uid string) int {
	t.Helper()
	return count(t, n, "SELECT count(*) FROM measurements m JOIN devices d ON d.id = m.device_id WHERE d.uid = $1", uid)
}

// bgeigieLine is a valid $BNRDD sentence of device uid at time at.
func bgeigieLine(uid string, at time.Time) string {
	body := fmt.Sprintf("BNRDD,%s,%s,48,2,27761,A,3428.9589,N,13609.7811,E,578.7,A,18,141", uid, at.UTC().Format("2006-01-02T15:04:05Z"))
	return "$" + body + "*" + checksum(body) + "\r\n"
}

// unit is one bGeigie connection.
type unit struct {
	t    *testing.T
	conn net.Conn
	rd   *bufio.Reader
}

func dialUnit(t *testing.T, addr, fromIP string) *unit {
	t.Helper()
	conn, err := from(fromIP).Dial("tcp", addr)
	if err != nil {
		t.Fatalf("dial %s from %s: %v", addr, fromIP, err)
	}
	t.Cleanup(func() { conn.Close() })
	return &unit{t: t, conn: conn, rd: bufio.NewReader(conn)}
}

func (u *unit) send(line string) {
	u.t.Helper()
	u.conn.SetWriteDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.WriteString(u.conn, line); err != nil {
		u.t.Fatalf("send %q: %v", line, err)
	}
}

// auth sends AUTH and expects "OK uid".
func (u *unit) auth(token, uid string) {
	u.t.Helper()
	u.send("AUTH " + token + "\r\n")
	u.conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	if reply, err := u.rd.ReadString('\n'); err != nil || reply != "OK "+uid+"\n" {
		u.t.Fatalf("AUTH answered %q, %v; want OK %s", reply, err, uid)
	}
}

// closed waits until the server hangs up and returns what it wrote last.
func (u *unit) closed(within time.Duration) string {
	u.t.Helper()
	u.conn.SetReadDeadline(time.Now().Add(within))
	b, err := io.ReadAll(u.rd)
	if err != nil {
		u.t.Fatalf("connection still open after %s (read %q): %v", within, b, err)
	}
	return string(b)
}

// Every door refuses a bad credential, a device over its sample budget
// and an address over its request budget under the same reason names,
// and bGeigie, which skipped the device limit, now applies it.
func TestEveryDoorRefusesForTheSameReasons(t *testing.T) {
	n := startNodeWith(t, func(c *app.Config) {
		c.Limits = ingest.LimitConfig{IPRequestsPerSec: 0.001, IPBurst: 4, DeviceSamplesPerSec: 0.001, DeviceSamplesBurst: 2}
	})
	tokens := map[string]string{}
	for _, uid := range []string{"7101", "7102", "7103", "7104", "7105"} {
		tokens[uid] = addDevice(t, n, uid, false)
	}
	at := time.Now().UTC().Add(-time.Hour).Truncate(time.Second)
	next := func() time.Time { at = at.Add(time.Second); return at }

	// HTTP batch, from 127.0.0.11: four requests pass the address's budget.
	hc := httpFrom("127.0.0.11")
	post := func(token, body string) int {
		req, _ := http.NewRequest(http.MethodPost, "http://"+n.Addr()+"/api/v1/measurements", strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+token)
		req.Header.Set("Content-Type", "application/x-ndjson")
		resp, err := hc.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	for i, c := range []struct {
		token, body string
		want        int
	}{
		{"rtd_wrong", sampleLine(next(), 4.05, 51.95, 0.1), http.StatusUnauthorized},
		{tokens["7101"], sampleLine(next(), 4.05, 51.95, 0.1) + sampleLine(next(), 4.05, 51.95, 0.1), http.StatusOK},
		{tokens["7101"], sampleLine(next(), 4.05, 51.95, 0.1), http.StatusTooManyRequests}, // device budget spent
		{tokens["7102"], sampleLine(next(), 4.05, 51.95, 0.1), http.StatusOK},
		{tokens["7102"], sampleLine(next(), 4.05, 51.95, 0.1), http.StatusTooManyRequests}, // address budget spent
	} {
		if got := post(c.token, c.body); got != c.want {
			t.Fatalf("http request %d: %d, want %d", i, got, c.want)
		}
	}

	// Traccar forwarder with device tokens, from 127.0.0.12.
	tc := httpFrom("127.0.0.12")
	forward := func(token string) int {
		body := fmt.Sprintf(`{"position":{"fixTime":%q,"valid":true,"latitude":51.95,"longitude":4.05,"attributes":{"doseRate":0.1}},"device":{"uniqueId":"7105"}}`,
			next().Format(time.RFC3339))
		req, _ := http.NewRequest(http.MethodPost, "http://"+n.Addr()+"/api/v1/traccar", strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+token)
		req.Header.Set("Content-Type", "application/json")
		resp, err := tc.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	for i, c := range []struct {
		token string
		want  int
	}{
		{tokens["7101"], http.StatusUnauthorized}, // another device's token
		{tokens["7105"], http.StatusOK},
		{tokens["7105"], http.StatusOK},
		{tokens["7105"], http.StatusTooManyRequests}, // device budget spent
		{tokens["7105"], http.StatusTooManyRequests}, // address budget spent
	} {
		if got := forward(c.token); got != c.want {
			t.Fatalf("traccar request %d: %d, want %d", i, got, c.want)
		}
	}

	// OsmAnd, from 127.0.0.13.
	oc := httpFrom("127.0.0.13")
	osmand := func(uid, key string) int {
		resp, err := oc.Get(fmt.Sprintf("http://%s/?id=%s&key=%s&lat=51.95&lon=4.05&timestamp=%d&doseRate=0.1", n.OsmAndAddr(), uid, url.QueryEscape(key), next().Unix()))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	for i, c := range []struct {
		uid, key string
		want     int
	}{
		{"7103", "rtd_wrong", http.StatusUnauthorized},
		{"7103", tokens["7103"], http.StatusOK},
		{"7103", tokens["7103"], http.StatusOK},
		{"7103", tokens["7103"], http.StatusTooManyRequests},
		{"7103", tokens["7103"], http.StatusTooManyRequests},
	} {
		if got := osmand(c.uid, c.key); got != c.want {
			t.Fatalf("osmand request %d: %d, want %d", i, got, c.want)
		}
	}

	// bGeigie, from 127.0.0.14: a connection is a request.
	bad := dialUnit(t, n.BGeigieAddr(), "127.0.0.14")
	bad.send("AUTH rtd_wrong\r\n")
	if got := bad.closed(5 * time.Second); got != "ERR bad_credential\n" {
		t.Fatalf("wrong token: %q", got)
	}
	u := dialUnit(t, n.BGeigieAddr(), "127.0.0.14")
	u.auth(tokens["7104"], "7104")
	u.send(bgeigieLine("7104", next()) + bgeigieLine("7104", next()))
	waitFor(t, "the device's burst stored", func() bool { return storedOf(t, n, "7104") == 2 })
	u.send(bgeigieLine("7104", next()))
	waitFor(t, "the bGeigie session held at the device limit", func() bool {
		return refused(t, n, "bgeigie", ingest.ReasonDeviceRateLimited) == 1
	})
	for range 2 {
		dialUnit(t, n.BGeigieAddr(), "127.0.0.14").conn.Close()
	}
	if got := dialUnit(t, n.BGeigieAddr(), "127.0.0.14").closed(5 * time.Second); got != "ERR ip_rate_limited\n" {
		t.Fatalf("fifth connection from one address: %q, want ERR ip_rate_limited", got)
	}

	for _, p := range []string{"http", "traccar", "osmand", "bgeigie"} {
		for _, r := range []ingest.Reason{ingest.ReasonBadCredential, ingest.ReasonDeviceRateLimited, ingest.ReasonIPRateLimited} {
			if got := refused(t, n, p, r); got != 1 {
				t.Errorf("radtrack_requests_refused_total{protocol=%q,reason=%q} = %d, want 1", p, r, got)
			}
		}
	}
	for uid, want := range map[string]int{"7101": 2, "7102": 1, "7103": 2, "7104": 2, "7105": 2} {
		if got := storedOf(t, n, uid); got != want {
			t.Errorf("device %s: %d samples stored, want %d", uid, got, want)
		}
	}
}

// OsmAnd answers an unknown id exactly as it answers a known id with a
// missing or wrong key, or a revoked one: the answer never tells which ids
// exist. Traccar Client keeps the position and retries on any non-2xx.
func TestOsmAndAnswersUnknownAndUnauthenticatedIDsAlike(t *testing.T) {
	n := startNode(t)
	addDevice(t, n, "7201", false)
	other := addDevice(t, n, "7202", false)
	revoked := addDevice(t, n, "7203", false)
	dev, err := n.Store.DeviceByTokenHash(context.Background(), auth.HashToken(revoked))
	if err != nil {
		t.Fatal(err)
	}
	if err := n.Store.RevokeDevice(context.Background(), dev.ID, time.Now()); err != nil {
		t.Fatal(err)
	}
	type answer struct {
		status int
		header http.Header
		body   string
	}
	get := func(query string) answer {
		resp, err := http.Get("http://" + n.OsmAndAddr() + "/?lat=51.95&lon=4.05&timestamp=1700000000&" + query)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		resp.Header.Del("Date")
		return answer{resp.StatusCode, resp.Header, string(b)}
	}
	cases := []struct{ name, query string }{
		{"unknown id, no key", "id=no-such-device"},
		{"unknown id, a wrong key", "id=no-such-device&key=rtd_wrong"},
		{"unknown id, a real key of another device", "id=no-such-device&key=" + other},
		{"known id, no key", "id=7201"},
		{"known id, a wrong key", "id=7201&key=rtd_wrong"},
		{"known id, another device's key", "id=7201&key=" + other},
		{"revoked id, its own key", "id=7203&key=" + revoked},
		{"revoked id, no key", "id=7203"},
	}
	first := get(cases[0].query)
	if first.status != http.StatusUnauthorized || first.header.Get("WWW-Authenticate") == "" || first.body == "" {
		t.Fatalf("unknown id: %d %v %q, want 401 with a basic-auth challenge and a reason", first.status, first.header, first.body)
	}
	for _, c := range cases[1:] {
		got := get(c.query)
		if got.status != first.status || got.body != first.body || fmt.Sprint(got.header) != fmt.Sprint(first.header) {
			t.Errorf("%s: %d %v %q; the unknown id got %d %v %q", c.name, got.status, got.header, got.body, first.status, first.header, first.body)
		}
	}
	if got := count(t, n, "SELECT count(*) FROM measurements"); got != 0 {
		t.Fatalf("%d samples stored from refused requests", got)
	}
	// Metrics still tell the operator what failed.
	for r, want := range map[ingest.Reason]int{ingest.ReasonUnknownDevice: 1, ingest.ReasonBadCredential: 5, ingest.ReasonRevoked: 2} {
		if got := refused(t, n, "osmand", r); got != want {
			t.Errorf("refused{osmand,%s} = %d, want %d", r, got, want)
		}
	}
}

// A device revoked, or whose token is rotated, while its bGeigie session
// is open stores nothing more on that socket and the session ends: at once
// on the node where it happened, within the credential cache's TTL on a
// node that missed the broadcast.
func TestBGeigieRevocationAndRotationEndOpenSessions(t *testing.T) {
	n := startNodeWith(t, func(c *app.Config) { c.DeviceCacheTTL = time.Second })
	addUser(t, n, "boss", auth.RoleAdmin)
	admin := loginClient(t, n, "boss")
	at := time.Now().UTC().Add(-time.Hour).Truncate(time.Second)
	next := func() time.Time { at = at.Add(time.Second); return at }
	deviceID := func(token string) int64 {
		dev, err := n.Store.DeviceByTokenHash(context.Background(), auth.HashToken(token))
		if err != nil {
			t.Fatal(err)
		}
		return dev.ID
	}
	// open streams one sample and waits until it is stored.
	open := func(uid string) (*unit, string) {
		token := addDevice(t, n, uid, false)
		u := dialUnit(t, n.BGeigieAddr(), "127.0.0.1")
		u.auth(token, uid)
		u.send(bgeigieLine(uid, next()))
		waitFor(t, uid+"'s first sample", func() bool { return storedOf(t, n, uid) == 1 })
		return u, token
	}
	adminPost := func(path string, want int) {
		resp, err := admin.Post("http://"+n.Addr()+path, "application/json", strings.NewReader("{}"))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != want {
			t.Fatalf("POST %s: %d, want %d", path, resp.StatusCode, want)
		}
	}

	t.Run("revoked through the API", func(t *testing.T) {
		u, token := open("7301")
		adminPost(fmt.Sprintf("/api/v1/devices/%d/revoke", deviceID(token)), http.StatusNoContent)
		u.send(bgeigieLine("7301", next()) + bgeigieLine("7301", next()))
		if got := u.closed(5 * time.Second); got != "ERR revoked\n" {
			t.Fatalf("after the revocation the server wrote %q, want ERR revoked", got)
		}
		if got := storedOf(t, n, "7301"); got != 1 {
			t.Fatalf("%d samples stored, want only the one before the revocation", got)
		}
		if got := refused(t, n, "bgeigie", ingest.ReasonRevoked); got != 1 {
			t.Fatalf("refused{bgeigie,revoked} = %d, want 1", got)
		}
	})
	t.Run("token rotated through the API", func(t *testing.T) {
		u, token := open("7302")
		adminPost(fmt.Sprintf("/api/v1/devices/%d/rotate-token", deviceID(token)), http.StatusOK)
		u.send(bgeigieLine("7302", next()))
		if got := u.closed(5 * time.Second); got != "ERR bad_credential\n" {
			t.Fatalf("after the rotation the server wrote %q, want ERR bad_credential", got)
		}
		if got := storedOf(t, n, "7302"); got != 1 {
			t.Fatalf("%d samples stored, want only the one before the rotation", got)
		}
	})
	t.Run("revoked where this node did not hear of it", func(t *testing.T) {
		u, token := open("7303")
		// Straight in the database: no Changed, no broadcast. The cached
		// credential may serve until it expires (1 s here).
		if err := n.Store.RevokeDevice(context.Background(), deviceID(token), time.Now()); err != nil {
			t.Fatal(err)
		}
		time.Sleep(1200 * time.Millisecond)
		u.send(bgeigieLine("7303", next()))
		if got := u.closed(5 * time.Second); got != "ERR revoked\n" {
			t.Fatalf("after the TTL the server wrote %q, want ERR revoked", got)
		}
		if got := storedOf(t, n, "7303"); got != 1 {
			t.Fatalf("%d samples stored, want 1", got)
		}
	})
}

// With Redis, a revocation through node A ends a bGeigie session open on
// node B at once, though B caches credentials for an hour.
func TestBGeigieRevocationOnAnotherNodeEndsTheSession(t *testing.T) {
	rurl, prefix := redisURL(t), randomPrefix()
	var db string
	a := startNodeWith(t, func(c *app.Config) {
		c.DeviceCacheTTL = time.Hour
		c.RedisURL, c.RedisPrefix = rurl, prefix
		db = c.DB.URL
	})
	b := startNodeWith(t, func(c *app.Config) {
		c.DeviceCacheTTL = time.Hour
		c.RedisURL, c.RedisPrefix, c.DB.URL = rurl, prefix, db
	})
	waitFor(t, "both nodes subscribed to device changes", func() bool {
		return subscribers(t, rurl, prefix+":devices") == 2
	})
	token := addDevice(t, a, "7401", false)
	at := time.Now().UTC().Add(-time.Hour).Truncate(time.Second)
	u := dialUnit(t, b.BGeigieAddr(), "127.0.0.1")
	u.auth(token, "7401")
	u.send(bgeigieLine("7401", at))
	waitFor(t, "the first sample through B", func() bool { return storedOf(t, b, "7401") == 1 })
	dev, err := a.Store.DeviceByTokenHash(context.Background(), auth.HashToken(token))
	if err != nil {
		t.Fatal(err)
	}
	addUser(t, a, "boss", auth.RoleAdmin)
	resp, err := loginClient(t, a, "boss").Post(fmt.Sprintf("http://%s/api/v1/devices/%d/revoke", a.Addr(), dev.ID), "application/json", strings.NewReader("{}"))
	if err != nil || resp.StatusCode != http.StatusNoContent {
		t.Fatalf("revoke on A: %v %v", resp, err)
	}
	resp.Body.Close()
	// The broadcast takes milliseconds; a sample sent in that window may
	// still be stored, so send until B hangs up.
	revoked := time.Now()
	var got string
	for i := 1; ; i++ {
		u.send(bgeigieLine("7401", at.Add(time.Duration(i)*time.Second)))
		u.conn.SetReadDeadline(time.Now().Add(100 * time.Millisecond))
		b, err := io.ReadAll(u.rd)
		if err == nil {
			got = string(b)
			break
		}
		if time.Since(revoked) > 3*time.Second {
			t.Fatalf("B still holds the session %s after the revocation on A", time.Since(revoked))
		}
	}
	if got != "ERR revoked\n" {
		t.Fatalf("B wrote %q before hanging up, want ERR revoked", got)
	}
	t.Logf("B ended the revoked device's session %s after the revocation on A", time.Since(revoked).Round(time.Millisecond))
}

// Idle unauthenticated connections cannot lock units out: a per-address
// cap, a deadline to authenticate, and the oldest unauthenticated
// connection evicted for a new one, while authenticated units keep going.
func TestBGeigieConnectionCapsKeepRoomForRealUnits(t *testing.T) {
	n := startNodeWith(t, func(c *app.Config) {
		c.BGeigieMaxConns, c.BGeigieMaxUnauth, c.BGeigieMaxConnsPerIP = 8, 3, 2
		c.BGeigieAuthTimeout = 2 * time.Second
	})
	at := time.Now().UTC().Add(-time.Hour).Truncate(time.Second)
	next := func() time.Time { at = at.Add(time.Second); return at }
	addr := n.BGeigieAddr()
	veteran := addDevice(t, n, "7501", false)
	u0 := dialUnit(t, addr, "127.0.0.21")
	u0.auth(veteran, "7501")

	// Per address: two; the third is refused at once.
	c1 := dialUnit(t, addr, "127.0.0.22")
	c2 := dialUnit(t, addr, "127.0.0.22")
	if got := dialUnit(t, addr, "127.0.0.22").closed(5 * time.Second); got != "ERR too_many_connections\n" {
		t.Fatalf("third connection from one address: %q", got)
	}
	// Unauthenticated share: three; a fourth evicts the oldest (c1).
	c4 := dialUnit(t, addr, "127.0.0.23")
	c5 := dialUnit(t, addr, "127.0.0.23")
	if got := c1.closed(5 * time.Second); got != "" {
		t.Fatalf("evicted connection got %q, want a plain hang-up", got)
	}
	// A real unit still gets in (evicting c2) and its samples are stored.
	fresh := addDevice(t, n, "7502", false)
	u1 := dialUnit(t, addr, "127.0.0.24")
	u1.auth(fresh, "7502")
	u1.send(bgeigieLine("7502", next()))
	u0.send(bgeigieLine("7501", next()))
	waitFor(t, "both units' samples", func() bool { return storedOf(t, n, "7502") == 1 && storedOf(t, n, "7501") == 1 })
	c2.closed(time.Second)
	// The rest never authenticated: closed at the deadline.
	for _, c := range []*unit{c4, c5} {
		if got := c.closed(5 * time.Second); got != "ERR auth_timeout\n" {
			t.Fatalf("idle unauthenticated connection: %q, want ERR auth_timeout", got)
		}
	}
	// Authenticated units are not held to the deadline.
	time.Sleep(200 * time.Millisecond)
	u0.send(bgeigieLine("7501", next()))
	waitFor(t, "the veteran's second sample", func() bool { return storedOf(t, n, "7501") == 2 })
	for r, want := range map[ingest.Reason]int{ingest.ReasonTooManyConns: 1, ingest.ReasonEvicted: 2, ingest.ReasonAuthTimeout: 2} {
		if got := refused(t, n, "bgeigie", r); got != want {
			t.Errorf("refused{bgeigie,%s} = %d, want %d", r, got, want)
		}
	}
}

// subscribers is how many clients listen on a Redis channel.
func subscribers(t *testing.T, rurl, channel string) int64 {
	t.Helper()
	opt, err := redis.ParseURL(rurl)
	if err != nil {
		t.Fatal(err)
	}
	rdb := redis.NewClient(opt)
	defer rdb.Close()
	n, err := rdb.PubSubNumSub(context.Background(), channel).Result()
	if err != nil {
		return 0
	}
	return n[channel]
}

// A Traccar gateway's API token is checked by the rules of every API
// route: its role (scope) must allow operator work, and a revoked token is
// refused at once.
func TestTraccarGatewayTokenFollowsTheAPITokenRules(t *testing.T) {
	n := startNode(t)
	addDevice(t, n, "7601", false)
	addUser(t, n, "gw", auth.RoleOperator)
	gw := loginClient(t, n, "gw")
	newToken := func(role string) (int64, string) {
		resp, err := gw.Post("http://"+n.Addr()+"/api/v1/tokens", "application/json", strings.NewReader(`{"name":"traccar-`+role+`","role":"`+role+`"}`))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var tok struct {
			ID    int64  `json:"id"`
			Token string `json:"token"`
		}
		if err := json.NewDecoder(resp.Body).Decode(&tok); err != nil || resp.StatusCode != http.StatusCreated {
			t.Fatalf("create %s token: %d %v", role, resp.StatusCode, err)
		}
		return tok.ID, tok.Token
	}
	at := time.Now().UTC().Add(-time.Hour).Truncate(time.Second)
	forward := func(token, uid string) int {
		at = at.Add(time.Second)
		body := fmt.Sprintf(`{"position":{"fixTime":%q,"valid":true,"latitude":51.95,"longitude":4.05},"device":{"uniqueId":%q}}`, at.Format(time.RFC3339), uid)
		req, _ := http.NewRequest(http.MethodPost, "http://"+n.Addr()+"/api/v1/traccar", strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+token)
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	opID, operator := newToken(auth.RoleOperator)
	_, viewer := newToken(auth.RoleViewer)
	if got := forward(operator, "7601"); got != http.StatusOK {
		t.Fatalf("operator-scoped token: %d, want 200", got)
	}
	if got := forward(operator, "no-such-uid"); got != http.StatusNotFound {
		t.Fatalf("operator-scoped token, unknown uniqueId: %d, want 404", got)
	}
	if got := forward(viewer, "7601"); got != http.StatusUnauthorized {
		t.Fatalf("viewer-scoped token of an operator: %d, want 401", got)
	}
	req, _ := http.NewRequest(http.MethodDelete, fmt.Sprintf("http://%s/api/v1/tokens/%d", n.Addr(), opID), nil)
	req.Header.Set("Content-Type", "application/json")
	resp, err := gw.Do(req)
	if err != nil || resp.StatusCode/100 != 2 {
		t.Fatalf("revoke the operator token: %v %v", resp, err)
	}
	resp.Body.Close()
	if got := forward(operator, "7601"); got != http.StatusUnauthorized {
		t.Fatalf("revoked token: %d, want 401", got)
	}
	if got := storedOf(t, n, "7601"); got != 1 {
		t.Fatalf("%d samples stored, want the one the usable token forwarded", got)
	}
	if got := refused(t, n, "traccar", ingest.ReasonBadCredential); got != 2 {
		t.Fatalf("refused{traccar,bad_credential} = %d, want 2", got)
	}
}
