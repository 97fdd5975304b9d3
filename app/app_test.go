package app_test

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/radtrack/radtrack/app"
	"github.com/radtrack/radtrack/auth"
	"github.com/radtrack/radtrack/geo"
	"github.com/radtrack/radtrack/ingest"
	"github.com/radtrack/radtrack/internal/pgtest"
	"github.com/radtrack/radtrack/internal/testutil"
	"github.com/radtrack/radtrack/server"
	"github.com/radtrack/radtrack/store"
	"github.com/radtrack/radtrack/store/pgstore"
)

// startNode runs a full node on loopback ports against a fresh database.
func startNode(t *testing.T) *app.Node {
	t.Helper()
	return startNodeWith(t, nil)
}

// startNodeWith runs a node whose configuration edit may change first
// (e.g. a shared database and Redis for a second node).
func startNodeWith(t *testing.T, edit func(*app.Config)) *app.Node {
	t.Helper()
	scfg := server.DefaultConfig()
	scfg.BcryptCost = bcrypt.MinCost
	cfg := app.Config{
		DB:     pgstore.Config{URL: pgtest.NewDatabase(t)},
		Server: scfg, Writer: ingest.DefaultWriterConfig(), Geo: geo.DefaultConfig(),
		Addr: "127.0.0.1:0", OsmAndAddr: "127.0.0.1:0", BGeigieAddr: "127.0.0.1:0",
		DeviceCacheTTL: time.Second, ShutdownTimeout: 10 * time.Second,
		BGeigieIdle: 10 * time.Second, BGeigieMaxConns: 16,
		SpoolDir: t.TempDir(), SpoolMaxBytes: 64 << 20, LiveTick: 20 * time.Millisecond,
	}
	if edit != nil {
		edit(&cfg)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	ctx, cancel := context.WithCancel(context.Background())
	node, err := app.New(ctx, cfg, log, nil)
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- node.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("node stopped with: %v", err)
		}
	})
	return node
}

func addDevice(t *testing.T, n *app.Node, uid string, legacy bool) string {
	t.Helper()
	token, hash, _ := auth.NewDeviceToken()
	if _, err := n.Store.CreateDevice(context.Background(), store.Device{UID: uid, Name: "dev " + uid, LegacyIDOnly: legacy}, hash); err != nil {
		t.Fatal(err)
	}
	return token
}

// row is what a test reads back from the measurements table.
type row struct {
	lat, lon            float64
	gpsValid            bool
	speed, heading, alt *float64
	dose, cpm           *float64
	battery             *float64
	time                time.Time
	source              string
	attributes          map[string]any
}

func lastRow(t *testing.T, n *app.Node, uid string) (row, bool) {
	t.Helper()
	var r row
	err := n.PG.Pool().QueryRow(context.Background(), `SELECT m.lat, m.lon, m.gps_valid, m.speed, m.heading, m.altitude,
		m.dose_rate, m.cpm, m.battery, m.time, m.source, m.attributes
		FROM measurements m JOIN devices d ON d.id = m.device_id WHERE d.uid = $1 ORDER BY m.received_at DESC, m.time DESC LIMIT 1`, uid).
		Scan(&r.lat, &r.lon, &r.gpsValid, &r.speed, &r.heading, &r.alt, &r.dose, &r.cpm, &r.battery, &r.time, &r.source, &r.attributes)
	return r, err == nil
}

func count(t *testing.T, n *app.Node, query string, args ...any) int {
	t.Helper()
	var c int
	if err := n.PG.Pool().QueryRow(context.Background(), query, args...).Scan(&c); err != nil {
		t.Fatal(err)
	}
	return c
}

func near(a *float64, b float64) bool { return a != nil && math.Abs(*a-b) < 1e-6 }

// The OsmAnd vectors of ../shared/vectors/osmand.md, sent over a real socket.
func TestOsmAndListenerStoresVectors(t *testing.T) {
	n := startNode(t)
	base := "http://" + n.OsmAndAddr()
	tokens := map[string]string{}
	for _, uid := range []string{"902064", "353861053849681", "123456", "861001000719969", "123456789012345", "48241179", "8737767034"} {
		tokens[uid] = addDevice(t, n, uid, false)
	}
	addDevice(t, n, "555000", true) // legacy: id alone is enough

	get := func(query string) (int, string) {
		resp, err := http.Get(base + "/" + query)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	withKey := func(q, uid string) string { return q + "&key=" + tokens[uid] }

	cases := []struct {
		name, query, uid string
		check            func(r row) bool
	}{
		{"iso timestamp", withKey("?id=902064&lat=42.06288&lon=-88.23412&timestamp=2016-01-27T18%3A55%3A47Z&hdop=6.0&altitude=224.0&speed=0.0", "902064"), "902064",
			func(r row) bool {
				return r.lat == 42.06288 && r.lon == -88.23412 && r.gpsValid && near(r.alt, 224) && near(r.speed, 0) &&
					r.time.Equal(time.Date(2016, 1, 27, 18, 55, 47, 0, time.UTC)) && r.source == "osmand"
			}},
		{"ms timestamp", withKey("?id=902064&lat=42.06288&lon=-88.23412&timestamp=1442068686579&hdop=6.0&altitude=224.0&speed=0.0", "902064"), "902064",
			func(r row) bool { return r.time.Equal(time.UnixMilli(1442068686579)) }},
		{"date-time timestamp, id last", withKey("?lat=49.60688&lon=6.15788&timestamp=2014-06-04+09%3A10%3A11&altitude=384.7&speed=0.0&id=353861053849681", "353861053849681"), "353861053849681",
			func(r row) bool {
				return r.time.Equal(time.Date(2014, 6, 4, 9, 10, 11, 0, time.UTC)) && r.lat == 49.60688 && near(r.alt, 384.7)
			}},
		{"location form, seconds", withKey("?id=123456&timestamp=1377177267&location=60.0,30.0", "123456"), "123456",
			func(r row) bool { return r.lat == 60 && r.lon == 30 && r.time.Equal(time.Unix(1377177267, 0)) }},
		{"battery", withKey("?id=861001000719969&lat=41.666667&lon=-0.883333&altitude=350.059479&speed=0.000000&batt=87", "861001000719969"), "861001000719969",
			func(r row) bool { return near(r.battery, 87) && r.lat == 41.666667 }},
		{"speed in knots, custom attributes, dose", withKey("?id=123456789012345&timestamp=1504763810&lat=40.7232948571&lon=-74.0061408571&bearing=7.19889788244&speed=40&ignition=true&rpm=933&fuel=24&doseRate=0.12", "123456789012345"), "123456789012345",
			func(r row) bool {
				return near(r.speed, 40*1852.0/3600) && near(r.heading, 7.19889788244) && near(r.dose, 0.12) &&
					r.attributes["ignition"] == true && r.attributes["rpm"] == float64(933)
			}},
		{"legacy id-only device", "?id=555000&lat=51.9&lon=4.1&cpm=167", "555000",
			func(r row) bool { return near(r.cpm, 167) && near(r.dose, 0.5) }},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			status, body := get(c.query)
			if status != http.StatusOK || body != "" {
				t.Fatalf("status %d body %q, want 200 with an empty body", status, body)
			}
			r, ok := lastRow(t, n, c.uid)
			if !ok || !c.check(r) {
				t.Fatalf("stored %+v", r)
			}
		})
	}

	// The JSON variant (Traccar Client 9), the key in the URL's query.
	jsonBody := `{"location":{"event":"motionchange","is_moving":false,"timestamp":"2021-07-21T08:06:34.444Z","odometer":0,"coords":{"latitude":-6.1148096,"longitude":106.6837015,"accuracy":3.8,"speed":18.67,"heading":63,"altitude":35.7},"battery":{"is_charging":false,"level":0.79},"extras":{"doseRate":0.25}},"device_id":"8737767034"}`
	resp, err := http.Post(base+"/?key="+tokens["8737767034"], "application/json", strings.NewReader(jsonBody))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("JSON variant: %d", resp.StatusCode)
	}
	if r, ok := lastRow(t, n, "8737767034"); !ok || r.lat != -6.1148096 || !near(r.speed, 18.67) || !near(r.battery, 79) || !near(r.dose, 0.25) {
		t.Fatalf("JSON variant stored %+v", r)
	}

	// Basic auth carries the key as the password.
	req, _ := http.NewRequest(http.MethodPost, base+"/?id=123456&timestamp=1377177300&lat=60.1&lon=30.1", nil)
	req.SetBasicAuth("123456", tokens["123456"])
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("basic auth: %v %v", resp, err)
	}

	before := count(t, n, "SELECT count(*) FROM measurements")
	for _, c := range []struct {
		query  string
		status int
	}{
		{"?timestamp=1377177267&lat=60.0&lon=30.0", http.StatusBadRequest},                // no id (vector 11)
		{"?id=999999&lat=60.0&lon=30.0", http.StatusUnauthorized},                         // unknown device: answered like a wrong key
		{"?id=123456&lat=60.0&lon=30.0", http.StatusUnauthorized},                         // no key, not legacy
		{"?id=123456&lat=60.0&lon=30.0&key=" + tokens["902064"], http.StatusUnauthorized}, // another device's key
		{"?id=123456&lat=91.0&lon=30.0&key=" + tokens["123456"], http.StatusBadRequest},   // invalid latitude
		{"?id=123456&lat=abc&lon=30.0&key=" + tokens["123456"], http.StatusBadRequest},    // malformed number
	} {
		if status, body := get(c.query); status != c.status {
			t.Errorf("%s: status %d (%s), want %d", c.query, status, body, c.status)
		}
	}
	if after := count(t, n, "SELECT count(*) FROM measurements"); after != before {
		t.Fatalf("refused requests stored %d rows", after-before)
	}
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// A real bGeigie log streamed over TCP as a unit would, with noise lines.
func TestBGeigieListenerStreamsRealLog(t *testing.T) {
	logPath := testutil.SharedFile(t, "data/radiation/safecast_bgeigie_BGRDD_fukushima_2012-07-01.log")
	n := startNode(t)
	token := addDevice(t, n, "003", false)
	data, err := os.ReadFile(logPath)
	if err != nil {
		t.Fatal(err)
	}
	conn, err := net.Dial("tcp", n.BGeigieAddr())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprintf(conn, "AUTH %s\r\n", token)
	reply, err := bufio.NewReader(conn).ReadString('\n')
	if err != nil || reply != "OK 003\n" {
		t.Fatalf("AUTH reply %q, %v", reply, err)
	}
	// Garbage, a bad checksum, an over-long line and another unit's
	// sentence in the middle must not stop the stream.
	lines := bytes.SplitAfter(data, []byte("\n"))
	mid := len(lines) / 2
	noise := "garbage line\r\n$BGRDD,003,2012-07-01T01:00:00Z,1,1,1,A,3732.0,N,14056.0,E,1,A,1,1*00\r\n" +
		strings.Repeat("x", 10000) + "\n$BNRDD,5002,2025-07-25T19:04:40Z,48,2,27761,A,3428.9589,N,13609.7811,E,578.7,A,18,141*76\n"
	stream := append(bytes.Join(lines[:mid], nil), noise...)
	stream = append(stream, bytes.Join(lines[mid:], nil)...)
	if _, err := conn.Write(stream); err != nil {
		t.Fatal(err)
	}
	// Expected: every $BGRDD sentence of the file, each with a distinct time:
	//   grep -c '^\$BGRDD' safecast_bgeigie_BGRDD_fukushima_2012-07-01.log   → 1046
	// Max dose, calibration 334 CPM per µSv/h, from CPM while the 5-s counts
	// agree with it (sample.FillDose): the drive's CPM peak, 637 (49 counts,
	// binomial p = 0.62), → 637/334 (before FillDose weighed the two: the
	// 5-s counts' 71×12/334)
	waitFor(t, "1046 samples", func() bool {
		return count(t, n, "SELECT count(*) FROM measurements") == 1046
	})
	var maxDose float64
	var valid int
	if err := n.PG.Pool().QueryRow(context.Background(),
		"SELECT max(dose_rate), count(*) FILTER (WHERE gps_valid) FROM measurements").Scan(&maxDose, &valid); err != nil {
		t.Fatal(err)
	}
	if math.Abs(maxDose-637.0/334) > 1e-9 || valid != 1046 {
		t.Fatalf("max dose %v (want %v), gps-valid %d (want 1046)", maxDose, 637.0/334, valid)
	}

	// A wrong token is refused and the connection closed.
	bad, err := net.Dial("tcp", n.BGeigieAddr())
	if err != nil {
		t.Fatal(err)
	}
	defer bad.Close()
	fmt.Fprintf(bad, "AUTH rtd_wrong\n")
	reply, _ = bufio.NewReader(bad).ReadString('\n')
	if !strings.HasPrefix(reply, "ERR ") {
		t.Fatalf("wrong token: reply %q", reply)
	}
}

func TestBGeigieLegacyDeviceNeedsNoAuth(t *testing.T) {
	n := startNode(t)
	addDevice(t, n, "5002", true)
	addDevice(t, n, "5003", false)
	conn, err := net.Dial("tcp", n.BGeigieAddr())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	// Two sentences glued on one line, a lower-case checksum variant, then
	// a sentence of a device that is not legacy (refused).
	fmt.Fprint(conn, "$BNRDD,5002,2025-07-25T19:04:40Z,48,2,27761,A,3428.9589,N,13609.7811,E,578.7,A,18,141*76"+
		"$BNRDD,5002,2025-07-25T19:04:45Z,48,2,27763,V,0000.0000,N,0000.0000,E,578.7,V,0,0*"+checksum("BNRDD,5002,2025-07-25T19:04:45Z,48,2,27763,V,0000.0000,N,0000.0000,E,578.7,V,0,0")+"\r\n")
	waitFor(t, "2 samples", func() bool { return count(t, n, "SELECT count(*) FROM measurements") == 2 })
	if c := count(t, n, "SELECT count(*) FROM measurements WHERE NOT gps_valid"); c != 1 {
		t.Fatalf("%d samples without fix, want 1 (stored, dose kept)", c)
	}
}

func checksum(body string) string {
	var x byte
	for i := 0; i < len(body); i++ {
		x ^= body[i]
	}
	return fmt.Sprintf("%02x", x)
}

func TestTraccarForwarderThroughGatewayToken(t *testing.T) {
	n := startNode(t)
	addDevice(t, n, "864200050011223", false)
	hash, _ := auth.HashPassword("gateway-password", bcrypt.MinCost)
	u, err := n.Store.CreateUser(context.Background(), store.User{Username: "traccar-gw", Role: auth.RoleOperator, PasswordHash: hash})
	if err != nil {
		t.Fatal(err)
	}
	apiToken, apiHash, _ := auth.NewAPIToken()
	if _, err := n.Store.CreateAPIToken(context.Background(), u.ID, "traccar", apiHash); err != nil {
		t.Fatal(err)
	}
	post := func(uid string) int {
		body := `{"position":{"id":1,"deviceId":7,"protocol":"gt06","serverTime":"2026-11-22T06:00:01.000+00:00","deviceTime":"2026-11-22T06:00:00.000+00:00","fixTime":"2026-11-22T06:00:00.000+00:00","outdated":false,"valid":true,"latitude":51.95,"longitude":4.05,"altitude":3.0,"speed":10.0,"course":180.0,"accuracy":0.0,"attributes":{"sat":9,"hdop":0.9,"batteryLevel":87,"doseRate":0.31}},"device":{"id":7,"name":"Van 3","uniqueId":"` + uid + `","status":"online"}}`
		req, _ := http.NewRequest(http.MethodPost, "http://"+n.Addr()+"/api/v1/traccar", strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+apiToken)
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if s := post("864200050011223"); s != http.StatusOK {
		t.Fatalf("forwarded position: %d", s)
	}
	r, ok := lastRow(t, n, "864200050011223")
	if !ok || r.lat != 51.95 || r.lon != 4.05 || !near(r.speed, 10*1852.0/3600) || !near(r.dose, 0.31) || r.source != "traccar" ||
		!r.time.Equal(time.Date(2026, 11, 22, 6, 0, 0, 0, time.UTC)) {
		t.Fatalf("stored %+v", r)
	}
	if s := post("000"); s != http.StatusNotFound {
		t.Fatalf("unknown uniqueId: %d, want 404", s)
	}
}
