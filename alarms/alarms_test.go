package alarms_test

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/radtrack/radtrack/alarms"
	"github.com/radtrack/radtrack/geo"
	"github.com/radtrack/radtrack/internal/pgtest"
	"github.com/radtrack/radtrack/rules"
	"github.com/radtrack/radtrack/store"
	"github.com/radtrack/radtrack/store/pgstore"
	"github.com/radtrack/radtrack/store/storetest"
)

type recorder struct{ events []rules.Event }

func (r *recorder) PublishAlarm(_ context.Context, ev rules.Event) error {
	r.events = append(r.events, ev)
	return nil
}

func openService(t *testing.T, st store.Store, pub alarms.Publisher) *alarms.Service {
	t.Helper()
	svc, err := alarms.New(context.Background(), st, alarms.Options{Geo: geo.DefaultConfig(), Publisher: pub},
		slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	return svc
}

// A restarted server continues the open episode instead of raising it again,
// and publishes only live events, after they are stored.
func TestRestartContinuesOpenEpisodes(t *testing.T) {
	ctx := context.Background()
	st, err := pgstore.Open(ctx, pgstore.Config{URL: pgtest.NewDatabase(t)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(st.Close)
	dev, _ := storetest.NewDevice(t, st, "veh-restart")
	pub := &recorder{}
	svc := openService(t, st, pub)

	hot := storetest.Samples(dev.ID, time.Now().UTC().Add(-time.Hour).Truncate(time.Second), 6)
	for i := range hot {
		hot[i].DoseRate = 1.2 // over notice (0.5) and OIL3 (1.0)
	}
	if err := svc.Process(ctx, dev, hot[:3]); err != nil {
		t.Fatal(err)
	}
	open, _ := st.ListAlarms(ctx, store.AlarmFilter{States: []rules.State{rules.StateRaised}})
	if len(open) != 2 {
		t.Fatalf("%d open alarms after the first samples, want 2 (notice, OIL3)", len(open))
	}
	var raised int
	for _, ev := range pub.events {
		if ev.Type == rules.EventRaised {
			raised++
			if ev.AlarmID == 0 {
				t.Fatalf("published event without the stored alarm id: %+v", ev)
			}
		}
	}
	if raised != 2 {
		t.Fatalf("published %d raised events, want 2", raised)
	}

	restarted := openService(t, st, pub)
	if err := restarted.Process(ctx, dev, hot[3:]); err != nil {
		t.Fatal(err)
	}
	all, _ := st.ListAlarms(ctx, store.AlarmFilter{})
	if len(all) != 2 {
		t.Fatalf("%d alarms after restart, want still 2", len(all))
	}
	for _, a := range all {
		// 2 before (these dose-only readings raise on the second: 2 of 3 over
		// the level, rules/detect.go), 3 after the restart.
		if a.Samples != 5 {
			t.Errorf("alarm %s counted %d samples, want 5 (2 before, 3 after the restart)", a.RuleName, a.Samples)
		}
	}

	// Imported samples raise alarms in their own key space and are not published.
	before := len(pub.events)
	imported := storetest.Samples(dev.ID, time.Now().UTC().Add(-48*time.Hour), 2)
	for i := range imported {
		imported[i].DoseRate, imported[i].Imported = 5, true
	}
	if err := restarted.Process(ctx, dev, imported); err != nil {
		t.Fatal(err)
	}
	yes := true
	imp, _ := st.ListAlarms(ctx, store.AlarmFilter{Imported: &yes})
	if len(imp) != 2 || len(pub.events) != before {
		t.Fatalf("imported: %d alarms (want 2), %d events published (want 0)", len(imp), len(pub.events)-before)
	}
}

// If storing a raised alarm fails (database blip), the sample is refused;
// when the device retries, the episode is stored after all instead of being
// stuck in memory without an id.
func TestFailedRaiseIsStoredOnRetry(t *testing.T) {
	ctx := context.Background()
	st, err := pgstore.Open(ctx, pgstore.Config{URL: pgtest.NewDatabase(t)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(st.Close)
	dev, _ := storetest.NewDevice(t, st, "veh-blip")
	svc := openService(t, st, nil)
	if _, err := st.Pool().Exec(ctx, `CREATE FUNCTION refuse() RETURNS trigger LANGUAGE plpgsql AS
		$$BEGIN RAISE EXCEPTION 'database blip'; END$$;
		CREATE TRIGGER refuse BEFORE INSERT ON alarms FOR EACH ROW EXECUTE FUNCTION refuse()`); err != nil {
		t.Fatal(err)
	}
	hot := storetest.Samples(dev.ID, time.Now().UTC().Add(-time.Hour).Truncate(time.Second), 4)
	for i := range hot {
		hot[i].DoseRate = 2
	}
	if err := svc.Process(ctx, dev, hot[:2]); err == nil {
		t.Fatal("Process succeeded although the alarm could not be stored")
	}
	if _, err := st.Pool().Exec(ctx, `DROP TRIGGER refuse ON alarms`); err != nil {
		t.Fatal(err)
	}
	// The device retries the same samples, then sends new ones.
	if err := svc.Process(ctx, dev, hot[:2]); err != nil {
		t.Fatalf("retry: %v", err)
	}
	if err := svc.Process(ctx, dev, hot[2:]); err != nil {
		t.Fatalf("next samples: %v", err)
	}
	all, _ := st.ListAlarms(ctx, store.AlarmFilter{})
	if len(all) != 2 {
		t.Fatalf("%d alarms stored, want 2 (notice, OIL3)", len(all))
	}
	for _, a := range all {
		events, _ := st.AlarmEvents(ctx, a.ID)
		if len(events) == 0 || events[0].Type != "raised" {
			t.Errorf("alarm %s audit trail %+v, want it to start with raised", a.RuleName, events)
		}
	}
}
