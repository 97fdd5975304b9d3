package faulttest

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/jackc/pgx/v5"

	"github.com/radtrack/radtrack/internal/faultproxy"
	"github.com/radtrack/radtrack/internal/pgtest"
)

// liveFrame is the part of a live frame (live/PROTOCOL.md) this test reads.
type liveFrame struct {
	Type    string            `json:"type"`
	Event   string            `json:"event"`
	AlarmID int64             `json:"alarm_id"`
	Alarm   json.RawMessage   `json:"alarm"`
	Alarms  []json.RawMessage `json:"alarms"`
}

type alarmJSON struct {
	ID            int64  `json:"id"`
	ProvisionalID int64  `json:"provisional_id"`
	DeviceID      int64  `json:"device_id"`
	RuleName      string `json:"rule_name"`
}

// viewer is a logged-in map client on the live socket.
type viewer struct {
	t  *testing.T
	ws *websocket.Conn
}

// connect opens the live socket and returns the alarms of its snapshot.
func connect(t *testing.T, addr string, header http.Header) (*viewer, []alarmJSON) {
	t.Helper()
	ws, _, err := websocket.DefaultDialer.Dial("ws://"+addr+"/api/v1/live", header)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ws.Close() })
	v := &viewer{t: t, ws: ws}
	var snap liveFrame
	v.next("snapshot", 10*time.Second, func(f liveFrame) bool { snap = f; return f.Type == "snapshot" })
	out := make([]alarmJSON, len(snap.Alarms))
	for i, raw := range snap.Alarms {
		if err := json.Unmarshal(raw, &out[i]); err != nil {
			t.Fatal(err)
		}
	}
	return v, out
}

func (v *viewer) next(what string, within time.Duration, ok func(liveFrame) bool) {
	v.t.Helper()
	deadline := time.Now().Add(within)
	for {
		var f liveFrame
		_ = v.ws.SetReadDeadline(deadline)
		if err := v.ws.ReadJSON(&f); err != nil {
			v.t.Fatalf("waiting for %s: %v", what, err)
		}
		if ok(f) {
			return
		}
	}
}

// alarms collects alarm frames until want returns true.
func (v *viewer) alarms(what string, within time.Duration, want func([]alarmJSON) bool) []alarmJSON {
	v.t.Helper()
	var got []alarmJSON
	v.next(what, within, func(f liveFrame) bool {
		if f.Type != "alarm" {
			return false
		}
		var a alarmJSON
		if err := json.Unmarshal(f.Alarm, &a); err != nil {
			v.t.Fatal(err)
		}
		if f.Event == "raised" {
			a.ID = f.AlarmID
		}
		got = append(got, a)
		return want(got)
	})
	return got
}

func postSample(t *testing.T, addr, token string, at time.Time, dose float64) (int, time.Duration) {
	t.Helper()
	body := fmt.Sprintf(`{"time":%q,"lat":51.95,"lon":4.05,"dose_rate":%g}`, at.Format(time.RFC3339), dose)
	req, _ := http.NewRequest(http.MethodPost, "http://"+addr+"/api/v1/measurements", strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	sent := time.Now()
	resp, err := (&http.Client{Timeout: 20 * time.Second}).Do(req)
	if err != nil {
		t.Fatalf("post sample: %v", err)
	}
	resp.Body.Close()
	return resp.StatusCode, time.Since(sent)
}

// storedAlarms counts the stored alarms of a device and their samples.
func storedAlarms(t *testing.T, db, uid string) (alarms, samples int) {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	if err := conn.QueryRow(ctx, `SELECT count(*), coalesce(sum(a.samples), 0) FROM alarms a JOIN devices d ON d.id = a.device_id WHERE d.uid = $1`,
		uid).Scan(&alarms, &samples); err != nil {
		t.Fatal(err)
	}
	return alarms, samples
}

// The database goes away; a hot sample still raises its alarms, which are
// pushed to the control room at once under provisional ids, shown to a
// viewer who connects during the outage, and stored when the database
// returns, with the stored ids pushed. A second outage ends in kill -9:
// the alarms acknowledged to the vehicle are stored after the restart.
func TestAlarmsDuringDatabaseOutage(t *testing.T) {
	pgtest.EachDatabase(t, testAlarmsDuringDatabaseOutage)
}

func testAlarmsDuringDatabaseOutage(t *testing.T, db string) {
	proxy := faultproxy.Start(t, dbAddr(t, db))
	viaProxy := dbWithProxy(t, db, proxy.Port())
	data := t.TempDir()
	addr := freePort(t)
	srv := start(t, viaProxy, data, addr)
	password := waitPassword(t, srv)
	tokenA := addDevice(t, db, "van-alarm-outage")
	tokenB := addDevice(t, db, "van-alarm-crash")
	header := login(t, addr, password)
	room, _ := connect(t, addr, header)
	now := time.Now().UTC().Truncate(time.Second)
	if code, _ := postSample(t, addr, tokenA, now.Add(-10*time.Second), 0.1); code != http.StatusOK {
		t.Fatalf("background sample: %d", code)
	}

	// Outage 1: the alarms are pushed and, after it, stored.
	proxy.Down()
	code, took := postSample(t, addr, tokenA, now.Add(-9*time.Second), 3)
	if code != http.StatusOK {
		t.Fatalf("hot sample during the outage answered %d, want 200 (journaled and spooled)\n%s", code, tail(srv.output(), 3000))
	}
	pushWait := time.Now()
	provisional := room.alarms("alarms raised during the outage", 10*time.Second, func(got []alarmJSON) bool { return len(got) >= 2 })
	t.Logf("outage: hot sample acknowledged in %s, both alarms on the control room's socket %s later: %+v",
		took.Round(time.Millisecond), time.Since(pushWait).Round(time.Millisecond), provisional)
	for _, a := range provisional {
		if a.ID >= 0 {
			t.Fatalf("alarm pushed during the outage with id %d, want a provisional (negative) id", a.ID)
		}
	}
	_, snapshot := connect(t, addr, header)
	if len(snapshot) != 2 || snapshot[0].ID >= 0 || snapshot[1].ID >= 0 {
		t.Fatalf("a viewer connecting during the outage got %+v in its snapshot, want the 2 provisional alarms", snapshot)
	}
	if n, _ := storedAlarms(t, db, "van-alarm-outage"); n != 0 {
		t.Fatalf("%d alarms in the database during the outage (the proxy is down?)", n)
	}
	proxy.Up()
	back := time.Now()
	stored := map[int64]int64{}
	room.alarms("stored ids of the provisional alarms", 15*time.Second, func(got []alarmJSON) bool {
		for _, a := range got {
			if a.ProvisionalID != 0 {
				stored[a.ProvisionalID] = a.ID
			}
		}
		return stored[provisional[0].ID] > 0 && stored[provisional[1].ID] > 0
	})
	n, samples := storedAlarms(t, db, "van-alarm-outage")
	t.Logf("outage over: stored ids pushed %s after the database returned: %v; %d alarms stored, %d samples",
		time.Since(back).Round(time.Millisecond), stored, n, samples)
	if n != 2 || samples != 2 {
		t.Fatalf("%d alarms with %d samples stored, want 2 alarms (notice, OIL3) with 1 sample each", n, samples)
	}

	// Outage 2 ends in kill -9 before the database returns. The second
	// vehicle reported before it (a vehicle this node never saw cannot be
	// authenticated while the database is away).
	if code, _ := postSample(t, addr, tokenB, now.Add(-9*time.Second), 0.1); code != http.StatusOK {
		t.Fatalf("background sample of the second vehicle: %d", code)
	}
	proxy.Down()
	if code, _ := postSample(t, addr, tokenB, now.Add(-8*time.Second), 5); code != http.StatusOK {
		t.Fatalf("hot sample during the second outage answered %d", code)
	}
	room.alarms("alarms of the second outage", 10*time.Second, func(got []alarmJSON) bool { return len(got) >= 2 })
	srv.kill()
	proxy.Up()
	start2 := time.Now()
	restarted := start(t, viaProxy, data, addr)
	n, samples = storedAlarms(t, db, "van-alarm-crash")
	t.Logf("kill -9 during outage 2: after the restart (%s) %d alarms stored with %d samples",
		time.Since(start2).Round(time.Millisecond), n, samples)
	if n != 2 || samples != 2 {
		t.Fatalf("%d alarms with %d samples stored after kill -9 and restart, want 2 with 1 sample each\n%s", n, samples, tail(restarted.output(), 3000))
	}
	// The hot samples themselves went to the spool and are stored too.
	if stored, miss := waitStored(t, db, []time.Time{now.Add(-9 * time.Second), now.Add(-8 * time.Second)}, 10*time.Second); miss != 0 {
		t.Fatalf("%d of the hot samples missing (%d stored)", miss, stored)
	}
}
