package faulttest

import (
	"context"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/radtrack/radtrack/internal/faultproxy"
	"github.com/radtrack/radtrack/internal/pgtest"
)

// hotDose keeps a vehicle above the notice level and OIL3 (and below
// OIL2) for the whole run, peaking at 2.9 µSv/h on every 97th sample.
func hotDose(k int) float64 {
	if k%97 == 50 {
		return 2.9
	}
	return 1.2 + float64(k%13)*0.1
}

type episodeRow struct {
	rule           string
	firstSeen      time.Time
	lastSeen       time.Time
	samples        int
	peak           float64
	conditionShown bool
}

func episodesOf(t *testing.T, db, uid string) []episodeRow {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	rows, err := conn.Query(ctx, `SELECT a.rule_name, a.first_seen, a.last_seen, a.samples, a.peak_dose, a.condition_active
		FROM alarms a JOIN devices d ON d.id = a.device_id WHERE d.uid = $1 ORDER BY a.rule_id`, uid)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []episodeRow
	for rows.Next() {
		var e episodeRow
		if err := rows.Scan(&e.rule, &e.firstSeen, &e.lastSeen, &e.samples, &e.peak, &e.conditionShown); err != nil {
			t.Fatal(err)
		}
		out = append(out, e)
	}
	return out
}

// checkEpisodes: every episode of the vehicle holds every acknowledged
// sample — its count at least the acknowledged samples since it was raised
// (a sample evaluated but not acknowledged, then sent again, counts twice:
// at most the samples sent), its peak the highest acknowledged dose, its
// last seen no earlier than the last acknowledged sample. A database cut
// that loses a commit's reply leaves the writer unsure whether it
// committed: its episode updates are journaled and replayed, and the store
// skips the replay of a batch it has (AlarmUpdate.Batch), so the count
// never exceeds the samples sent.
func checkEpisodes(t *testing.T, db, uid string, v *vehicle, what string) {
	t.Helper()
	acked := v.ackedTimes()
	eps := episodesOf(t, db, uid)
	if len(eps) != 2 {
		t.Fatalf("%s: %d episodes stored, want 2 (notice, OIL3): %+v", what, len(eps), eps)
	}
	v.mu.Lock()
	sent := v.sent
	v.mu.Unlock()
	for _, e := range eps {
		want, peak := 0, 0.0
		var last time.Time
		for _, at := range acked {
			if at.Before(e.firstSeen) {
				continue
			}
			want++
			peak = max(peak, hotDose(int(at.Sub(v.start)/time.Second)))
			if at.After(last) {
				last = at
			}
		}
		t.Logf("%s: %s: %d samples stored, %d acknowledged since it was raised, %d sent; peak %.1f (acknowledged max %.1f); last seen %s (last acknowledged %s)",
			what, e.rule, e.samples, want, sent, e.peak, peak, e.lastSeen.Format(time.TimeOnly), last.Format(time.TimeOnly))
		if e.samples < want || e.samples > sent {
			t.Errorf("%s: %s counts %d samples, want between the %d acknowledged and the %d sent", what, e.rule, e.samples, want, sent)
		}
		if e.peak < peak {
			t.Errorf("%s: %s peak %.2f below the acknowledged %.2f", what, e.rule, e.peak, peak)
		}
		if e.lastSeen.Before(last) {
			t.Errorf("%s: %s last seen %s before the last acknowledged sample %s", what, e.rule, e.lastSeen, last)
		}
	}
}

// kill -9 while a vehicle streams samples inside an alarm condition (its
// episodes' progress coalesced into the group commits), then restart:
// nothing acknowledged is missing from the episodes.
func TestCoalescedEpisodesSurviveKill9(t *testing.T) {
	pgtest.EachDatabase(t, func(t *testing.T, db string) {
		data := t.TempDir()
		addr := freePort(t)
		start(t, db, data, addr).kill() // migrate and create the admin once
		token := addDevice(t, db, "van-hot-kill9")
		srv := start(t, db, data, addr)

		ctx, cancel := context.WithCancel(context.Background())
		v := &vehicle{token: token, start: time.Now().UTC().Add(-6 * time.Hour).Truncate(time.Second), dose: hotDose}
		var wg sync.WaitGroup
		wg.Go(func() { v.run(ctx, func() string { return addr }, 10) })
		time.Sleep(1500 * time.Millisecond)
		srv.kill()
		checkEpisodes(t, db, "van-hot-kill9", v, "right after kill -9")
		start(t, db, data, addr)
		time.Sleep(time.Second)
		cancel()
		wg.Wait()
		if len(v.ackedTimes()) < 100 {
			t.Fatalf("only %d samples acknowledged", len(v.ackedTimes()))
		}
		checkEpisodes(t, db, "van-hot-kill9", v, "after the restart")
	})
}

// The database goes away for 5 s while a vehicle streams samples inside an
// alarm condition: samples are spooled, their episodes' progress journaled
// once per group commit (not once per sample); after the database returns
// the episodes hold every acknowledged sample.
func TestCoalescedEpisodesAcrossDatabaseOutage(t *testing.T) {
	pgtest.EachDatabase(t, func(t *testing.T, db string) {
		proxy := faultproxy.Start(t, dbAddr(t, db))
		viaProxy := dbWithProxy(t, db, proxy.Port())
		token := addDevice(t, db, "van-hot-outage")
		addr := freePort(t)
		srv := start(t, viaProxy, t.TempDir(), addr)

		ctx, cancel := context.WithCancel(context.Background())
		v := &vehicle{token: token, start: time.Now().UTC().Add(-6 * time.Hour).Truncate(time.Second), dose: hotDose}
		var wg sync.WaitGroup
		wg.Go(func() { v.run(ctx, func() string { return addr }, 5) })
		time.Sleep(time.Second)
		before := len(v.ackedTimes())
		proxy.Down()
		time.Sleep(5 * time.Second)
		during := len(v.ackedTimes()) - before
		journaled, _ := strconv.Atoi(metricValue(t, addr, "radtrack_alarm_events_journaled_total"))
		proxy.Up()
		time.Sleep(3 * time.Second)
		cancel()
		wg.Wait()

		acked := v.ackedTimes()
		if _, miss := waitStored(t, db, acked, 15*time.Second); miss != 0 {
			t.Fatalf("%d acknowledged samples missing after the outage", miss)
		}
		t.Logf("outage: %d samples acknowledged during it, %d journal entries", during, journaled)
		if during < 50 {
			t.Fatalf("only %d samples acknowledged during the outage:\n%s", during, tail(srv.output(), 3000))
		}
		// Two episodes, one update each per sample without coalescing.
		if journaled*4 > during {
			t.Errorf("%d journal entries for %d samples acknowledged during the outage: updates are journaled per sample, not per commit", journaled, during)
		}
		deadline := time.Now().Add(10 * time.Second)
		for {
			// The journal drains within a second or two of the return.
			if metricValue(t, addr, "radtrack_alarm_journal_bytes") == "0" || time.Now().After(deadline) {
				break
			}
			time.Sleep(200 * time.Millisecond)
		}
		checkEpisodes(t, db, "van-hot-outage", v, "after the outage")
	})
}
