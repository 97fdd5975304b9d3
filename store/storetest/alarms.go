package storetest

import (
	"context"
	"encoding/json"
	"errors"
	"math"
	"testing"
	"time"

	"github.com/radtrack/radtrack/rules"
	"github.com/radtrack/radtrack/store"
)

func testFencesAndRules(t *testing.T, s store.Store) {
	ctx := context.Background()
	feature := json.RawMessage(`{"type":"Feature","properties":{"name":"Berth 4","kind":"restricted"},"geometry":{"type":"Polygon","coordinates":[[[4.0,51.9],[4.1,51.9],[4.1,52.0],[4.0,51.9]]]}}`)
	f, err := s.CreateFence(ctx, store.Fence{Name: "Berth 4", Kind: "restricted", Feature: feature})
	if err != nil || f.ID == 0 {
		t.Fatalf("CreateFence = %+v, %v", f, err)
	}
	f.Name, f.Kind = "Berth 4 north", "monitoring"
	if up, err := s.UpdateFence(ctx, f); err != nil || up.Name != "Berth 4 north" || up.Kind != "monitoring" {
		t.Fatalf("UpdateFence = %+v, %v", up, err)
	}
	got, err := s.Fence(ctx, f.ID)
	var back map[string]any
	if err != nil || json.Unmarshal(got.Feature, &back) != nil || back["type"] != "Feature" {
		t.Fatalf("Fence = %+v, %v", got, err)
	}
	if _, err := s.UpdateFence(ctx, store.Fence{ID: 9999, Name: "x", Kind: "patrol", Feature: feature}); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("update unknown fence: %v", err)
	}
	if err := s.DeleteFence(ctx, f.ID); err != nil {
		t.Fatal(err)
	}
	if all, err := s.ListFences(ctx); err != nil || len(all) != 0 {
		t.Fatalf("after delete: %+v, %v", all, err)
	}

	if seeded, err := s.SeedRules(ctx, rules.DefaultRules()[:2]); err != nil || !seeded {
		t.Fatalf("first SeedRules = %v, %v", seeded, err)
	}
	if seeded, err := s.SeedRules(ctx, rules.DefaultRules()); err != nil || seeded {
		t.Fatalf("second SeedRules = %v, %v; want no-op", seeded, err)
	}
	for _, r := range rules.DefaultRules()[2:] {
		created, err := s.CreateRule(ctx, r)
		if err != nil || created.ID == 0 || created.Name != r.Name || created.Kind != r.Kind {
			t.Fatalf("CreateRule(%s) = %+v, %v", r.Name, created, err)
		}
	}
	list, err := s.ListRules(ctx)
	if err != nil || len(list) != len(rules.DefaultRules()) {
		t.Fatalf("ListRules = %d, %v", len(list), err)
	}
	if err := rules.ValidateRules(list); err != nil {
		t.Fatalf("stored rules no longer validate: %v", err)
	}
	list[0].Enabled = false
	if up, err := s.UpdateRule(ctx, list[0]); err != nil || up.Enabled || up.ID != list[0].ID {
		t.Fatalf("UpdateRule = %+v, %v", up, err)
	}
	if err := s.DeleteRule(ctx, list[1].ID); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteRule(ctx, list[1].ID); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("delete twice: %v", err)
	}
}

// testConfigVersion: every write of fences and rules moves the version,
// reads and failed writes do not.
func testConfigVersion(t *testing.T, s store.Store) {
	ctx := context.Background()
	last, err := s.ConfigVersion(ctx)
	if err != nil {
		t.Fatal(err)
	}
	step := func(what string, moves bool, do func() error) {
		t.Helper()
		if err := do(); err != nil && moves {
			t.Fatalf("%s: %v", what, err)
		}
		v, err := s.ConfigVersion(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if moved := v != last; moved != moves || v < last {
			t.Fatalf("%s: config version %d → %d, want moved=%v (and never back)", what, last, v, moves)
		}
		last = v
	}
	feature := json.RawMessage(`{"type":"Feature","properties":{"name":"Yard","kind":"restricted"},"geometry":{"type":"Polygon","coordinates":[[[4.0,51.9],[4.1,51.9],[4.1,52.0],[4.0,51.9]]]}}`)
	var f store.Fence
	var r rules.Rule
	step("create fence", true, func() (err error) {
		f, err = s.CreateFence(ctx, store.Fence{Name: "Yard", Kind: "restricted", Feature: feature})
		return err
	})
	step("list fences", false, func() error { _, err := s.ListFences(ctx); return err })
	step("update fence", true, func() error { f.Name = "Yard 2"; _, err := s.UpdateFence(ctx, f); return err })
	step("update a missing fence", false, func() error {
		_, err := s.UpdateFence(ctx, store.Fence{ID: f.ID + 1000, Name: "x", Kind: "patrol", Feature: feature})
		return err
	})
	step("delete fence", true, func() error { return s.DeleteFence(ctx, f.ID) })
	step("seed rules", true, func() error { _, err := s.SeedRules(ctx, rules.DefaultRules()[:1]); return err })
	step("create rule", true, func() (err error) { r, err = s.CreateRule(ctx, rules.DefaultRules()[1]); return err })
	step("list rules", false, func() error { _, err := s.ListRules(ctx); return err })
	step("update rule", true, func() error { r.Enabled = !r.Enabled; _, err := s.UpdateRule(ctx, r); return err })
	step("delete rule", true, func() error { return s.DeleteRule(ctx, r.ID) })
	step("delete a missing rule", false, func() error { return s.DeleteRule(ctx, r.ID) })
}

func episode(device, rule int64, first time.Time, peak float64) rules.Episode {
	return rules.Episode{
		Key:      rules.Key{DeviceID: device, RuleID: rule},
		RuleName: "OIL3", Kind: rules.Kind("level"), Severity: rules.Severity("alarm"), State: rules.State("raised"),
		FirstSeen: first, LastSeen: first, Samples: 1, ConditionActive: true,
		PeakDose: peak, PeakTime: first, PeakLon: 4.05, PeakLat: 51.95, PeakGPSValid: true,
	}
}

// raise stores ep's raise (a new episode) and returns it with its ID.
func raise(t *testing.T, s store.Store, ep rules.Episode) rules.Episode {
	t.Helper()
	id, _, err := s.RaiseAlarm(context.Background(), ep, rules.Event{Type: "raised", Key: ep.Key, Time: ep.FirstSeen, Episode: ep})
	if err != nil {
		t.Fatal(err)
	}
	ep.ID = id
	return ep
}

func testAlarms(t *testing.T, s store.Store) {
	ctx := context.Background()
	ep := episode(7, 3, Base, 1.5)
	raised := rules.Event{Type: "raised", Key: ep.Key, Time: Base, Episode: ep}
	id, created, err := s.RaiseAlarm(ctx, ep, raised)
	if err != nil || !created || id == 0 {
		t.Fatalf("RaiseAlarm = %d, %v, %v", id, created, err)
	}
	// Another node raises the same key: merged, not duplicated; peak grows.
	other := episode(7, 3, Base.Add(time.Second), 2.5)
	other.PeakLon = 4.06
	id2, created2, err := s.RaiseAlarm(ctx, other, rules.Event{Type: "raised", Key: other.Key, Time: other.FirstSeen, Episode: other})
	if err != nil || created2 || id2 != id {
		t.Fatalf("second raise = %d, %v, %v; want merge into %d", id2, created2, err, id)
	}
	got, err := s.Alarm(ctx, id)
	if err != nil || got.PeakDose != 2.5 || got.PeakLon != 4.06 || got.Samples != 2 || !got.LastSeen.Equal(Base.Add(time.Second)) || got.State != "raised" {
		t.Fatalf("merged alarm = %+v, %v", got, err)
	}

	// Progress: the condition ends; a lower peak never lowers the stored one.
	got.ID = id
	got.ConditionActive, got.ConditionEndedAt, got.LastSeen, got.PeakDose = false, Base.Add(time.Minute), Base.Add(time.Minute), 1.0
	if err := s.UpdateAlarm(ctx, got, 7); err != nil {
		t.Fatal(err)
	}
	upd, _ := s.Alarm(ctx, id)
	if upd.ConditionActive || !upd.ConditionEndedAt.Equal(Base.Add(time.Minute)) || upd.Samples != 9 || upd.PeakDose != 2.5 {
		t.Fatalf("after update = %+v", upd)
	}

	// Person transitions, guarded by the expected current state.
	acked := upd
	acked.State, acked.AckedBy, acked.AckedAt, acked.AckComment = "acknowledged", "olga", Base.Add(2*time.Minute), "on it"
	ackEv := rules.Event{Type: "acknowledged", Key: acked.Key, Time: acked.AckedAt, User: "olga", Comment: "on it", Episode: acked}
	if err := s.TransitionAlarm(ctx, acked, "raised", []rules.Event{ackEv}); err != nil {
		t.Fatal(err)
	}
	if err := s.TransitionAlarm(ctx, acked, "raised", []rules.Event{ackEv}); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("second ack from raised: %v, want ErrConflict", err)
	}
	resolved := acked
	resolved.State, resolved.ResolvedBy, resolved.ResolvedAt, resolved.Code, resolved.ResolveComment = "resolved", "olga", Base.Add(3*time.Minute), "innocent_medical", "patient"
	if err := s.TransitionAlarm(ctx, resolved, "acknowledged", []rules.Event{{Type: "resolved", Key: resolved.Key, Time: resolved.ResolvedAt, User: "olga", Code: "innocent_medical", Comment: "patient", Episode: resolved}}); err != nil {
		t.Fatal(err)
	}
	final, _ := s.Alarm(ctx, id)
	if final.State != "resolved" || final.Code != "innocent_medical" || final.AckedBy != "olga" || !final.ResolvedAt.Equal(Base.Add(3*time.Minute)) {
		t.Fatalf("resolved alarm = %+v", final)
	}
	events, err := s.AlarmEvents(ctx, id)
	if err != nil || len(events) != 3 || events[0].Type != "raised" || events[1].Type != "acknowledged" || events[2].Type != "resolved" ||
		events[1].User != "olga" || events[2].Code != "innocent_medical" {
		t.Fatalf("audit trail = %+v, %v", events, err)
	}

	// After resolution the key is free: a new episode is a new alarm.
	next := episode(7, 3, Base.Add(time.Hour), math.NaN())
	nid, ncreated, err := s.RaiseAlarm(ctx, next, rules.Event{Type: "raised", Key: next.Key, Time: next.FirstSeen, Episode: next})
	if err != nil || !ncreated || nid == id {
		t.Fatalf("raise after resolve = %d, %v, %v", nid, ncreated, err)
	}
	if a, _ := s.Alarm(ctx, nid); !math.IsNaN(a.PeakDose) {
		t.Fatalf("absent peak dose read back as %v, want NaN", a.PeakDose)
	}
	_, _, _ = s.RaiseAlarm(ctx, episode(8, 3, Base.Add(2*time.Hour), 0.7), rules.Event{Type: "raised", Time: Base})

	open, err := s.ListAlarms(ctx, store.AlarmFilter{States: []rules.State{"raised", "acknowledged"}})
	if err != nil || len(open) != 2 {
		t.Fatalf("open alarms = %d, %v", len(open), err)
	}
	byDevice, _ := s.ListAlarms(ctx, store.AlarmFilter{DeviceID: 7})
	if len(byDevice) != 2 || byDevice[0].ID != nid {
		t.Fatalf("device 7 alarms = %+v (want unresolved first)", byDevice)
	}
	inBox, _ := s.ListAlarms(ctx, store.AlarmFilter{BBox: &[4]float64{4.0, 51.9, 4.055, 52.0}})
	outBox, _ := s.ListAlarms(ctx, store.AlarmFilter{BBox: &[4]float64{5, 50, 6, 51}})
	if len(inBox) != 2 || len(outBox) != 0 {
		t.Fatalf("bbox filter: %d inside (want 2: peak 4.06 is outside), %d outside", len(inBox), len(outBox))
	}
	window, _ := s.ListAlarms(ctx, store.AlarmFilter{From: Base.Add(30 * time.Minute), To: Base.Add(90 * time.Minute)})
	if len(window) != 1 || window[0].ID != nid {
		t.Fatalf("time window: %+v", window)
	}
}

// testAlarmUpdates: coalesced episode progress, alone and in one
// transaction with samples. Only fields that grow move (counts add, last
// seen and significance never go back, the peak only rises as a whole, a
// missing peak never replaces one); the condition and the state are not
// touched; a resolved episode is skipped.
func testAlarmUpdates(t *testing.T, s store.Store) {
	b, ok := s.(store.AlarmBatcher)
	if !ok {
		t.Skip("not a store.AlarmBatcher")
	}
	ctx := context.Background()
	dev, _ := NewDevice(t, s, "veh-alarm-updates")
	ep := episode(dev.ID, 2, Base, 1.5)
	id := raise(t, s, ep).ID
	gone := raise(t, s, episode(dev.ID, 3, Base, 1.5))
	gone.State, gone.ResolvedBy, gone.ResolvedAt, gone.Code = "resolved", "olga", Base.Add(time.Second), "false_alarm"
	if err := s.TransitionAlarm(ctx, gone, "raised", nil); err != nil {
		t.Fatal(err)
	}

	up := func(last time.Time, add int, peak float64, sig float64) store.AlarmUpdate {
		return store.AlarmUpdate{ID: id, Key: ep.Key, AddSamples: add, LastSeen: last, PeakDose: peak,
			PeakTime: last, PeakLon: 4.2, PeakLat: 52.1, PeakGPSValid: true, Significance: sig}
	}
	samples := Samples(dev.ID, Base, 3)
	higher := up(Base.Add(2*time.Minute), 4, 3.5, 6)
	resolved := store.AlarmUpdate{ID: gone.ID, Key: gone.Key, AddSamples: 9, LastSeen: Base.Add(time.Hour), PeakDose: 99, PeakTime: Base.Add(time.Hour)}
	if err := b.WriteSamplesAndAlarms(ctx, samples, []store.AlarmUpdate{higher, resolved}); err != nil {
		t.Fatal(err)
	}
	stored, err := s.Track(ctx, store.TrackQuery{DeviceID: dev.ID, From: Base, To: Base.Add(time.Hour)})
	if err != nil || len(stored) != 3 {
		t.Fatalf("samples with the updates: %d stored, %v", len(stored), err)
	}
	// Older, lower, without a dose: only the count moves.
	if err := b.UpdateAlarms(ctx, []store.AlarmUpdate{up(Base.Add(time.Minute), 2, math.NaN(), 1)}); err != nil {
		t.Fatal(err)
	}
	if err := b.UpdateAlarms(ctx, []store.AlarmUpdate{up(Base.Add(time.Minute), 1, 2.0, 1)}); err != nil {
		t.Fatal(err)
	}
	got, err := s.Alarm(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if got.Samples != 1+4+2+1 || !got.LastSeen.Equal(Base.Add(2*time.Minute)) || got.PeakDose != 3.5 ||
		got.PeakLon != 4.2 || !got.PeakTime.Equal(Base.Add(2*time.Minute)) || got.Significance != 6 ||
		!got.ConditionActive || got.State != "raised" {
		t.Fatalf("after the updates = %+v", got)
	}
	if g, _ := s.Alarm(ctx, gone.ID); g.Samples != 1 || g.PeakDose != 1.5 || g.State != "resolved" {
		t.Fatalf("a resolved alarm was updated: %+v", g)
	}
	// A batch is applied once: stored with samples, then replayed (the
	// journal's copy of a commit whose reply was lost) — the replay adds
	// nothing; another batch and a batch-less update add theirs.
	batched := func(batch int64, add int, peak float64) []store.AlarmUpdate {
		u := up(Base.Add(3*time.Minute), add, peak, 6)
		u.Batch = batch
		return []store.AlarmUpdate{u}
	}
	if err := b.WriteSamplesAndAlarms(ctx, Samples(dev.ID, Base.Add(time.Hour), 2), batched(7001, 2, 4)); err != nil {
		t.Fatal(err)
	}
	if err := b.UpdateAlarms(ctx, batched(7001, 2, 5)); err != nil {
		t.Fatal(err)
	}
	if got, err := s.Alarm(ctx, id); err != nil || got.Samples != 8+2 || got.PeakDose != 4 {
		t.Fatalf("after a batch and its replay: %d samples, peak %v (%v); want 10, 4", got.Samples, got.PeakDose, err)
	}
	if err := b.UpdateAlarms(ctx, batched(7002, 3, 4)); err != nil {
		t.Fatal(err)
	}
	if err := b.UpdateAlarms(ctx, batched(0, 1, 4)); err != nil {
		t.Fatal(err)
	}
	if got, err := s.Alarm(ctx, id); err != nil || got.Samples != 10+3+1 {
		t.Fatalf("after another batch and a batch-less update: %d samples (%v), want 14", got.Samples, err)
	}
	// The journal's encoding keeps a missing peak and the batch.
	u := up(Base, 1, math.NaN(), 0)
	u.Batch = 7003
	raw, err := json.Marshal(u)
	if err != nil {
		t.Fatal(err)
	}
	var back store.AlarmUpdate
	if err := json.Unmarshal(raw, &back); err != nil || !math.IsNaN(back.PeakDose) || back.ID != id || back.AddSamples != 1 || back.Batch != 7003 {
		t.Fatalf("JSON round trip of %s = %+v, %v", raw, back, err)
	}
}
