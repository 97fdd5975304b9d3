package app_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/redis/go-redis/v9"

	"github.com/radtrack/radtrack/app"
	"github.com/radtrack/radtrack/auth"
	"github.com/radtrack/radtrack/internal/faultproxy"
	"github.com/radtrack/radtrack/internal/pgtest"
	"github.com/radtrack/radtrack/live"
)

// A device revoked through node A is refused by node B at once, although
// B had its credentials cached for an hour: the revocation is broadcast.
func TestRevocationReachesEveryNodeAtOnce(t *testing.T) {
	rurl, prefix := redisURL(t), randomPrefix()
	var db string
	hour := func(c *app.Config) { c.DeviceCacheTTL = time.Hour }
	a := startNodeWith(t, func(c *app.Config) { hour(c); c.RedisURL, c.RedisPrefix = rurl, prefix; db = c.DB.URL })
	b := startNodeWith(t, func(c *app.Config) { hour(c); c.RedisURL, c.RedisPrefix, c.DB.URL = rurl, prefix, db })
	// Both nodes listen for changes before B caches the device (a node that
	// subscribes empties its cache, which would hide a missing broadcast).
	opt, _ := redis.ParseURL(rurl)
	rdb := redis.NewClient(opt)
	defer rdb.Close()
	waitFor(t, "both nodes subscribed to device changes", func() bool {
		n, err := rdb.PubSubNumSub(context.Background(), prefix+":devices").Result()
		return err == nil && n[prefix+":devices"] == 2
	})
	token := addDevice(t, a, "van-revoked", false)
	dev, err := a.Store.DeviceByTokenHash(context.Background(), auth.HashToken(token))
	if err != nil {
		t.Fatal(err)
	}
	post := func(n *app.Node, at time.Time) int {
		return postStatus(t, n.Addr(), token, sampleLine(at, 4.05, 51.95, 0.1))
	}
	now := time.Now().Add(-time.Minute)
	if code := post(b, now); code != http.StatusOK {
		t.Fatalf("before the revocation B answered %d", code)
	}
	addUser(t, a, "boss", auth.RoleAdmin)
	admin := loginClient(t, a, "boss")
	resp, err := admin.Post(fmt.Sprintf("http://%s/api/v1/devices/%d/revoke", a.Addr(), dev.ID), "application/json", strings.NewReader("{}"))
	if err != nil || resp.StatusCode != http.StatusNoContent {
		t.Fatalf("revoke on A: %v %v", resp, err)
	}
	resp.Body.Close()
	revoked := time.Now()
	for i := 1; ; i++ {
		code := post(b, now.Add(time.Duration(i)*time.Second))
		if code == http.StatusUnauthorized || code == http.StatusForbidden {
			t.Logf("B refused the revoked device %s after the revocation on A (%d)", time.Since(revoked).Round(time.Millisecond), code)
			return
		}
		if time.Since(revoked) > 3*time.Second {
			t.Fatalf("B still accepts the device %s after its revocation on A (last answer %d); its cache holds it for an hour", time.Since(revoked), code)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// A logout made on node A while the database is unreachable is refused at
// once by node B too, although B remembers the session from before the
// outage and could not ask the database; once the database is back the
// session is gone from it as well.
func TestLogoutReachesEveryNodeDuringOutage(t *testing.T) {
	rurl, prefix := redisURL(t), randomPrefix()
	direct := pgtest.NewDatabase(t)
	u, err := url.Parse(direct)
	if err != nil {
		t.Fatal(err)
	}
	proxy := faultproxy.Start(t, u.Host)
	u.Host = proxy.Addr()
	viaProxy := u.String()
	shared := func(c *app.Config) { c.RedisURL, c.RedisPrefix, c.DB.URL = rurl, prefix, viaProxy }
	a := startNodeWith(t, shared)
	b := startNodeWith(t, shared)
	opt, _ := redis.ParseURL(rurl)
	rdb := redis.NewClient(opt)
	defer rdb.Close()
	waitFor(t, "both nodes subscribed to credential notices", func() bool {
		n, err := rdb.PubSubNumSub(context.Background(), prefix+":credentials").Result()
		return err == nil && n[prefix+":credentials"] == 2
	})
	addUser(t, a, "duty", auth.RoleOperator)
	client := loginClient(t, a, "duty")
	// The logout answer clears the browser's cookie; a stolen or copied
	// cookie is what must stop working, so send it by hand.
	cookies := client.Jar.Cookies(&url.URL{Scheme: "http", Host: a.Addr()})
	if len(cookies) == 0 {
		t.Fatal("no session cookie after login")
	}
	me := func(n *app.Node) int {
		req, _ := http.NewRequest(http.MethodGet, "http://"+n.Addr()+"/api/v1/me", nil)
		for _, c := range cookies {
			req.AddCookie(c)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if code := me(b); code != http.StatusOK {
		t.Fatalf("B refused the session before the outage: %d", code)
	}

	proxy.Down()
	if code := me(b); code != http.StatusOK {
		t.Fatalf("during the outage B no longer serves the session it knows: %d", code)
	}
	resp, err := client.Post("http://"+a.Addr()+"/api/v1/logout", "application/json", strings.NewReader("{}"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNoContent {
		t.Fatalf("logout on A during the outage: %d", resp.StatusCode)
	}
	loggedOut := time.Now()
	waitFor(t, "B refusing the logged-out session during the outage", func() bool { return me(b) == http.StatusUnauthorized })
	t.Logf("B refused the session %s after the logout on A, database still unreachable", time.Since(loggedOut).Round(time.Millisecond))

	proxy.Up()
	sessions := func() int {
		var n int
		if err := a.PG.Pool().QueryRow(context.Background(), `SELECT count(*) FROM sessions`).Scan(&n); err != nil {
			return -1
		}
		return n
	}
	waitFor(t, "the logout applied to the database", func() bool { return sessions() == 0 })
	for _, n := range []*app.Node{a, b} {
		if code := me(n); code != http.StatusUnauthorized {
			t.Fatalf("after the outage a node answers %d to the logged-out session", code)
		}
	}
}

// A live socket does not outlive its credential: a logout closes the
// sockets opened with that session — on the node that logged out and on
// another node — and a change to the user (here a demotion) closes the
// user's sockets, so none keeps the rights it was opened with.
func TestLiveSocketsCloseWhenTheirCredentialEnds(t *testing.T) {
	rurl, prefix := redisURL(t), randomPrefix()
	var db string
	a := startNodeWith(t, func(c *app.Config) { c.RedisURL, c.RedisPrefix = rurl, prefix; db = c.DB.URL })
	b := startNodeWith(t, func(c *app.Config) { c.RedisURL, c.RedisPrefix, c.DB.URL = rurl, prefix, db })
	opt, _ := redis.ParseURL(rurl)
	rdb := redis.NewClient(opt)
	defer rdb.Close()
	waitFor(t, "both nodes subscribed to credential notices", func() bool {
		n, err := rdb.PubSubNumSub(context.Background(), prefix+":credentials").Result()
		return err == nil && n[prefix+":credentials"] == 2
	})
	addUser(t, a, "watcher", auth.RoleOperator)
	addUser(t, a, "chief", auth.RoleAdmin)
	client := loginClient(t, a, "watcher")
	cookies := client.Jar.Cookies(&url.URL{Scheme: "http", Host: a.Addr()})
	dial := func(n *app.Node) *websocket.Conn {
		header := http.Header{"Origin": {"http://" + n.Addr()}}
		for _, c := range cookies {
			header.Add("Cookie", c.String())
		}
		ws, resp, err := websocket.DefaultDialer.Dial("ws://"+n.Addr()+"/api/v1/live", header)
		if err != nil {
			t.Fatalf("dial live on %s: %v (%v)", n.Addr(), err, resp)
		}
		t.Cleanup(func() { ws.Close() })
		return ws
	}
	closedWith := func(ws *websocket.Conn) int {
		ws.SetReadDeadline(time.Now().Add(5 * time.Second))
		for {
			if _, _, err := ws.ReadMessage(); err != nil {
				var ce *websocket.CloseError
				if errors.As(err, &ce) {
					return ce.Code
				}
				t.Fatalf("socket ended without a close frame: %v", err)
			}
		}
	}
	onA, onB := dial(a), dial(b)
	resp, err := client.Post("http://"+a.Addr()+"/api/v1/logout", "application/json", strings.NewReader("{}"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	for name, ws := range map[string]*websocket.Conn{"A": onA, "B": onB} {
		if code := closedWith(ws); code != live.CloseCredentialEnded {
			t.Fatalf("socket on %s closed with %d after the logout, want %d", name, code, live.CloseCredentialEnded)
		}
	}

	// A fresh session of the same user; the admin demotes the user.
	client = loginClient(t, a, "watcher")
	cookies = client.Jar.Cookies(&url.URL{Scheme: "http", Host: a.Addr()})
	onB = dial(b)
	var users struct {
		Users []struct {
			ID       int64  `json:"id"`
			Username string `json:"username"`
		} `json:"users"`
	}
	admin := loginClient(t, a, "chief")
	resp, err = admin.Get("http://" + a.Addr() + "/api/v1/users")
	if err != nil {
		t.Fatal(err)
	}
	if err := json.NewDecoder(resp.Body).Decode(&users); err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	var id int64
	for _, u := range users.Users {
		if u.Username == "watcher" {
			id = u.ID
		}
	}
	req, _ := http.NewRequest(http.MethodPatch, fmt.Sprintf("http://%s/api/v1/users/%d", a.Addr(), id), strings.NewReader(`{"role":"viewer"}`))
	req.Header.Set("Content-Type", "application/json")
	if resp, err = admin.Do(req); err != nil || resp.StatusCode/100 != 2 {
		t.Fatalf("demote: %v %v", resp, err)
	}
	resp.Body.Close()
	if code := closedWith(onB); code != live.CloseCredentialEnded {
		t.Fatalf("the demoted user's socket on B closed with %d, want %d", code, live.CloseCredentialEnded)
	}
}
