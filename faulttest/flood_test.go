package faulttest

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/radtrack/radtrack/internal/pgtest"
)

// procStatus reads one field (kB) of /proc/PID/status: VmRSS, VmHWM.
func procStatus(t *testing.T, pid int, field string) int {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatal(err)
	}
	for line := range strings.SplitSeq(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, field+":"); ok {
			kb, err := strconv.Atoi(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")))
			if err != nil {
				t.Fatalf("%s: %q", field, line)
			}
			return kb
		}
	}
	t.Fatalf("no %s in /proc/%d/status", field, pid)
	return 0
}

// openFDs counts the process's open file descriptors (sockets included).
func openFDs(t *testing.T, pid int) int {
	t.Helper()
	entries, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
	if err != nil {
		t.Fatal(err)
	}
	return len(entries)
}

// refusedMetric reads radtrack_requests_refused_total{protocol,reason}.
func refusedMetric(t *testing.T, addr, protocol, reason string) int {
	t.Helper()
	resp, err := http.Get("http://" + addr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	prefix := fmt.Sprintf("radtrack_requests_refused_total{protocol=%q,reason=%q} ", protocol, reason)
	for line := range strings.SplitSeq(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, prefix); ok {
			f, _ := strconv.ParseFloat(v, 64)
			return int(f)
		}
	}
	return 0
}

func dialFrom(ip, addr string) (net.Conn, error) {
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}, Timeout: 10 * time.Second}
	return d.Dial("tcp", addr)
}

// flood opens n idle connections to addr from ip and keeps them; it
// returns how many the dial itself refused (kernel backlog full).
func flood(t *testing.T, addr string, ips []string, perIP int) (conns []net.Conn, failed int) {
	t.Helper()
	var mu sync.Mutex
	jobs := make(chan string)
	var wg sync.WaitGroup
	for range 64 {
		wg.Go(func() {
			for ip := range jobs {
				c, err := dialFrom(ip, addr)
				mu.Lock()
				if err != nil {
					failed++
				} else {
					conns = append(conns, c)
				}
				mu.Unlock()
			}
		})
	}
	for _, ip := range ips {
		for range perIP {
			jobs <- ip
		}
	}
	close(jobs)
	wg.Wait()
	t.Cleanup(func() {
		for _, c := range conns {
			c.Close()
		}
	})
	return conns, failed
}

func sentence(uid string, at time.Time) string {
	body := fmt.Sprintf("BNRDD,%s,%s,48,2,27761,A,3428.9589,N,13609.7811,E,578.7,A,18,141", uid, at.UTC().Format("2006-01-02T15:04:05Z"))
	var x byte
	for i := 0; i < len(body); i++ {
		x ^= body[i]
	}
	return fmt.Sprintf("$%s*%02X\r\n", body, x)
}

// bgUnit connects a bGeigie unit from 127.0.0.1 and authenticates it.
func bgUnit(t *testing.T, addr, token, uid string) net.Conn {
	t.Helper()
	c, err := dialFrom("127.0.0.1", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	c.SetDeadline(time.Now().Add(10 * time.Second))
	fmt.Fprintf(c, "AUTH %s\r\n", token)
	reply, err := bufio.NewReader(c).ReadString('\n')
	if err != nil || reply != "OK "+uid+"\n" {
		t.Fatalf("AUTH %s answered %q, %v", uid, reply, err)
	}
	c.SetDeadline(time.Time{})
	return c
}

// waitOne waits until uid's first sample is stored, at most 10 s after since.
func waitOne(t *testing.T, db, uid string, since time.Time) {
	t.Helper()
	for storedOf(t, db, uid) != 1 {
		if time.Since(since) > 10*time.Second {
			t.Fatalf("%s's sample is not stored 10 s after it connected", uid)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func storedOf(t *testing.T, db, uid string) int {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var n int
	if err := conn.QueryRow(ctx, "SELECT count(*) FROM measurements m JOIN devices d ON d.id = m.device_id WHERE d.uid = $1", uid).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// Connection flood (issue 12, item 5): 10 000 idle unauthenticated
// connections to the bGeigie port from 40 loopback addresses, and 1 500 to
// the OsmAnd port from one, against a real radtrack process with the
// default caps (bGeigie: 10 000 in all, a tenth unauthenticated, 256 per
// address; HTTP listeners: 1 024 per address). A unit connected before the
// flood streams on; a new unit connects during it and its samples are
// stored within 5 s; an OsmAnd vehicle is answered at once; the server
// holds at most its unauthenticated share and closes the rest at the
// authentication deadline.
func TestConnectionFloodLeavesRoomForRealUnits(t *testing.T) {
	db := pgtest.NewDatabase(t)
	addr, bgAddr, osmAddr := freePort(t), freePort(t), freePort(t)
	veteranToken := addDevice(t, db, "flood-veteran")
	freshToken := addDevice(t, db, "flood-fresh")
	osmToken := addDevice(t, db, "flood-osmand")
	const authTimeout = 10 * time.Second // the default
	srv := start(t, db, t.TempDir(), addr, "-bgeigie-addr", bgAddr, "-osmand-addr", osmAddr)
	pid := srv.cmd.Process.Pid
	baseRSS, baseFDs := procStatus(t, pid, "VmRSS"), openFDs(t, pid)
	at := time.Now().UTC().Add(-2 * time.Hour).Truncate(time.Second)

	// Baseline, same run: a unit connecting to the idle server.
	connecting := time.Now()
	control := bgUnit(t, bgAddr, addDevice(t, db, "flood-control"), "flood-control")
	io.WriteString(control, sentence("flood-control", at))
	waitOne(t, db, "flood-control", connecting)
	controlLatency := time.Since(connecting)
	control.Close()

	// A unit streaming since before the flood, one sentence per 100 ms.
	veteran := bgUnit(t, bgAddr, veteranToken, "flood-veteran")
	var sent int
	stopVeteran := make(chan struct{})
	veteranDone := make(chan struct{})
	go func() {
		defer close(veteranDone)
		for i := 0; ; i++ {
			select {
			case <-stopVeteran:
				return
			case <-time.After(100 * time.Millisecond):
			}
			veteran.SetWriteDeadline(time.Now().Add(5 * time.Second))
			if _, err := io.WriteString(veteran, sentence("flood-veteran", at.Add(time.Duration(i)*time.Second))); err != nil {
				return
			}
			sent = i + 1
		}
	}()

	// One address first: its cap (256) bites.
	floodStart := time.Now()
	_, failedOne := flood(t, bgAddr, []string{"127.0.0.50"}, 300)
	var ips []string
	for i := 2; i < 42; i++ {
		ips = append(ips, fmt.Sprintf("127.0.0.%d", i))
	}
	conns, failed := flood(t, bgAddr, ips, 250)
	floodTook := time.Since(floodStart)
	floodRSS, floodFDs := procStatus(t, pid, "VmRSS"), openFDs(t, pid)

	// A new unit connects while the flood holds its sockets.
	connecting = time.Now()
	fresh := bgUnit(t, bgAddr, freshToken, "flood-fresh")
	io.WriteString(fresh, sentence("flood-fresh", at))
	waitOne(t, db, "flood-fresh", connecting)
	freshLatency := time.Since(connecting)

	// OsmAnd: 1 500 idle sockets from one address, then a real vehicle.
	osmConns, osmFailed := flood(t, osmAddr, []string{"127.0.0.60"}, 1500)
	osmSent := time.Now()
	resp, err := (&http.Client{Timeout: 10 * time.Second}).Get(fmt.Sprintf("http://%s/?id=flood-osmand&key=%s&lat=51.95&lon=4.05&timestamp=%d&doseRate=0.1", osmAddr, osmToken, at.Unix()))
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("OsmAnd request during the flood: %v %v", resp, err)
	}
	resp.Body.Close()
	osmLatency := time.Since(osmSent)
	peakRSS, peakFDs := procStatus(t, pid, "VmRSS"), openFDs(t, pid)

	close(stopVeteran)
	<-veteranDone
	for storedOf(t, db, "flood-veteran") != sent {
		if time.Since(osmSent) > 10*time.Second {
			t.Fatalf("the veteran unit sent %d samples during the flood, %d stored", sent, storedOf(t, db, "flood-veteran"))
		}
		time.Sleep(50 * time.Millisecond)
	}

	evicted := refusedMetric(t, addr, "bgeigie", "evicted")
	capped := refusedMetric(t, addr, "bgeigie", "too_many_connections")
	osmCapped := refusedMetric(t, addr, "osmand", "too_many_connections")
	t.Logf("flood: %d+%d bGeigie connections opened in %s (%d+%d dials failed), %d OsmAnd (%d failed)",
		300-failedOne, len(conns), floodTook.Round(time.Millisecond), failedOne, failed, len(osmConns), osmFailed)
	t.Logf("server fds: %d before, %d after the bGeigie flood, %d with the OsmAnd flood", baseFDs, floodFDs, peakFDs)
	t.Logf("server VmRSS: %d MiB before, %d MiB after the bGeigie flood, %d MiB with the OsmAnd flood too (VmHWM %d MiB)",
		baseRSS>>10, floodRSS>>10, peakRSS>>10, procStatus(t, pid, "VmHWM")>>10)
	t.Logf("refused: bgeigie too_many_connections %d, evicted %d; osmand too_many_connections %d", capped, evicted, osmCapped)
	t.Logf("new unit: connected, authenticated and its sample stored %s after it dialled (same run, idle server: %s); OsmAnd vehicle answered in %s; the veteran's %d samples all stored",
		freshLatency.Round(time.Millisecond), controlLatency.Round(time.Millisecond), osmLatency.Round(time.Millisecond), sent)

	if failedOne+failed+osmFailed != 0 {
		t.Errorf("%d dials failed: the flood did not reach the server as intended", failedOne+failed+osmFailed)
	}
	if capped != 300-256 {
		t.Errorf("bGeigie per-address cap refused %d of 300 connections from one address, want 44", capped)
	}
	// The flood's connections beyond the unauthenticated share (1 000) were
	// evicted, oldest first, and the new unit evicted one more (fewer if
	// some reached their deadline before the flood ended: counted below).
	if evicted < 9000 {
		t.Errorf("evicted %d connections, want about 256 + 10 000 - 1 000 + 1", evicted)
	}
	if osmCapped != 1500-1024 {
		t.Errorf("OsmAnd per-address cap refused %d of 1500, want 476", osmCapped)
	}
	if held := floodFDs - baseFDs; held > 1000+10 {
		t.Errorf("the server holds %d more sockets under the bGeigie flood, want at most its unauthenticated share (1000)", held)
	}
	if freshLatency > 5*time.Second {
		t.Errorf("the new unit's first sample was stored %s after it connected, want under 5 s", freshLatency)
	}

	// At the deadline the flood's connections are closed, every one counted
	// as evicted or timed out; the units stay.
	deadline := time.Now().Add(authTimeout + 6*time.Second) // + the HTTP header timeout (5 s)
	var timedOut int
	for {
		evicted, timedOut = refusedMetric(t, addr, "bgeigie", "evicted"), refusedMetric(t, addr, "bgeigie", "auth_timeout")
		fds := openFDs(t, pid)
		if evicted+timedOut == 256+10_000 && fds <= baseFDs+10 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s after the flood: evicted %d + timed out %d of the 10 256 flood connections let in; %d sockets open (baseline %d)",
				authTimeout+6*time.Second, evicted, timedOut, fds, baseFDs)
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Logf("closed at the authentication deadline: %d", timedOut)
	io.WriteString(fresh, sentence("flood-fresh", at.Add(time.Second)))
	for storedOf(t, db, "flood-fresh") != 2 {
		if time.Since(deadline) > 5*time.Second {
			t.Fatal("the new unit's connection did not survive the flood's deadline")
		}
		time.Sleep(20 * time.Millisecond)
	}
}
