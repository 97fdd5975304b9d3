package faulttest

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/radtrack/radtrack/internal/pgtest"
)

// Two radtrack processes share PostgreSQL and Redis: a vehicle posting to
// node A is on the map of a viewer connected to node B, and an alarm raised
// on A reaches B.
func TestTwoProcessesShareTheLivePushThroughRedis(t *testing.T) {
	redisURL := os.Getenv("RADTRACK_TEST_REDIS_URL")
	if redisURL == "" {
		if os.Getenv("CI") == "true" {
			t.Fatal("RADTRACK_TEST_REDIS_URL is not set: run the tests through scripts/test.sh")
		}
		t.Skip("RADTRACK_TEST_REDIS_URL is not set: run scripts/test.sh")
	}
	var b [6]byte
	_, _ = rand.Read(b[:])
	prefix := "radtrack-faulttest:" + hex.EncodeToString(b[:])
	db := pgtest.NewDatabase(t)
	addrA, addrB := freePort(t), freePort(t)
	a := start(t, db, t.TempDir(), addrA, "-redis-url", redisURL, "-redis-prefix", prefix)
	password := waitPassword(t, a)
	start(t, db, t.TempDir(), addrB, "-redis-url", redisURL, "-redis-prefix", prefix)
	token := addDevice(t, db, "van-two-nodes")

	// The viewer logs in on B and opens the live socket there.
	header := login(t, addrB, password)
	ws, _, err := websocket.DefaultDialer.Dial("ws://"+addrB+"/api/v1/live", header)
	if err != nil {
		t.Fatal(err)
	}
	defer ws.Close()
	type frame struct {
		Type      string `json:"type"`
		Event     string `json:"event"`
		Positions struct {
			Lon []float64 `json:"lon"`
		} `json:"positions"`
	}
	next := func(what string, ok func(frame) bool) time.Time {
		t.Helper()
		for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); {
			var f frame
			_ = ws.SetReadDeadline(deadline)
			if err := ws.ReadJSON(&f); err != nil {
				t.Fatalf("waiting for %s: %v", what, err)
			}
			if ok(f) {
				return time.Now()
			}
		}
		t.Fatalf("no %s within 5 s", what)
		return time.Time{}
	}
	next("snapshot", func(f frame) bool { return f.Type == "snapshot" })

	post := func(dose float64, lon float64) time.Time {
		body := fmt.Sprintf(`{"time":%q,"lat":51.95,"lon":%f,"dose_rate":%g}`, time.Now().UTC().Add(-time.Second).Format(time.RFC3339Nano), lon, dose)
		req, _ := http.NewRequest(http.MethodPost, "http://"+addrA+"/api/v1/measurements", strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+token)
		req.Header.Set("Content-Type", "application/json")
		sent := time.Now()
		resp, err := http.DefaultClient.Do(req)
		if err != nil || resp.StatusCode != http.StatusOK {
			t.Fatalf("post to A: %v %v", resp, err)
		}
		resp.Body.Close()
		return sent
	}
	sent := post(0.1, 4.0512)
	got := next("position from A on B", func(f frame) bool {
		return f.Type == "positions" && len(f.Positions.Lon) > 0 && f.Positions.Lon[0] == 4.0512
	})
	t.Logf("position posted to A seen on B after %s", got.Sub(sent).Round(time.Millisecond))
	sent = post(3, 4.0513)
	got = next("alarm from A on B", func(f frame) bool { return f.Type == "alarm" && f.Event == "raised" })
	t.Logf("alarm raised on A seen on B after %s", got.Sub(sent).Round(time.Millisecond))
}
