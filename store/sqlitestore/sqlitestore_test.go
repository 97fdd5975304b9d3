package sqlitestore_test

import (
	"context"
	"errors"
	"math"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/radtrack/radtrack/rules"
	"github.com/radtrack/radtrack/store"
	"github.com/radtrack/radtrack/store/sqlitestore"
	"github.com/radtrack/radtrack/store/storetest"
)

func open(t testing.TB, dir string) *sqlitestore.Store {
	t.Helper()
	s, err := sqlitestore.Open(context.Background(), sqlitestore.Config{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return s
}

func TestStoreSuite(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store { return open(t, t.TempDir()) })
}

func TestOpenCreatesDirectory(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "a", "b")
	s := open(t, dir)
	if err := s.Ping(context.Background()); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, sqlitestore.FileName)); err != nil {
		t.Fatalf("database file: %v", err)
	}
	if _, err := sqlitestore.Open(context.Background(), sqlitestore.Config{}); err == nil {
		t.Fatal("Open without a directory succeeded")
	}
}

// TestReopenKeepsEverything closes the store and opens the same directory
// again: every kind of record is still there, and migrations do not rerun.
func TestReopenKeepsEverything(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s, err := sqlitestore.Open(ctx, sqlitestore.Config{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	d, _ := storetest.NewDevice(t, s, "veh-durable")
	if err := s.WriteSamples(ctx, storetest.Samples(d.ID, storetest.Base, 1500)); err != nil {
		t.Fatal(err)
	}
	u, err := s.CreateUser(ctx, store.User{Username: "ana", Role: "admin", PasswordHash: "h"})
	if err != nil {
		t.Fatal(err)
	}
	f, err := s.CreateFence(ctx, store.Fence{Name: "Berth 4", Kind: "restricted", Feature: []byte(`{"type":"Feature","geometry":null,"properties":{}}`)})
	if err != nil {
		t.Fatal(err)
	}
	if seeded, err := s.SeedRules(ctx, rules.DefaultRules()); err != nil || !seeded {
		t.Fatalf("SeedRules = %v, %v", seeded, err)
	}
	ep := rules.Episode{Key: rules.Key{DeviceID: d.ID, RuleID: 2, FenceID: f.ID}, RuleName: "OIL3", Kind: "level", Severity: "alarm",
		State: "raised", FirstSeen: storetest.Base, LastSeen: storetest.Base, Samples: 1, ConditionActive: true,
		PeakDose: 1.5, PeakTime: storetest.Base, PeakLon: 4, PeakLat: 52, PeakGPSValid: true}
	alarmID, _, err := s.RaiseAlarm(ctx, ep, rules.Event{Type: "raised", Time: storetest.Base, Episode: ep})
	if err != nil {
		t.Fatal(err)
	}
	s.Close()

	s = open(t, dir)
	if got, err := s.DeviceByUID(ctx, "veh-durable"); err != nil || got.ID != d.ID {
		t.Fatalf("device after reopen: %+v, %v", got, err)
	}
	track, err := s.Track(ctx, store.TrackQuery{DeviceID: d.ID, From: storetest.Base, To: storetest.Base.Add(time.Hour)})
	if err != nil || len(track) != 1500 {
		t.Fatalf("samples after reopen: %d, %v", len(track), err)
	}
	if got, err := s.UserByID(ctx, u.ID); err != nil || got.Username != "ana" {
		t.Fatalf("user after reopen: %+v, %v", got, err)
	}
	if got, err := s.Fence(ctx, f.ID); err != nil || got.Name != "Berth 4" {
		t.Fatalf("fence after reopen: %+v, %v", got, err)
	}
	if list, err := s.ListRules(ctx); err != nil || len(list) != len(rules.DefaultRules()) {
		t.Fatalf("rules after reopen: %d, %v", len(list), err)
	}
	if seeded, err := s.SeedRules(ctx, rules.DefaultRules()); err != nil || seeded {
		t.Fatalf("SeedRules after reopen = %v, %v; want no-op", seeded, err)
	}
	if a, err := s.Alarm(ctx, alarmID); err != nil || a.PeakDose != 1.5 || a.FenceID != f.ID || !a.FirstSeen.Equal(storetest.Base) {
		t.Fatalf("alarm after reopen: %+v, %v", a, err)
	}
	if evs, err := s.AlarmEvents(ctx, alarmID); err != nil || len(evs) != 1 {
		t.Fatalf("alarm events after reopen: %+v, %v", evs, err)
	}
}

// TestSharedDirectory documents that a second Open of a directory in use
// works safely: both stores write (SQLite's lock serialises them) and each
// reads the other's commits. Concurrent first Opens migrate once.
func TestSharedDirectory(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	stores := make([]*sqlitestore.Store, 4)
	var wg sync.WaitGroup
	errs := make([]error, len(stores))
	for i := range stores {
		wg.Go(func() {
			stores[i], errs[i] = sqlitestore.Open(ctx, sqlitestore.Config{Dir: dir})
		})
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("concurrent Open %d: %v", i, err)
		}
		t.Cleanup(stores[i].Close)
	}
	a, b := stores[0], stores[1]
	d, _ := storetest.NewDevice(t, a, "veh-shared")
	if got, err := b.DeviceByUID(ctx, "veh-shared"); err != nil || got.ID != d.ID {
		t.Fatalf("second store does not see the first's device: %+v, %v", got, err)
	}
	// Both write interleaved, overlapping batches at once.
	for i, s := range []*sqlitestore.Store{a, b} {
		wg.Go(func() {
			for k := range 20 {
				start := storetest.Base.Add(time.Duration(k*50+i*25) * time.Second)
				if err := s.WriteSamples(ctx, storetest.Samples(d.ID, start, 50)); err != nil {
					t.Errorf("store %d batch %d: %v", i, k, err)
				}
			}
		})
	}
	wg.Wait()
	for i, s := range []*sqlitestore.Store{a, b} {
		track, err := s.Track(ctx, store.TrackQuery{DeviceID: d.ID, From: storetest.Base, To: storetest.Base.Add(time.Hour)})
		if err != nil || len(track) != 20*50+25 {
			t.Fatalf("store %d reads %d samples, %v; want %d", i, len(track), err, 20*50+25)
		}
	}
	// The alarm key is unique across both stores: the second raise merges.
	ep := rules.Episode{Key: rules.Key{DeviceID: d.ID, RuleID: 1}, RuleName: "r", Kind: "level", Severity: "alarm", State: "raised",
		FirstSeen: storetest.Base, LastSeen: storetest.Base, Samples: 1, ConditionActive: true, PeakDose: math.NaN(), PeakTime: storetest.Base}
	id1, c1, err1 := a.RaiseAlarm(ctx, ep, rules.Event{Type: "raised", Time: storetest.Base, Episode: ep})
	id2, c2, err2 := b.RaiseAlarm(ctx, ep, rules.Event{Type: "raised", Time: storetest.Base, Episode: ep})
	if err1 != nil || err2 != nil || !c1 || c2 || id1 != id2 {
		t.Fatalf("raise from two stores = (%d %v %v), (%d %v %v)", id1, c1, err1, id2, c2, err2)
	}
}

func TestTimesRoundTrip(t *testing.T) {
	ctx := context.Background()
	s := open(t, t.TempDir())
	d, _ := storetest.NewDevice(t, s, "veh-times")
	// Sub-microsecond precision is dropped like in PostgreSQL, so these two
	// are one (device, time) key; pre-1970 and far-future times work.
	times := []time.Time{
		time.Date(1960, 3, 1, 0, 0, 59, 999_999_000, time.UTC),
		storetest.Base.Add(1500 * time.Nanosecond),
		storetest.Base.Add(1999 * time.Nanosecond),
		time.Date(2400, 1, 1, 0, 0, 0, 0, time.UTC),
	}
	in := storetest.Samples(d.ID, storetest.Base, len(times))
	for i := range in {
		in[i].Time = times[i]
	}
	if err := s.WriteSamples(ctx, in); err != nil {
		t.Fatal(err)
	}
	out, err := s.Track(ctx, store.TrackQuery{DeviceID: d.ID, From: time.Date(1900, 1, 1, 0, 0, 0, 0, time.UTC), To: time.Date(2500, 1, 1, 0, 0, 0, 0, time.UTC)})
	if err != nil || len(out) != 3 {
		t.Fatalf("Track = %d samples, %v; want 3", len(out), err)
	}
	if !out[0].Time.Equal(times[0]) || !out[1].Time.Equal(storetest.Base.Add(time.Microsecond)) || !out[2].Time.Equal(times[3]) {
		t.Fatalf("times = %v, %v, %v", out[0].Time, out[1].Time, out[2].Time)
	}
	// A minute before 1970 buckets to its own start, not toward zero.
	mins, err := s.DoseMinutes(ctx, d.ID, time.Date(1960, 3, 1, 0, 0, 0, 0, time.UTC), time.Date(1960, 3, 1, 0, 1, 0, 0, time.UTC))
	if err != nil || len(mins) != 1 || !mins[0].Bucket.Equal(time.Date(1960, 3, 1, 0, 0, 0, 0, time.UTC)) {
		t.Fatalf("pre-1970 minute = %+v, %v", mins, err)
	}
}

func TestNotFoundAndConflict(t *testing.T) {
	ctx := context.Background()
	s := open(t, t.TempDir())
	if _, err := s.DeviceByID(ctx, 1); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("DeviceByID: %v", err)
	}
	if err := s.SetDeviceToken(ctx, 1, []byte("x")); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("SetDeviceToken: %v", err)
	}
	if _, err := s.Alarm(ctx, 1); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("Alarm: %v", err)
	}
	if err := s.TransitionAlarm(ctx, rules.Episode{ID: 1, State: "acknowledged"}, "raised", nil); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("TransitionAlarm of unknown alarm: %v", err)
	}
	if _, err := s.CreateFence(ctx, store.Fence{Name: "x", Kind: "patrol", Feature: []byte("{not json")}); err == nil {
		t.Fatal("fence with invalid JSON stored")
	}
	// Devices without a token may be many (NULL is not a duplicate).
	for _, uid := range []string{"a", "b"} {
		if _, err := s.CreateDevice(ctx, store.Device{UID: uid, Name: uid}, nil); err != nil {
			t.Fatalf("device %s without token: %v", uid, err)
		}
	}
}

// TestMergeMovesWholePeak: when another node's episode brings a higher
// peak, its position and fix flag come with it. (pgstore's merge keeps the
// stored peak_gps_valid; its UpdateAlarm moves it, as here.)
func TestMergeMovesWholePeak(t *testing.T) {
	ctx := context.Background()
	s := open(t, t.TempDir())
	ep := rules.Episode{Key: rules.Key{DeviceID: 1, RuleID: 1}, RuleName: "r", Kind: "level", Severity: "alarm", State: "raised",
		FirstSeen: storetest.Base, LastSeen: storetest.Base, Samples: 1, ConditionActive: true,
		PeakDose: 1, PeakTime: storetest.Base, PeakLon: 4, PeakLat: 52, PeakGPSValid: true}
	id, _, err := s.RaiseAlarm(ctx, ep, rules.Event{Type: "raised", Time: storetest.Base, Episode: ep})
	if err != nil {
		t.Fatal(err)
	}
	other := ep
	other.PeakDose, other.PeakTime, other.PeakLon, other.PeakLat, other.PeakGPSValid = 3, storetest.Base.Add(time.Second), 5, 53, false
	if _, created, err := s.RaiseAlarm(ctx, other, rules.Event{Type: "raised", Time: other.PeakTime, Episode: other}); err != nil || created {
		t.Fatalf("merge = %v, %v", created, err)
	}
	got, err := s.Alarm(ctx, id)
	if err != nil || got.PeakDose != 3 || got.PeakLon != 5 || got.PeakLat != 53 || got.PeakGPSValid || !got.PeakTime.Equal(other.PeakTime) {
		t.Fatalf("merged peak = %+v, %v", got, err)
	}
}
