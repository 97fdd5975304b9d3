package alarms_test

import (
	"context"
	"testing"
	"time"

	"github.com/radtrack/radtrack/internal/pgtest"
	"github.com/radtrack/radtrack/rules"
	"github.com/radtrack/radtrack/store"
	"github.com/radtrack/radtrack/store/pgstore"
	"github.com/radtrack/radtrack/store/sqlitestore"
	"github.com/radtrack/radtrack/store/storetest"
)

// eachStore runs f on the embedded store and, when a test database is
// configured, on PostgreSQL.
func eachStore(t *testing.T, f func(t *testing.T, st store.Store)) {
	t.Run("sqlite", func(t *testing.T) {
		st, err := sqlitestore.Open(context.Background(), sqlitestore.Config{Dir: t.TempDir()})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(st.Close)
		f(t, st)
	})
	// PostgreSQL, and TimescaleDB when RADTRACK_TEST_TSDB_URL is set.
	pgtest.EachDatabase(t, func(t *testing.T, url string) {
		st, err := pgstore.Open(context.Background(), pgstore.Config{URL: url})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(st.Close)
		f(t, st)
	})
}

// Issue 13's scenario end to end: OIL3 acknowledged (not resolved), its
// condition ended; an hour later the same vehicle reads 50 µSv/h
// elsewhere. It pages again: a realarm event is published, the stored
// alarm is raised again with an audit row, and can be acknowledged again.
func TestRealarmStoredAndPublished(t *testing.T) {
	eachStore(t, func(t *testing.T, st store.Store) {
		ctx := context.Background()
		dev, _ := storetest.NewDevice(t, st, "veh-realarm")
		pub := &recorder{}
		svc := openService(t, st, pub)
		start := time.Now().UTC().Add(-3 * time.Hour).Truncate(time.Second)
		smp := storetest.Samples(dev.ID, start, 6)
		for i := range smp {
			smp[i].DoseRate = []float64{5, 5, 0.1, 0.1, 0.1, 0.1}[i]
		}
		if err := svc.Process(ctx, dev, smp[:2]); err != nil {
			t.Fatal(err)
		}
		oil := findAlarm(t, st, dev.ID, oil3)
		if _, err := svc.Acknowledge(ctx, oil.ID, "ana", "checked"); err != nil {
			t.Fatal(err)
		}
		if err := svc.Process(ctx, dev, smp[2:]); err != nil {
			t.Fatal(err)
		}
		if got := findAlarm(t, st, dev.ID, oil3); got.State != rules.StateAcknowledged || got.ConditionActive {
			t.Fatalf("before: %+v, want acknowledged, condition ended", got)
		}
		pub.events = nil
		hot := storetest.Samples(dev.ID, start.Add(time.Hour), 1)
		hot[0].DoseRate, hot[0].Lon = 50, 140.2 // ≈ 8.8 km east
		if err := svc.Process(ctx, dev, hot); err != nil {
			t.Fatal(err)
		}
		var realarm *rules.Event
		for i, ev := range pub.events {
			if ev.Key.RuleID == oil3 {
				if realarm != nil {
					t.Fatalf("two OIL3 events: %+v", pub.events)
				}
				realarm = &pub.events[i]
			}
		}
		if realarm == nil || realarm.Type != rules.EventRealarm || realarm.AlarmID != oil.ID ||
			realarm.Reason != rules.ReasonConditionReturned || realarm.Episode.State != rules.StateRaised {
			t.Fatalf("published %+v, want a realarm of alarm %d", realarm, oil.ID)
		}
		got := findAlarm(t, st, dev.ID, oil3)
		if got.ID != oil.ID || got.State != rules.StateRaised || got.AckedBy != "" || !got.AckedAt.IsZero() ||
			got.PeakDose != 50 || got.PeakLon != 140.2 || got.Samples != 3 || !got.ConditionActive {
			t.Fatalf("stored after realarm: %+v", got)
		}
		evs, err := st.AlarmEvents(ctx, oil.ID)
		if err != nil {
			t.Fatal(err)
		}
		var types []string
		for _, e := range evs {
			types = append(types, e.Type)
		}
		want := []string{"raised", "acknowledged", "condition_ended", "realarm"}
		if len(types) != len(want) {
			t.Fatalf("audit %v, want %v", types, want)
		}
		for i := range want {
			if types[i] != want[i] {
				t.Fatalf("audit %v, want %v", types, want)
			}
		}
		if _, err := svc.Acknowledge(ctx, oil.ID, "bo", ""); err != nil {
			t.Fatalf("acknowledge again: %v", err)
		}
	})
}

// A realarm of an alarm that another node resolved meanwhile raises a new
// alarm rather than vanishing.
func TestRealarmOfResolvedAlarmRaisesNew(t *testing.T) {
	eachStore(t, func(t *testing.T, st store.Store) {
		ctx := context.Background()
		dev, _ := storetest.NewDevice(t, st, "veh-realarm2")
		pub := &recorder{}
		svc := openService(t, st, pub)
		start := time.Now().UTC().Add(-3 * time.Hour).Truncate(time.Second)
		smp := storetest.Samples(dev.ID, start, 5)
		for i := range smp {
			smp[i].DoseRate = []float64{5, 0.1, 0.1, 0.1, 50}[i]
		}
		smp[4].Time = start.Add(time.Hour) // beyond rules.RealarmMinGap
		smp[4].ReceivedAt = smp[4].Time
		if err := svc.Process(ctx, dev, smp[:4]); err != nil {
			t.Fatal(err)
		}
		oil := findAlarm(t, st, dev.ID, oil3)
		// Resolved in the database only (as another node would), the
		// engine here still has it open.
		ep := oil
		from := ep.State
		evs, err := ep.Resolve(rules.Resolution{User: "peer", Time: time.Now().UTC(), Code: rules.CodeTest, MaySkipAck: true})
		if err != nil {
			t.Fatal(err)
		}
		if err := st.TransitionAlarm(ctx, ep, from, evs); err != nil {
			t.Fatal(err)
		}
		pub.events = nil
		if err := svc.Process(ctx, dev, smp[4:]); err != nil {
			t.Fatal(err)
		}
		got := findAlarm(t, st, dev.ID, oil3)
		if got.ID == oil.ID || got.State != rules.StateRaised || got.PeakDose != 50 {
			t.Fatalf("after realarm of a resolved alarm: %+v (old id %d)", got, oil.ID)
		}
		var raised bool
		for _, ev := range pub.events {
			raised = raised || (ev.Key.RuleID == oil3 && ev.Type == rules.EventRaised && ev.AlarmID == got.ID)
		}
		if !raised {
			t.Fatalf("published %+v, want a raise of alarm %d", pub.events, got.ID)
		}
	})
}

// findAlarm returns the newest unresolved alarm of a device and rule.
func findAlarm(t *testing.T, st store.Store, device, rule int64) rules.Episode {
	t.Helper()
	list, err := st.ListAlarms(context.Background(), store.AlarmFilter{DeviceID: device,
		States: []rules.State{rules.StateRaised, rules.StateAcknowledged}})
	if err != nil {
		t.Fatal(err)
	}
	for _, ep := range list {
		if ep.RuleID == rule {
			return ep
		}
	}
	t.Fatalf("no open alarm of rule %d on device %d in %+v", rule, device, list)
	return rules.Episode{}
}
