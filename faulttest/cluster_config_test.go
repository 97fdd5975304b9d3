package faulttest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/redis/go-redis/v9"

	"github.com/radtrack/radtrack/internal/faultproxy"
	"github.com/radtrack/radtrack/internal/pgtest"
)

// apiCall sends a JSON request with the session of header and returns the
// status and body.
func apiCall(t *testing.T, addr string, header http.Header, method, path, body string) (int, []byte) {
	t.Helper()
	req, _ := http.NewRequest(method, "http://"+addr+path, strings.NewReader(body))
	for k, vs := range header {
		req.Header[k] = vs
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := (&http.Client{Timeout: 10 * time.Second}).Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

// square is a restricted fence of about 1.4 km around lon, lat.
func square(name string, lon, lat float64) string {
	const d = 0.01
	return fmt.Sprintf(`{"type":"Feature","properties":{"name":%q,"kind":"restricted"},"geometry":{"type":"Polygon","coordinates":[[[%f,%f],[%f,%f],[%f,%f],[%f,%f],[%f,%f]]]}}`,
		name, lon-d, lat-d, lon+d, lat-d, lon+d, lat+d, lon-d, lat+d, lon-d, lat-d)
}

// alarmCount counts the stored alarms of device uid whose fence or rule
// name matches.
func alarmCount(t *testing.T, conn *pgx.Conn, uid string, fenceID int64, ruleName string) int {
	t.Helper()
	var n int
	err := conn.QueryRow(context.Background(), `SELECT count(*) FROM alarms a JOIN devices d ON d.id = a.device_id
		WHERE d.uid = $1 AND ($2 = 0 OR a.fence_id = $2) AND ($3 = '' OR a.rule_name = $3)`, uid, fenceID, ruleName).Scan(&n)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// driveUntil posts a new sample of the device every 50 ms until an alarm
// matching fenceID/ruleName is stored, and returns how long after since
// that was; it fails after within.
func driveUntil(t *testing.T, conn *pgx.Conn, addr, token, uid string, t0 *time.Time, lon, lat, dose float64,
	fenceID int64, ruleName string, since time.Time, within time.Duration) time.Duration {
	t.Helper()
	for {
		*t0 = t0.Add(time.Second)
		postLine(t, addr, token, *t0, lon, lat, dose)
		if alarmCount(t, conn, uid, fenceID, ruleName) > 0 {
			return time.Since(since)
		}
		if time.Since(since) > within {
			t.Fatalf("%s: no alarm (fence %d, rule %q) %s after the change", uid, fenceID, ruleName, within)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Fences and rules edited through one node apply on every node: at once
// through the change notice, and — when a node missed it (its Redis link
// is cut during the edit) — at its next config version check. Three
// processes: A takes the edits; B checks the version only hourly, so only
// the notice can reach it in time; C's Redis link goes through a proxy
// and it checks every second.
func TestFenceAndRuleEditsReachEveryNode(t *testing.T) {
	redisURL := os.Getenv("RADTRACK_TEST_REDIS_URL")
	if redisURL == "" {
		if os.Getenv("CI") == "true" {
			t.Fatal("RADTRACK_TEST_REDIS_URL is not set: run the tests through scripts/test.sh")
		}
		t.Skip("RADTRACK_TEST_REDIS_URL is not set: run scripts/test.sh")
	}
	ru, err := url.Parse(redisURL)
	if err != nil {
		t.Fatal(err)
	}
	proxy := faultproxy.Start(t, ru.Host)
	viaProxy := *ru
	viaProxy.Host = proxy.Addr()
	var rnd [6]byte
	_, _ = rand.Read(rnd[:])
	prefix := "radtrack-faulttest:" + hex.EncodeToString(rnd[:])
	db := pgtest.NewDatabase(t)
	addrA, addrB, addrC := freePort(t), freePort(t), freePort(t)
	a := start(t, db, t.TempDir(), addrA, "-redis-url", redisURL, "-redis-prefix", prefix, "-config-check", "1h")
	password := waitPassword(t, a)
	start(t, db, t.TempDir(), addrB, "-redis-url", redisURL, "-redis-prefix", prefix, "-config-check", "1h")
	start(t, db, t.TempDir(), addrC, "-redis-url", viaProxy.String(), "-redis-prefix", prefix, "-config-check", "1s")
	tokenB, tokenC := addDevice(t, db, "van-on-b"), addDevice(t, db, "van-on-c")
	admin := login(t, addrA, password)
	conn, err := pgx.Connect(context.Background(), db)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())

	// Every node listens for notices before the first edit.
	opt, _ := redis.ParseURL(redisURL)
	rdb := redis.NewClient(opt)
	defer rdb.Close()
	for deadline := time.Now().Add(15 * time.Second); ; {
		n, err := rdb.PubSubNumSub(context.Background(), prefix+":config").Result()
		if err == nil && n[prefix+":config"] == 3 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("not all three nodes subscribed to %s:config: %v %v", prefix, n, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	t0 := time.Now().Add(-time.Hour).Truncate(time.Second)
	tB, tC := t0, t0
	postLine(t, addrB, tokenB, tB, 4.0, 51.9, 0.05) // outside every fence
	postLine(t, addrC, tokenC, tC, 4.0, 51.9, 0.05)

	// 1. A fence created on A: a vehicle on B entering it raises the
	// restricted-zone alarm at once.
	status, body := apiCall(t, addrA, admin, http.MethodPost, "/api/v1/fences", square("Customs yard", 4.05, 51.95))
	if status != http.StatusCreated {
		t.Fatalf("create fence on A: %d %s", status, body)
	}
	created := time.Now()
	var fence struct {
		ID int64 `json:"id"`
	}
	if err := json.Unmarshal(body, &fence); err != nil || fence.ID == 0 {
		t.Fatalf("created fence %s: %v", body, err)
	}
	took := driveUntil(t, conn, addrB, tokenB, "van-on-b", &tB, 4.05, 51.95, 0.05, fence.ID, "", created, time.Second)
	t.Logf("fence created on A → restricted-zone alarm stored by B: %s (B checks the config version hourly)", took.Round(time.Millisecond))

	// 2. A rule edited on A applies on B.
	status, body = apiCall(t, addrA, admin, http.MethodPost, "/api/v1/rules",
		`{"name":"Test low level","kind":"level","severity":"warning","enabled":true,"level":{"threshold_usvh":50}}`)
	if status != http.StatusCreated {
		t.Fatalf("create rule on A: %d %s", status, body)
	}
	var rule struct {
		Rule map[string]any `json:"rule"`
	}
	if err := json.Unmarshal(body, &rule); err != nil {
		t.Fatal(err)
	}
	rule.Rule["level"] = map[string]any{"threshold_usvh": 0.2}
	edit, _ := json.Marshal(rule.Rule)
	status, body = apiCall(t, addrA, admin, http.MethodPut, fmt.Sprintf("/api/v1/rules/%v", rule.Rule["id"]), string(edit))
	if status != http.StatusOK {
		t.Fatalf("edit rule on A: %d %s", status, body)
	}
	edited := time.Now()
	took = driveUntil(t, conn, addrB, tokenB, "van-on-b", &tB, 4.0, 51.9, 0.3, 0, "Test low level", edited, time.Second)
	t.Logf("rule edited on A (threshold 50 → 0.2 µSv/h) → its alarm stored by B: %s", took.Round(time.Millisecond))

	// 3. C is cut off from Redis during an edit: the notice is lost for
	// it; its version check applies the new fence within its period.
	proxy.Down()
	status, body = apiCall(t, addrA, admin, http.MethodPost, "/api/v1/fences", square("Container stack", 4.10, 51.95))
	if status != http.StatusCreated {
		t.Fatalf("create second fence on A: %d %s", status, body)
	}
	created = time.Now()
	if err := json.Unmarshal(body, &fence); err != nil || fence.ID == 0 {
		t.Fatalf("created fence %s: %v", body, err)
	}
	took = driveUntil(t, conn, addrC, tokenC, "van-on-c", &tC, 4.10, 51.95, 0.05, fence.ID, "", created, 3*time.Second)
	t.Logf("fence created on A while C's Redis link was cut → alarm stored by C: %s (C checks every 1 s)", took.Round(time.Millisecond))
	proxy.Up()
}
