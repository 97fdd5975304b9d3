package faulttest

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/radtrack/radtrack/internal/faultproxy"
	"github.com/radtrack/radtrack/internal/pgtest"
)

// The database hangs: connections stay open, nothing is answered (a
// black-holed network, a lock pile-up, a frozen disk). A hot sample's
// alarms still reach the control room within 2 s of the sample, under
// provisional ids; the sample is acknowledged (spooled) within 3 s; a
// viewer connecting during the hang gets its map; a vehicle posting
// through the hang keeps being acknowledged (the node fails fast once a
// call ran out of time) and has every acknowledged sample stored once the
// database answers again, and the alarms are stored too.
func TestAlarmsDuringDatabaseHang(t *testing.T) {
	pgtest.EachDatabase(t, testAlarmsDuringDatabaseHang)
}

func testAlarmsDuringDatabaseHang(t *testing.T, db string) {
	proxy := faultproxy.Start(t, dbAddr(t, db))
	viaProxy := dbWithProxy(t, db, proxy.Port())
	data := t.TempDir()
	addr := freePort(t)
	srv := start(t, viaProxy, data, addr)
	password := waitPassword(t, srv)
	hot := addDevice(t, db, "van-hang-hot")
	steady := addDevice(t, db, "van-hang-steady")
	header := login(t, addr, password)
	room, _ := connect(t, addr, header)
	now := time.Now().UTC().Truncate(time.Second)
	if code, _ := postSample(t, addr, hot, now.Add(-10*time.Second), 0.1); code != http.StatusOK {
		t.Fatalf("background sample: %d", code)
	}
	ctx, stop := context.WithCancel(context.Background())
	v := &vehicle{token: steady, start: now.Add(-3 * time.Hour)}
	var wg sync.WaitGroup
	wg.Go(func() { v.run(ctx, func() string { return addr }, 5) })
	time.Sleep(500 * time.Millisecond) // the steady vehicle is known to the node

	v.mu.Lock()
	beforeHang := len(v.acked)
	v.mu.Unlock()
	proxy.Hang()
	hangStart := time.Now()
	type answer struct {
		code int
		took time.Duration
	}
	answered := make(chan answer, 1)
	sent := time.Now()
	go func() {
		body := fmt.Sprintf(`{"time":%q,"lat":51.95,"lon":4.05,"dose_rate":3}`, now.Add(-9*time.Second).Format(time.RFC3339))
		req, _ := http.NewRequest(http.MethodPost, "http://"+addr+"/api/v1/measurements", strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+hot)
		req.Header.Set("Content-Type", "application/json")
		resp, err := (&http.Client{Timeout: 20 * time.Second}).Do(req)
		if err != nil {
			answered <- answer{0, time.Since(sent)}
			return
		}
		resp.Body.Close()
		answered <- answer{resp.StatusCode, time.Since(sent)}
	}()
	provisional := room.alarms("alarms raised during the hang", 10*time.Second, func(got []alarmJSON) bool { return len(got) >= 2 })
	latency := time.Since(sent)
	a := <-answered
	t.Logf("hang: both alarms on the control room's socket %s after the sample; the sample answered %d in %s",
		latency.Round(time.Millisecond), a.code, a.took.Round(time.Millisecond))
	if latency > 2*time.Second {
		t.Errorf("alarms reached the viewer %s after the sample, want within 2 s", latency.Round(time.Millisecond))
	}
	for _, al := range provisional {
		if al.ID >= 0 {
			t.Errorf("alarm pushed during the hang with id %d, want a provisional (negative) id", al.ID)
		}
	}
	if a.code != http.StatusOK || a.took > 3*time.Second {
		t.Errorf("hot sample during the hang answered %d in %s, want 200 (spooled) within 3 s", a.code, a.took.Round(time.Millisecond))
	}
	// A control room connecting during the hang gets its map (the alarms
	// from the node's memory) in bounded time.
	dialed := time.Now()
	_, snapshot := connect(t, addr, header)
	t.Logf("hang: a viewer connecting during it got its snapshot in %s with %d alarms", time.Since(dialed).Round(time.Millisecond), len(snapshot))
	if len(snapshot) != 2 || time.Since(dialed) > 4*time.Second {
		t.Errorf("a viewer connecting during the hang got %d alarms in %s, want the 2 provisional ones within 4 s", len(snapshot), time.Since(dialed).Round(time.Millisecond))
	}
	time.Sleep(time.Until(hangStart.Add(8 * time.Second)))
	v.mu.Lock()
	duringHang, codes := len(v.acked), v.codes
	v.mu.Unlock()
	proxy.Up()
	back := time.Now()
	time.Sleep(500 * time.Millisecond)
	stop()
	wg.Wait()
	acked := append(v.ackedTimes(), now.Add(-10*time.Second), now.Add(-9*time.Second))
	stored, miss := waitStored(t, db, acked, 20*time.Second)
	t.Logf("steady vehicle: %d samples acknowledged during the %s hang, %d in all (answers %v); %d rows stored %s after the database answered again, %d acknowledged missing",
		duringHang-beforeHang, back.Sub(hangStart).Round(time.Millisecond), len(acked)-2, codes, stored, time.Since(back).Round(time.Millisecond), miss)
	if duringHang-beforeHang < 100 {
		t.Errorf("only %d samples acknowledged during the hang: ingest stalls instead of spooling", duringHang-beforeHang)
	}
	if miss != 0 {
		t.Fatalf("%d acknowledged samples missing after the hang\n%s", miss, tail(srv.output(), 3000))
	}
	deadline := time.Now().Add(15 * time.Second)
	for {
		n, samples := storedAlarms(t, db, "van-hang-hot")
		if n == 2 && samples == 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d alarms with %d samples stored after the hang, want 2 with 1 sample each\n%s", n, samples, tail(srv.output(), 3000))
		}
		time.Sleep(200 * time.Millisecond)
	}
}
