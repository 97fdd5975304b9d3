package app_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/radtrack/radtrack/app"
	"github.com/radtrack/radtrack/auth"
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
