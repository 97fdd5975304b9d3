package faulttest

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/radtrack/radtrack/internal/faultproxy"
	"github.com/radtrack/radtrack/internal/framelog"
	"github.com/radtrack/radtrack/internal/pgtest"
	"github.com/radtrack/radtrack/rules"
	"github.com/radtrack/radtrack/sample"
	"github.com/radtrack/radtrack/spool"
)

// answer is one HTTP answer: status and body.
type answer struct {
	status int
	body   string
}

func send(t *testing.T, req *http.Request) answer {
	t.Helper()
	resp, err := (&http.Client{Timeout: 15 * time.Second}).Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return answer{resp.StatusCode, string(b)}
}

func postJSON(t *testing.T, url, token, contentType, body string) answer {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, url, strings.NewReader(body))
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	req.Header.Set("Content-Type", contentType)
	return send(t, req)
}

// deviceID looks a device's id up by uid.
func deviceID(t *testing.T, db, uid string) int64 {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var id int64
	if err := conn.QueryRow(ctx, "SELECT id FROM devices WHERE uid = $1", uid).Scan(&id); err != nil {
		t.Fatal(err)
	}
	return id
}

// storedTimesOf returns the stored times (Unix seconds) of one device.
func storedTimesOf(t *testing.T, db string, device int64) map[int64]bool {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	rows, err := conn.Query(ctx, "SELECT time FROM measurements WHERE device_id = $1", device)
	if err != nil {
		t.Fatal(err)
	}
	out := map[int64]bool{}
	for rows.Next() {
		var tm time.Time
		if err := rows.Scan(&tm); err != nil {
			t.Fatal(err)
		}
		out[tm.Unix()] = true
	}
	return out
}

// fleetMissing counts, per vehicle, the acknowledged samples not stored
// under that vehicle's device (times of different vehicles may coincide,
// so they are checked per device), and the rows in the table.
func fleetMissing(t *testing.T, db string, fleet []*vehicle, uids []string) (rows, miss int) {
	t.Helper()
	for i, v := range fleet {
		have := storedTimesOf(t, db, deviceID(t, db, uids[i]))
		for _, a := range v.ackedTimes() {
			if !have[a.Unix()] {
				miss++
			}
		}
	}
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	if err := conn.QueryRow(ctx, "SELECT count(*) FROM measurements").Scan(&rows); err != nil {
		t.Fatal(err)
	}
	return rows, miss
}

// waitFleetStored polls fleetMissing until nothing is missing or within
// passes.
func waitFleetStored(t *testing.T, db string, fleet []*vehicle, uids []string, within time.Duration) (rows, miss int) {
	t.Helper()
	for deadline := time.Now().Add(within); ; time.Sleep(200 * time.Millisecond) {
		rows, miss = fleetMissing(t, db, fleet, uids)
		if miss == 0 || time.Now().After(deadline) {
			return rows, miss
		}
	}
}

// deadletterList runs "radtrack deadletter list" on a node's data dir.
func deadletterList(t *testing.T, data string) string {
	t.Helper()
	out, err := exec.Command(binary, "deadletter", "list", "-data", data).CombinedOutput()
	if err != nil {
		t.Fatalf("deadletter list: %v\n%s", err, out)
	}
	return string(out)
}

// waitSpoolEmpty waits until the node's spool replay is done
// (radtrack_spool_bytes 0) and reports whether it is.
func waitSpoolEmpty(t *testing.T, addr string, within time.Duration) bool {
	t.Helper()
	for deadline := time.Now().Add(within); metricValue(t, addr, "radtrack_spool_bytes") != "0"; time.Sleep(100 * time.Millisecond) {
		if time.Now().After(deadline) {
			return false
		}
	}
	return true
}

func metricValue(t *testing.T, addr, name string) string {
	t.Helper()
	resp, err := http.Get("http://" + addr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, name+" "); ok {
			return v
		}
	}
	return ""
}

// (a) During concurrent ingest from many vehicles, one device sends text
// no store can hold (a NUL) through every door: HTTP batch attributes, an
// OsmAnd attribute, an OsmAnd id, a Traccar-forwarded attribute, and a
// device name typed by an admin. Every other vehicle's request is answered
// 200 and stored; each poisoning request gets a 4xx naming the field.
func TestPoisonedSampleFailsOnlyItsOwnRequest(t *testing.T) {
	pgtest.EachDatabase(t, testPoisonedSampleFailsOnlyItsOwnRequest)
}

func testPoisonedSampleFailsOnlyItsOwnRequest(t *testing.T, db string) {
	data := t.TempDir()
	addr, osmAddr := freePort(t), freePort(t)
	srv := start(t, db, data, addr, "-osmand-addr", osmAddr)
	password := waitPassword(t, srv)
	const vehicles = 20
	fleet, uids := make([]*vehicle, vehicles), make([]string, vehicles)
	start0 := time.Now().UTC().Add(-6 * time.Hour).Truncate(time.Second)
	for i := range fleet {
		uids[i] = fmt.Sprintf("van-%02d", i)
		fleet[i] = &vehicle{token: addDevice(t, db, uids[i]), start: start0}
	}
	poisonToken := addDevice(t, db, "van-poison")
	poisonID := deviceID(t, db, "van-poison")

	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	for _, v := range fleet {
		wg.Go(func() { v.run(ctx, func() string { return addr }, 10) })
	}
	time.Sleep(500 * time.Millisecond) // the fleet is streaming

	pt := time.Now().UTC().Add(-time.Hour).Truncate(time.Second)
	var (
		answers []string
		bad     []string
	)
	expect := func(what string, a answer, status int, field string) {
		answers = append(answers, fmt.Sprintf("%s → %d %s", what, a.status, strings.TrimSpace(a.body)))
		if a.status != status || !strings.Contains(a.body, field) {
			bad = append(bad, fmt.Sprintf("%s: %d %s, want %d naming %s", what, a.status, strings.TrimSpace(a.body), status, field))
		}
	}
	jar, _ := cookiejar.New(nil)
	admin := &http.Client{Jar: jar, Timeout: 10 * time.Second}
	if resp, err := admin.Post("http://"+addr+"/api/v1/login", "application/json",
		strings.NewReader(fmt.Sprintf(`{"username":"admin","password":%q}`, password))); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("admin login: %v %v", resp, err)
	}
	for round := range 10 { // ten rounds, so the poison meets many group commits
		at := pt.Add(time.Duration(round*10) * time.Second)
		expect("HTTP batch, NUL in an attribute of 1 of 3 samples",
			postJSON(t, "http://"+addr+"/api/v1/measurements", poisonToken, "application/x-ndjson", fmt.Sprintf(
				`{"time":%q,"lat":51.9,"lon":4.1,"dose_rate":0.1}`+"\n"+
					`{"time":%q,"lat":51.9,"lon":4.1,"dose_rate":0.1,"attributes":{"note":"a\u0000b"}}`+"\n"+
					`{"time":%q,"lat":51.9,"lon":4.1,"dose_rate":0.1}`+"\n",
				at.Format(time.RFC3339), at.Add(time.Second).Format(time.RFC3339), at.Add(2*time.Second).Format(time.RFC3339))),
			http.StatusOK, `"index":1,"field":"attributes.note"`)
		expect("HTTP batch, only a NUL sample",
			postJSON(t, "http://"+addr+"/api/v1/measurements", poisonToken, "application/json",
				fmt.Sprintf(`[{"time":%q,"dose_rate":0.1,"attributes":{"note":"\u0000"}}]`, at.Add(3*time.Second).Format(time.RFC3339))),
			http.StatusUnprocessableEntity, `"field":"attributes.note"`)
		q := url.Values{"id": {"van-poison"}, "key": {poisonToken}, "lat": {"51.9"}, "lon": {"4.1"},
			"timestamp": {fmt.Sprint(at.Add(4 * time.Second).Unix())}, "doseRate": {"0.1"}, "driver": {"x\x00y"}}
		req, _ := http.NewRequest(http.MethodGet, "http://"+osmAddr+"/?"+q.Encode(), nil)
		expect("OsmAnd, NUL in an attribute", send(t, req), http.StatusBadRequest, "attributes.driver")
		q.Set("id", "van\x00poison")
		q.Del("driver")
		req, _ = http.NewRequest(http.MethodGet, "http://"+osmAddr+"/?"+q.Encode(), nil)
		if a := send(t, req); a.status < 400 || a.status >= 500 {
			bad = append(bad, fmt.Sprintf("OsmAnd, NUL in the id: %d %s, want a 4xx (no such device), not a retry", a.status, a.body))
		} else {
			answers = append(answers, fmt.Sprintf("OsmAnd, NUL in the id → %d %s", a.status, strings.TrimSpace(a.body)))
		}
		expect("Traccar forwarder, NUL in an attribute",
			postJSON(t, "http://"+addr+"/api/v1/traccar", poisonToken, "application/json", fmt.Sprintf(
				`{"position":{"fixTime":%q,"latitude":51.9,"longitude":4.1,"attributes":{"doseRate":0.1,"note":"\u0000"}},"device":{"uniqueId":"van-poison"}}`,
				at.Add(5*time.Second).Format(time.RFC3339))),
			http.StatusUnprocessableEntity, `"field":"attributes.note"`)
		resp, err := admin.Post("http://"+addr+"/api/v1/devices", "application/json", strings.NewReader(`{"name":"van\u0000evil"}`))
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		expect("device name with a NUL", answer{resp.StatusCode, string(b)}, http.StatusBadRequest, `"field":"name"`)
		time.Sleep(100 * time.Millisecond)
	}
	time.Sleep(300 * time.Millisecond)
	cancel()
	wg.Wait()

	for _, a := range answers[:6] {
		t.Log(a)
	}
	var acked []time.Time
	others := map[int]int{}
	for _, v := range fleet {
		acked = append(acked, v.ackedTimes()...)
		for code, n := range v.codes {
			others[code] += n
		}
	}
	stored, miss := waitFleetStored(t, db, fleet, uids, 10*time.Second)
	poisonStored := storedTimesOf(t, db, poisonID)
	t.Logf("other vehicles: answers %v, %d samples acknowledged, %d acknowledged but missing; %d rows in the table; poisoning device: %d of its good samples stored",
		others, len(acked), miss, stored, len(poisonStored))
	for _, b := range bad {
		t.Error(b)
	}
	if len(others) != 1 || others[http.StatusOK] == 0 {
		t.Errorf("other vehicles' requests were answered %v, want only 200", others)
	}
	if miss != 0 {
		t.Errorf("%d acknowledged samples of other vehicles missing", miss)
	}
	// Each round stored the two good samples of the mixed batch; no NUL sample.
	if len(poisonStored) != 20 {
		t.Errorf("%d samples of the poisoning device stored, want its 20 good ones", len(poisonStored))
	}
	for round := range 10 {
		if at := pt.Add(time.Duration(round*10)*time.Second + time.Second); poisonStored[at.Unix()] {
			t.Errorf("the NUL sample at %s was stored", at)
		}
	}
}

// spoolFrames reads the frames of the spool (or journal) in dir.
func spoolFrames(t *testing.T, dir string) [][]byte {
	t.Helper()
	var out [][]byte
	if err := framelog.Scan(dir, func(p []byte) error { out = append(out, append([]byte(nil), p...)); return nil }); err != nil {
		t.Fatal(err)
	}
	return out
}

// rewriteLog replaces the segments of the framelog in dir (a stopped
// node's spool or journal) with frames, in order.
func rewriteLog(t *testing.T, dir string, frames [][]byte) {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if !e.IsDir() {
			if err := os.Remove(filepath.Join(dir, e.Name())); err != nil {
				t.Fatal(err)
			}
		}
	}
	l, err := framelog.Open(dir, 1<<30)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range frames {
		if err := l.Append(f); err != nil {
			t.Fatal(err)
		}
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
}

// (b) A spooled batch holding a sample the database refuses — crafted into
// the spool of a node killed during an outage, since validation keeps
// such a sample from ever being spooled by this version — does not stop
// the replay: after the database returns, every acknowledged sample is in
// the table, the batch's good samples too, the bad one is in the
// dead-letter log, the CLI lists it, and all of it holds across a restart.
func TestPoisonedSpoolRecordIsSetAsideAndReplayGoesOn(t *testing.T) {
	pgtest.EachDatabase(t, testPoisonedSpoolRecordIsSetAsideAndReplayGoesOn)
}

func testPoisonedSpoolRecordIsSetAsideAndReplayGoesOn(t *testing.T, db string) {
	proxy := faultproxy.Start(t, dbAddr(t, db))
	viaProxy := dbWithProxy(t, db, proxy.Port())
	data := t.TempDir()
	addr := freePort(t)
	const vehicles = 8
	fleet, uids := make([]*vehicle, vehicles), make([]string, vehicles)
	start0 := time.Now().UTC().Add(-6 * time.Hour).Truncate(time.Second)
	for i := range fleet {
		uids[i] = fmt.Sprintf("van-spool-%d", i)
		fleet[i] = &vehicle{token: addDevice(t, db, uids[i]), start: start0}
	}
	addDevice(t, db, "van-poison")
	poisonID := deviceID(t, db, "van-poison")
	srv := start(t, viaProxy, data, addr)

	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	for _, v := range fleet {
		wg.Go(func() { v.run(ctx, func() string { return addr }, 10) })
	}
	time.Sleep(time.Second) // every vehicle is known to the node
	proxy.Down()
	time.Sleep(3 * time.Second) // acknowledged into the spool
	srv.kill()
	cancel()
	wg.Wait()
	var acked []time.Time
	for _, v := range fleet {
		acked = append(acked, v.ackedTimes()...)
	}
	spooled := 0

	// Craft: a batch of the poison device with a NUL in its middle sample,
	// put in the middle of what the outage spooled.
	spoolDir := filepath.Join(data, "spool")
	frames := spoolFrames(t, spoolDir)
	if len(frames) < 2 {
		t.Fatalf("the outage spooled %d batches, want several", len(frames))
	}
	for _, f := range frames {
		var recs []json.RawMessage
		if err := json.Unmarshal(f, &recs); err != nil {
			t.Fatal(err)
		}
		spooled += len(recs)
	}
	pt := time.Now().UTC().Add(-2 * time.Hour).Truncate(time.Second)
	poison := make([]sample.Sample, 3)
	for i := range poison {
		poison[i] = sample.New()
		poison[i].DeviceID, poison[i].Time, poison[i].ReceivedAt = poisonID, pt.Add(time.Duration(i)*time.Second), pt.Add(time.Minute)
		poison[i].Lat, poison[i].Lon, poison[i].GPSValid, poison[i].DoseRate, poison[i].Source = 51.9, 4.1, true, 0.1, sample.SourceHTTP
	}
	poison[1].Attributes = map[string]any{"note": "a\x00b"}
	tmp := t.TempDir()
	sp, err := spool.Open(tmp, 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	if err := sp.Append(poison); err != nil {
		t.Fatal(err)
	}
	sp.Close()
	mid := len(frames) / 2
	rewriteLog(t, spoolDir, append(append(append([][]byte{}, frames[:mid]...), spoolFrames(t, tmp)...), frames[mid:]...))

	proxy.Up()
	restarted := start(t, viaProxy, data, addr)
	if !waitSpoolEmpty(t, addr, 30*time.Second) {
		stored, miss := fleetMissing(t, db, fleet, uids)
		t.Fatalf("spool not replayed within 30 s (radtrack_spool_bytes %s): %d of %d acknowledged samples missing, %d rows stored\n%s",
			metricValue(t, addr, "radtrack_spool_bytes"), miss, len(acked), stored, tail(restarted.output(), 2000))
	}
	stored, miss := waitFleetStored(t, db, fleet, uids, 5*time.Second)
	got := storedTimesOf(t, db, poisonID)
	// Rows may exceed the acknowledged samples: a batch spooled just before
	// the kill whose answer never reached its vehicle is stored too.
	t.Logf("spool with a poisoned batch in the middle (%d of %d batches): %d samples acknowledged, %d samples spooled during the outage, %d rows stored, %d acknowledged but missing; poisoned batch: %d of 3 stored",
		mid+1, len(frames)+1, len(acked), spooled, stored, miss, len(got))
	if miss != 0 {
		t.Fatalf("%d acknowledged samples missing: the replay stopped at the poisoned batch\n%s", miss, tail(restarted.output(), 3000))
	}
	if len(got) != 2 || !got[poison[0].Time.Unix()] || !got[poison[2].Time.Unix()] {
		t.Fatalf("poisoned batch: stored %v, want its 2 good samples", got)
	}
	if v := metricValue(t, addr, "radtrack_spool_deadlettered_samples_total"); v != "1" {
		t.Errorf("radtrack_spool_deadlettered_samples_total = %q, want 1", v)
	}
	if !strings.Contains(restarted.output(), "set aside in the dead-letter log") || !strings.Contains(restarted.output(), fmt.Sprintf(`"device":%d`, poisonID)) {
		t.Errorf("no log line naming the device of the set-aside sample:\n%s", tail(restarted.output(), 2000))
	}
	listed := deadletterList(t, data)
	t.Logf("radtrack deadletter list:\n%s", listed)
	wantLine := fmt.Sprintf(" %d ", poisonID)
	if !strings.Contains(listed, "sample") || !strings.Contains(listed, wantLine) || !strings.Contains(listed, poison[1].Time.Format(time.RFC3339)) ||
		!strings.Contains(listed, "attributes") || !strings.Contains(listed, "1 record(s) set aside") {
		t.Fatalf("deadletter list does not show the refused sample (device %d, %s)", poisonID, poison[1].Time.Format(time.RFC3339))
	}

	// Across a restart (kill -9): nothing replayed twice, nothing lost,
	// the set-aside sample still listed.
	restarted.kill()
	again := start(t, viaProxy, data, addr)
	time.Sleep(1500 * time.Millisecond) // a replay round
	if !waitSpoolEmpty(t, addr, 10*time.Second) {
		t.Fatalf("spool not empty after a restart\n%s", tail(again.output(), 2000))
	}
	if s2, m2 := waitFleetStored(t, db, fleet, uids, 5*time.Second); m2 != 0 || s2 != stored {
		t.Fatalf("after a restart: %d stored (was %d), %d missing\n%s", s2, stored, m2, tail(again.output(), 2000))
	}
	if l2 := deadletterList(t, data); !strings.Contains(l2, "1 record(s) set aside") || !strings.Contains(l2, wantLine) {
		t.Fatalf("after a restart deadletter list shows:\n%s", l2)
	}
	if frames := spoolFrames(t, spoolDir); len(frames) != 0 {
		t.Fatalf("%d batches left in the spool after the replay", len(frames))
	}
}

// (c) A journaled alarm event the database refuses (a rule name with a
// NUL — crafted into the journal of a node killed during an outage, in
// front of the real events it journaled) does not stop the drain: after
// the database returns, the acknowledged alarms are stored, the poisoned
// event is in the dead-letter log and listed, across a restart.
func TestPoisonedJournalEventIsSetAsideAndDrainGoesOn(t *testing.T) {
	pgtest.EachDatabase(t, testPoisonedJournalEventIsSetAsideAndDrainGoesOn)
}

func testPoisonedJournalEventIsSetAsideAndDrainGoesOn(t *testing.T, db string) {
	proxy := faultproxy.Start(t, dbAddr(t, db))
	viaProxy := dbWithProxy(t, db, proxy.Port())
	data := t.TempDir()
	addr := freePort(t)
	srv := start(t, viaProxy, data, addr)
	tokens := []string{addDevice(t, db, "van-hot-1"), addDevice(t, db, "van-hot-2")}
	addDevice(t, db, "van-poison")
	poisonID := deviceID(t, db, "van-poison")
	now := time.Now().UTC().Truncate(time.Second)
	for _, tok := range tokens { // known to the node before the outage
		if code, _ := postSample(t, addr, tok, now.Add(-20*time.Second), 0.1); code != http.StatusOK {
			t.Fatalf("background sample: %d", code)
		}
	}
	proxy.Down()
	for i, tok := range tokens {
		if code, _ := postSample(t, addr, tok, now.Add(time.Duration(i-10)*time.Second), 3); code != http.StatusOK {
			t.Fatalf("hot sample during the outage answered %d, want 200 (journaled)", code)
		}
	}
	srv.kill()
	journalDir := filepath.Join(data, "spool", "alarms")
	frames := spoolFrames(t, journalDir)
	if len(frames) != 4 {
		t.Fatalf("%d journaled events, want 4 (notice and OIL3 raised for each vehicle)", len(frames))
	}
	var entry struct {
		Event rules.Event `json:"event"`
	}
	if err := json.Unmarshal(frames[0], &entry); err != nil {
		t.Fatal(err)
	}
	entry.Event.Key.DeviceID, entry.Event.Episode.DeviceID = poisonID, poisonID
	entry.Event.AlarmID, entry.Event.Episode.ID = -4242, -4242
	entry.Event.Episode.RuleName = "IAEA OIL3\x00"
	poisoned, err := json.Marshal(entry)
	if err != nil {
		t.Fatal(err)
	}
	rewriteLog(t, journalDir, append([][]byte{poisoned}, frames...))

	proxy.Up()
	restarted := start(t, viaProxy, data, addr) // stores the journal before it serves
	var alarms, samples int
	for _, uid := range []string{"van-hot-1", "van-hot-2"} {
		n, s := storedAlarms(t, db, uid)
		alarms, samples = alarms+n, samples+s
	}
	poisonAlarms, _ := storedAlarms(t, db, "van-poison")
	listed := deadletterList(t, data)
	t.Logf("journal: poisoned event first, then %d journaled events of 2 acknowledged hot samples; stored %d alarms (%d samples); poisoned device: %d alarms stored\nradtrack deadletter list:\n%s",
		len(frames), alarms, samples, poisonAlarms, listed)
	if alarms != 4 || samples != 4 || poisonAlarms != 0 {
		t.Fatalf("%d alarms with %d samples stored (poison: %d), want 4 with 1 sample each and none of the poisoned event\n%s",
			alarms, samples, poisonAlarms, tail(restarted.output(), 3000))
	}
	if !strings.Contains(listed, "alarm_event") || !strings.Contains(listed, fmt.Sprintf(" %d ", poisonID)) || !strings.Contains(listed, "-4242") ||
		!strings.Contains(listed, "1 record(s) set aside") {
		t.Fatalf("deadletter list does not show the poisoned alarm event")
	}
	if v := metricValue(t, addr, "radtrack_alarm_events_deadlettered_total"); v != "1" {
		t.Errorf("radtrack_alarm_events_deadlettered_total = %q, want 1", v)
	}
	restarted.kill()
	start(t, viaProxy, data, addr)
	var again int
	for _, uid := range []string{"van-hot-1", "van-hot-2"} {
		n, _ := storedAlarms(t, db, uid)
		again += n
	}
	if l2 := deadletterList(t, data); again != 4 || !strings.Contains(l2, "1 record(s) set aside") {
		t.Fatalf("after a restart: %d alarms stored, dead letters:\n%s", again, l2)
	}
}
