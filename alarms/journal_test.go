package alarms_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/radtrack/radtrack/alarms"
	"github.com/radtrack/radtrack/geo"
	"github.com/radtrack/radtrack/ingest"
	"github.com/radtrack/radtrack/internal/deadletter"
	"github.com/radtrack/radtrack/internal/faultproxy"
	"github.com/radtrack/radtrack/internal/framelog"
	"github.com/radtrack/radtrack/internal/pgtest"
	"github.com/radtrack/radtrack/metrics"
	"github.com/radtrack/radtrack/rules"
	"github.com/radtrack/radtrack/sample"
	"github.com/radtrack/radtrack/spool"
	"github.com/radtrack/radtrack/store"
	"github.com/radtrack/radtrack/store/pgstore"
	"github.com/radtrack/radtrack/store/storetest"
)

// lockedRecorder is a Publisher safe for the journal's background drain.
type lockedRecorder struct {
	mu     sync.Mutex
	events []rules.Event
}

func (r *lockedRecorder) PublishAlarm(_ context.Context, ev rules.Event) error {
	r.mu.Lock()
	r.events = append(r.events, ev)
	r.mu.Unlock()
	return nil
}

func (r *lockedRecorder) take() []rules.Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := r.events
	r.events = nil
	return out
}

// oil3 is the default rule "IAEA OIL3 (1 µSv/h)".
const oil3 = 2

// outageStore opens db through a fault proxy, so the test can take the
// database away from the service while it runs.
func outageStore(t *testing.T, db string) (*pgstore.Store, *faultproxy.Proxy) {
	t.Helper()
	u, err := url.Parse(db)
	if err != nil {
		t.Fatal(err)
	}
	proxy := faultproxy.Start(t, u.Host)
	u.Host = proxy.Addr()
	q := u.Query()
	q.Set("connect_timeout", "2")
	u.RawQuery = q.Encode()
	st, err := pgstore.Open(context.Background(), pgstore.Config{URL: u.String()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(st.Close)
	return st, proxy
}

func openJournaled(t *testing.T, st store.Store, dir string, pub alarms.Publisher) *alarms.Service {
	t.Helper()
	return openJournaledMax(t, st, dir, 1<<20, pub)
}

func openJournaledMax(t *testing.T, st store.Store, dir string, maxBytes int64, pub alarms.Publisher) *alarms.Service {
	t.Helper()
	j, err := alarms.OpenJournal(dir, maxBytes)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { j.Close() })
	svc, err := alarms.New(context.Background(), st, alarms.Options{
		Geo: geo.DefaultConfig(), Publisher: pub, Journal: j, Classify: pgstore.Classify,
	}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	return svc
}

// While the database is away, a hot sample still raises its alarms: they
// are journaled, pushed at once under provisional ids, and stored when the
// database returns, with one event per alarm telling viewers the stored id.
func TestAlarmsRaiseAndPushDuringDatabaseOutage(t *testing.T) {
	ctx := context.Background()
	db := pgtest.NewDatabase(t)
	st, proxy := outageStore(t, db)
	dev, _ := storetest.NewDevice(t, st, "veh-outage")
	pub := &lockedRecorder{}
	svc := openJournaled(t, st, t.TempDir(), pub)

	hot := storetest.Samples(dev.ID, time.Now().UTC().Add(-time.Hour).Truncate(time.Second), 6)
	for i := range hot {
		hot[i].DoseRate = 1.2 + 0.1*float64(i) // over notice (0.5) and OIL3 (1.0), peak on the last
	}
	proxy.Down()
	if err := svc.Process(ctx, dev, hot[:3]); err != nil {
		t.Fatalf("Process during the outage: %v (alarms must be journaled, not refused)", err)
	}
	during := pub.take()
	provisional := map[int64]int64{} // rule id → provisional alarm id
	for _, ev := range during {
		if ev.AlarmID >= 0 || ev.Episode.ID != ev.AlarmID {
			t.Fatalf("event pushed during the outage with id %d/%d, want one negative provisional id", ev.AlarmID, ev.Episode.ID)
		}
		if ev.Type == rules.EventRaised {
			provisional[ev.Key.RuleID] = ev.AlarmID
		}
	}
	if len(provisional) != 2 {
		t.Fatalf("raised during the outage: %v, want the notice and OIL3 alarms pushed at once", provisional)
	}
	if got := len(svc.Provisional()); got != 2 {
		t.Fatalf("%d provisional alarms for snapshots, want 2", got)
	}
	// Acting on an alarm that is not stored yet is refused, clearly.
	if _, err := svc.Acknowledge(ctx, provisional[oil3], "op", ""); err != alarms.ErrNotStoredYet {
		t.Fatalf("acknowledge during the outage: %v, want ErrNotStoredYet", err)
	}

	proxy.Up()
	if err := svc.DrainJournal(ctx); err != nil {
		t.Fatalf("drain after the outage: %v", err)
	}
	reconciled := map[int64]int64{}
	for _, ev := range pub.take() {
		if ev.Type == rules.EventRaised {
			t.Errorf("a stored journaled alarm was pushed as raised again: viewers would be paged twice")
		}
		if ev.Episode.ProvisionalID != 0 {
			reconciled[ev.Episode.ProvisionalID] = ev.AlarmID
		}
	}
	for rule, p := range provisional {
		if reconciled[p] <= 0 {
			t.Fatalf("alarm of rule %d (provisional %d) never pushed with its stored id: %v", rule, p, reconciled)
		}
	}
	// The next samples update the stored alarms, under their stored ids.
	if err := svc.Process(ctx, dev, hot[3:]); err != nil {
		t.Fatal(err)
	}
	for _, ev := range pub.take() {
		if ev.AlarmID <= 0 || ev.Type == rules.EventRaised {
			t.Fatalf("after the drain: %s event for alarm %d, want updates of the stored alarms", ev.Type, ev.AlarmID)
		}
	}
	all, err := st.ListAlarms(ctx, store.AlarmFilter{})
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != 2 {
		t.Fatalf("%d alarms stored, want 2 (notice, OIL3)", len(all))
	}
	for _, a := range all {
		// 5 of the 6 samples: these dose-only readings raise on the second
		// (2 of 3 over the level, rules/detect.go), then every one continues.
		if a.Samples != 5 || fmt.Sprintf("%.1f", a.PeakDose) != "1.7" || !a.PeakTime.Equal(hot[5].Time) {
			t.Errorf("alarm %s: %d samples, peak %.2f at %s; want 5 samples, peak 1.7 at %s",
				a.RuleName, a.Samples, a.PeakDose, a.PeakTime, hot[5].Time)
		}
		if a.ID != reconciled[provisional[a.RuleID]] {
			t.Errorf("alarm %s stored as %d, pushed as %d", a.RuleName, a.ID, reconciled[provisional[a.RuleID]])
		}
		events, _ := st.AlarmEvents(ctx, a.ID)
		if len(events) == 0 || events[0].Type != "raised" {
			t.Errorf("alarm %s audit trail %+v, want it to start with raised", a.RuleName, events)
		}
	}
	// A viewer who still shows the provisional id can act on it.
	if _, err := svc.Acknowledge(ctx, provisional[oil3], "op", "on my way"); err != nil {
		t.Fatalf("acknowledge by provisional id after the drain: %v", err)
	}
}

// A crash during the outage loses no journaled alarm: the next start
// stores the journal before it loads the open alarms, and continues them.
func TestJournaledAlarmsSurviveARestart(t *testing.T) {
	ctx := context.Background()
	db := pgtest.NewDatabase(t)
	st, proxy := outageStore(t, db)
	dev, _ := storetest.NewDevice(t, st, "veh-crash")
	dir := t.TempDir()
	svc := openJournaled(t, st, dir, nil)

	hot := storetest.Samples(dev.ID, time.Now().UTC().Add(-time.Hour).Truncate(time.Second), 4)
	for i := range hot {
		hot[i].DoseRate = 3
	}
	proxy.Down()
	if err := svc.Process(ctx, dev, hot[:2]); err != nil {
		t.Fatal(err)
	}
	// "Crash": the service is abandoned; the database comes back and a new
	// one starts on the same journal.
	proxy.Up()
	restarted := openJournaled(t, st, dir, nil)
	open := restarted.OpenLive()
	if len(open) != 2 {
		t.Fatalf("%d open alarms after the restart, want 2 (notice, OIL3) from the journal", len(open))
	}
	for _, ep := range open {
		if ep.ID <= 0 || ep.Samples != 2 {
			t.Errorf("restored alarm %s: id %d, %d samples; want stored, 2 samples", ep.RuleName, ep.ID, ep.Samples)
		}
	}
	if err := restarted.Process(ctx, dev, hot[2:]); err != nil {
		t.Fatal(err)
	}
	all, _ := st.ListAlarms(ctx, store.AlarmFilter{})
	if len(all) != 2 {
		t.Fatalf("%d alarms after the restart, want still 2", len(all))
	}
	for _, a := range all {
		if a.Samples != 4 {
			t.Errorf("alarm %s counted %d samples, want 4", a.RuleName, a.Samples)
		}
	}
}

// A full journal refuses: the samples are refused (the vehicle retries),
// nothing is pushed under an id no journal holds, and the retry raises the
// alarm as new once it can be kept.
func TestFullJournalRefusesAndTheRetryRaises(t *testing.T) {
	ctx := context.Background()
	st, proxy := outageStore(t, pgtest.NewDatabase(t))
	dev, _ := storetest.NewDevice(t, st, "veh-full")
	pub := &lockedRecorder{}
	svc := openJournaledMax(t, st, t.TempDir(), 64, pub) // smaller than one event
	hot := storetest.Samples(dev.ID, time.Now().UTC().Add(-time.Hour).Truncate(time.Second), 2)
	for i := range hot {
		hot[i].DoseRate = 2
	}
	proxy.Down()
	if err := svc.Process(ctx, dev, hot); err == nil {
		t.Fatal("Process succeeded although neither the database nor the journal took the alarm")
	}
	if evs := pub.take(); len(evs) != 0 {
		t.Fatalf("pushed %d events no journal holds", len(evs))
	}
	proxy.Up()
	if err := svc.Process(ctx, dev, hot); err != nil {
		t.Fatalf("retry after the outage: %v", err)
	}
	raised := 0
	for _, ev := range pub.take() {
		if ev.Type == rules.EventRaised && ev.AlarmID > 0 {
			raised++
		}
	}
	if raised != 2 {
		t.Fatalf("the retry pushed %d raised alarms with stored ids, want 2 (notice, OIL3): the page must not be lost", raised)
	}
}

// An alarm known to viewers by a provisional id is never announced again
// under another one: here its journaled raise is refused by the store
// (dropped, logged), and the next attempt to store it meets the database
// away again.
func TestProvisionalAlarmIsNotRaisedTwice(t *testing.T) {
	ctx := context.Background()
	st, proxy := outageStore(t, pgtest.NewDatabase(t))
	dev, _ := storetest.NewDevice(t, st, "veh-twice")
	pub := &lockedRecorder{}
	svc := openJournaled(t, st, t.TempDir(), pub)
	hot := storetest.Samples(dev.ID, time.Now().UTC().Add(-time.Hour).Truncate(time.Second), 3)
	for i := range hot {
		hot[i].DoseRate = 2
	}
	proxy.Down()
	if err := svc.Process(ctx, dev, hot[:1]); err != nil {
		t.Fatal(err)
	}
	proxy.Up()
	if _, err := st.Pool().Exec(ctx, `CREATE FUNCTION refuse() RETURNS trigger LANGUAGE plpgsql AS
		$$BEGIN RAISE EXCEPTION 'refused' USING ERRCODE = 'check_violation'; END$$;
		CREATE TRIGGER refuse BEFORE INSERT ON alarms FOR EACH ROW EXECUTE FUNCTION refuse()`); err != nil {
		t.Fatal(err)
	}
	if err := svc.DrainJournal(ctx); err != nil {
		t.Fatalf("drain: %v (a refused event is set aside, not retried forever)", err)
	}
	if err := svc.Process(ctx, dev, hot[1:2]); err == nil {
		t.Fatal("stored although the store refuses alarms")
	}
	if _, err := st.Pool().Exec(ctx, `DROP TRIGGER refuse ON alarms`); err != nil {
		t.Fatal(err)
	}
	proxy.Down()
	if err := svc.Process(ctx, dev, hot[2:]); err != nil {
		t.Fatal(err)
	}
	raised := map[int64]int{}
	for _, ev := range pub.take() {
		if ev.Type == rules.EventRaised {
			raised[ev.Key.RuleID]++
		}
	}
	if len(raised) != 2 || raised[1] != 1 || raised[oil3] != 1 {
		t.Fatalf("raised events per rule %v, want one each for the notice and OIL3", raised)
	}
}

// An alarm stored before the outage and updated during it counts each
// sample once after a crash and restart (the journaled updates carry the
// episode's total; the restart must know what the database already has).
func TestJournaledUpdatesAfterRestartCountOnce(t *testing.T) {
	ctx := context.Background()
	st, proxy := outageStore(t, pgtest.NewDatabase(t))
	dev, _ := storetest.NewDevice(t, st, "veh-count")
	dir := t.TempDir()
	svc := openJournaled(t, st, dir, nil)
	hot := storetest.Samples(dev.ID, time.Now().UTC().Add(-time.Hour).Truncate(time.Second), 4)
	for i := range hot {
		hot[i].DoseRate = 3
	}
	if err := svc.Process(ctx, dev, hot[:2]); err != nil {
		t.Fatal(err)
	}
	proxy.Down()
	if err := svc.Process(ctx, dev, hot[2:]); err != nil {
		t.Fatal(err)
	}
	proxy.Up()
	openJournaled(t, st, dir, nil) // the restart stores the journal
	all, err := st.ListAlarms(ctx, store.AlarmFilter{})
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != 2 {
		t.Fatalf("%d alarms, want 2", len(all))
	}
	for _, a := range all {
		if a.Samples != 4 {
			t.Errorf("alarm %s counted %d samples after the restart, want 4 (2 before the outage, 2 during)", a.RuleName, a.Samples)
		}
	}
}

// A journaled event the database refuses for good (here: a rule name with
// a NUL, which no text column holds — crafted into the journal, since
// nothing this version journals can carry one) does not stop the drain:
// it is set aside in the dead-letter log, the events journaled after it
// are stored, and a restart neither loses it nor stores the others twice.
func TestRefusedJournalEventIsSetAsideAndTheDrainGoesOn(t *testing.T) {
	ctx := context.Background()
	db := pgtest.NewDatabase(t)
	st, proxy := outageStore(t, db)
	devA, _ := storetest.NewDevice(t, st, "veh-good")
	devB, _ := storetest.NewDevice(t, st, "veh-poisoned")
	dir := t.TempDir()
	svc := openJournaled(t, st, dir, nil)

	hot := storetest.Samples(devA.ID, time.Now().UTC().Add(-time.Hour).Truncate(time.Second), 3)
	for i := range hot {
		hot[i].DoseRate = 2
	}
	proxy.Down()
	if err := svc.Process(ctx, devA, hot); err != nil {
		t.Fatal(err)
	}
	// "Crash"; then put a poisoned raise of device B in front of what the
	// outage journaled.
	var frames [][]byte
	if err := framelog.Scan(dir, func(p []byte) error { frames = append(frames, append([]byte(nil), p...)); return nil }); err != nil {
		t.Fatal(err)
	}
	if len(frames) < 2 {
		t.Fatalf("%d journaled events, want the raises and updates of device A", len(frames))
	}
	var entry struct {
		Event rules.Event `json:"event"`
	}
	if err := json.Unmarshal(frames[0], &entry); err != nil || entry.Event.Type != rules.EventRaised {
		t.Fatalf("first journaled event %s: %v", frames[0], err)
	}
	entry.Event.Key.DeviceID, entry.Event.Episode.DeviceID = devB.ID, devB.ID
	entry.Event.AlarmID, entry.Event.Episode.ID = -4242, -4242
	entry.Event.Episode.RuleName = "OIL3\x00"
	poisoned, err := json.Marshal(entry)
	if err != nil {
		t.Fatal(err)
	}
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if !e.IsDir() {
			os.Remove(filepath.Join(dir, e.Name()))
		}
	}
	l, err := framelog.Open(dir, 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range append([][]byte{poisoned}, frames...) {
		if err := l.Append(p); err != nil {
			t.Fatal(err)
		}
	}
	l.Close()

	proxy.Up()
	j, err := alarms.OpenJournal(dir, 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	// New stores the journal before it loads the open alarms.
	if _, err := alarms.New(ctx, st, alarms.Options{Geo: geo.DefaultConfig(), Journal: j, Classify: pgstore.Classify},
		slog.New(slog.NewTextHandler(io.Discard, nil))); err != nil {
		t.Fatalf("start with a poisoned journal: %v", err)
	}
	all, err := st.ListAlarms(ctx, store.AlarmFilter{})
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != 2 || all[0].DeviceID != devA.ID || all[1].DeviceID != devA.ID {
		t.Fatalf("stored alarms %+v, want device A's 2 (notice, OIL3) and nothing of device B", all)
	}
	list := func() []deadletter.Record {
		var out []deadletter.Record
		if err := deadletter.List(filepath.Join(dir, deadletter.DirName), func(r deadletter.Record) error { out = append(out, r); return nil }); err != nil {
			t.Fatal(err)
		}
		return out
	}
	dead := list()
	if len(dead) != 1 || dead[0].Kind != deadletter.KindAlarmEvent || dead[0].DeviceID != devB.ID || dead[0].AlarmID != -4242 ||
		dead[0].Event != string(rules.EventRaised) || !strings.Contains(dead[0].Reason, "SQLSTATE 22") || !bytes.Equal(dead[0].Payload, poisoned) {
		t.Fatalf("dead letters %+v, want device B's poisoned raise, as journaled", dead)
	}
	if got := j.Stats(); got.DeadLettered != 1 || got.DeadLetterBytes == 0 || got.Replayed != uint64(len(frames)) {
		t.Fatalf("journal stats %+v, want 1 event set aside", got)
	}
	// A second restart: nothing left to drain, nothing stored twice, the
	// set-aside event still there.
	openJournaled(t, st, dir, nil)
	again, _ := st.ListAlarms(ctx, store.AlarmFilter{})
	if len(again) != 2 || again[0].ID != all[0].ID || again[0].Samples != all[0].Samples || again[1].ID != all[1].ID || again[1].Samples != all[1].Samples {
		t.Fatalf("after a second restart: %+v, want the same 2 alarms with the same sample counts as %+v", again, all)
	}
	if len(list()) != 1 {
		t.Fatal("the set-aside event did not survive a restart")
	}
}

// lostReply is a real store whose group commits with episode updates
// happen and then report a lost connection once — the reply to a COMMIT
// that a database cut swallowed: the writer cannot know the commit
// happened.
type lostReply struct {
	*pgstore.Store
	mu   sync.Mutex
	lose bool
}

func (l *lostReply) WriteSamplesAndAlarms(ctx context.Context, samples []sample.Sample, ups []store.AlarmUpdate) error {
	if err := l.Store.WriteSamplesAndAlarms(ctx, samples, ups); err != nil {
		return err
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.lose {
		l.lose = false
		return errors.New("read tcp 127.0.0.1:5432: connection reset by peer")
	}
	return nil
}

// A group commit whose reply is lost: its samples are spooled and its
// episode updates journaled, though both are stored. The replay of the
// journal is skipped for that commit's batch, so the episodes count each
// sample once (before batch ids, the replay added the commit's samples a
// second time).
func TestInDoubtCommitCountsOnce(t *testing.T) {
	pgtest.EachDatabase(t, testInDoubtCommitCountsOnce)
}

func testInDoubtCommitCountsOnce(t *testing.T, db string) {
	ctx := context.Background()
	st, err := pgstore.Open(ctx, pgstore.Config{URL: db})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	dev, _ := storetest.NewDevice(t, st, "veh-in-doubt")
	flaky := &lostReply{Store: st}
	j, err := alarms.OpenJournal(t.TempDir(), 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	co := ingest.NewCoalescer()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	svc, err := alarms.New(ctx, flaky, alarms.Options{Geo: geo.DefaultConfig(), Journal: j, Classify: pgstore.Classify, Coalescer: co}, log)
	if err != nil {
		t.Fatal(err)
	}
	sp, err := spool.Open(t.TempDir(), 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	w := ingest.NewWriter(flaky, ingest.WriterConfig{BatchSize: 100, FlushInterval: time.Millisecond, Flushers: 1, QueueLimit: 1000,
		Spool: sp, Classify: pgstore.Classify, ReplayEvery: time.Hour, Alarms: co}, metrics.New(), log)
	defer w.Close(ctx)
	hot := storetest.Samples(dev.ID, time.Now().UTC().Add(-time.Hour).Truncate(time.Second), 9)
	for i := range hot {
		hot[i].DoseRate = 3 // above the notice and OIL3
	}
	send := func(ss []sample.Sample) {
		t.Helper()
		if err := svc.Process(ctx, dev, ss); err != nil {
			t.Fatal(err)
		}
		if err := w.Write(ctx, ss); err != nil {
			t.Fatalf("write: %v (a lost reply is spooled and journaled: acknowledged)", err)
		}
	}
	send(hot[:3]) // raises, then counts
	flaky.mu.Lock()
	flaky.lose = true
	flaky.mu.Unlock()
	send(hot[3:6]) // stored, but the writer hears a reset
	send(hot[6:])
	if err := svc.DrainJournal(ctx); err != nil {
		t.Fatal(err)
	}
	all, err := st.ListAlarms(ctx, store.AlarmFilter{})
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != 2 {
		t.Fatalf("%d alarms, want 2 (notice, OIL3)", len(all))
	}
	for _, a := range all {
		if a.Samples != len(hot) {
			t.Errorf("alarm %s counted %d samples, want %d: the in-doubt commit's updates were applied twice", a.RuleName, a.Samples, len(hot))
		}
	}
}
