package faulttest

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/radtrack/radtrack/internal/faultproxy"
	"github.com/radtrack/radtrack/internal/pgtest"
)

// missing returns the acknowledged times not in the table.
func missing(t *testing.T, dbURL string, acked []time.Time) (stored, miss int) {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	if err := conn.QueryRow(ctx, "SELECT count(*) FROM measurements").Scan(&stored); err != nil {
		t.Fatal(err)
	}
	rows, err := conn.Query(ctx, "SELECT time FROM measurements")
	if err != nil {
		t.Fatal(err)
	}
	have := map[int64]bool{}
	for rows.Next() {
		var tm time.Time
		if err := rows.Scan(&tm); err != nil {
			t.Fatal(err)
		}
		have[tm.Unix()] = true
	}
	for _, a := range acked {
		if !have[a.Unix()] {
			miss++
		}
	}
	return stored, miss
}

// waitStored polls until every acknowledged sample is in the table (the
// spool replays in the background) or the deadline passes.
func waitStored(t *testing.T, dbURL string, acked []time.Time, within time.Duration) (stored, miss int) {
	deadline := time.Now().Add(within)
	for {
		stored, miss = missing(t, dbURL, acked)
		if miss == 0 || time.Now().After(deadline) {
			return stored, miss
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// (a) kill -9 during sustained ingest, restart: nothing acknowledged is lost.
func TestKill9DuringIngestLosesNothingAcknowledged(t *testing.T) {
	pgtest.EachDatabase(t, testKill9DuringIngestLosesNothingAcknowledged)
}

func testKill9DuringIngestLosesNothingAcknowledged(t *testing.T, db string) {
	data := t.TempDir()
	addr := freePort(t)
	start(t, db, data, addr).kill() // migrate and create the admin once
	token := addDevice(t, db, "van-kill9")
	srv := start(t, db, data, addr)

	ctx, cancel := context.WithCancel(context.Background())
	v := &vehicle{token: token, start: time.Now().UTC().Add(-6 * time.Hour).Truncate(time.Second)}
	var wg sync.WaitGroup
	wg.Go(func() { v.run(ctx, func() string { return addr }, 50) })
	time.Sleep(1500 * time.Millisecond)
	srv.kill()
	time.Sleep(300 * time.Millisecond)
	start(t, db, data, addr)
	time.Sleep(1 * time.Second)
	cancel()
	wg.Wait()

	acked := v.ackedTimes()
	stored, miss := waitStored(t, db, acked, 10*time.Second)
	t.Logf("kill -9: %d samples sent, %d acknowledged, %d stored, %d acknowledged but missing, %d requests failed", v.sent, len(acked), stored, miss, v.fails)
	if len(acked) == 0 || miss != 0 {
		t.Fatalf("%d acknowledged samples missing after kill -9 and restart (of %d acknowledged)", miss, len(acked))
	}
}

// (b) the database goes away for 10 s during ingest: acknowledged samples
// are spooled and replayed, ingest goes on without a restart.
func TestDatabaseOutageSpoolsAndRecovers(t *testing.T) {
	pgtest.EachDatabase(t, testDatabaseOutageSpoolsAndRecovers)
}

func testDatabaseOutageSpoolsAndRecovers(t *testing.T, db string) {
	proxy := faultproxy.Start(t, dbAddr(t, db))
	viaProxy := dbWithProxy(t, db, proxy.Port())
	token := addDevice(t, db, "van-outage")
	addr := freePort(t)
	srv := start(t, viaProxy, t.TempDir(), addr)

	ctx, cancel := context.WithCancel(context.Background())
	v := &vehicle{token: token, start: time.Now().UTC().Add(-6 * time.Hour).Truncate(time.Second)}
	var wg sync.WaitGroup
	wg.Go(func() { v.run(ctx, func() string { return addr }, 10) })
	time.Sleep(time.Second)
	before := len(v.ackedTimes())
	proxy.Down()
	time.Sleep(10 * time.Second)
	during := len(v.ackedTimes()) - before
	proxy.Up()
	backAt := time.Now().UTC()
	time.Sleep(3 * time.Second)
	cancel()
	wg.Wait()
	after := len(v.ackedTimes()) - before - during

	acked := v.ackedTimes()
	stored, miss := waitStored(t, db, acked, 15*time.Second)
	t.Logf("status codes: %v", v.codes)
	t.Logf("10 s outage: %d acknowledged before, %d during (spooled), %d after; %d stored, %d missing, %d requests failed",
		before, during, after, stored, miss, v.fails)
	if v.codes[503] > 3 {
		t.Errorf("%d requests refused with 503 during the outage: known devices should stay authenticated", v.codes[503])
	}
	if during == 0 {
		t.Errorf("nothing was acknowledged during the outage: the spool did not take over\n%s", srv.output())
	}
	if after == 0 {
		var after []string
		for _, l := range strings.Split(srv.output(), "\n") {
			if strings.Contains(l, `"time":"`) && l[9:36] >= backAt.Format("2006-01-02T15:04:05.000000") {
				after = append(after, l)
			}
		}
		t.Errorf("ingest did not resume after the database came back; log after recovery:\n%s", tail(strings.Join(after, "\n"), 3000))
	}
	if miss != 0 {
		t.Fatalf("%d acknowledged samples missing after the outage", miss)
	}
}

func tail(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}
