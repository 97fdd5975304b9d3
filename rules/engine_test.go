package rules

import (
	"math"
	"reflect"
	"sync"
	"testing"

	"github.com/radtrack/radtrack/sample"
)

const zoneFence = 42

func zoneRule(id int64, usvh float64) Rule {
	return Rule{ID: id, Name: "terminal zone", Kind: KindZone, Severity: SeverityAlarm, Enabled: true,
		Zone: &ZoneParams{FenceID: zoneFence, ThresholdUSvH: usvh}}
}

// driveThroughZone: 60 samples 5 s apart heading east; the (debounced)
// fence state says inside for samples 15..44; the dose is a Gaussian bump
// centred on sample hot over a 0.1 µSv/h background.
func driveThroughZone(hot int) []Input {
	var in []Input
	for i := range 60 {
		d := float64(i - hot)
		dose := 0.1 + 0.6*math.Exp(-d*d/36)
		x := Input{Sample: doseSample(1, at(i), dose, 4.40+0.001*float64(i), 51.2)}
		if i >= 15 && i < 45 {
			x.Inside = []int64{7, zoneFence}
		}
		in = append(in, x)
	}
	return in
}

// A dose-only device (no counts): the zone's level is judged by the k-of-n
// rule of detect.go — raised on the second of the latest three readings at
// or above the level, ended by the third reading below it in a row (or by
// leaving the fence).
func TestZoneDriveYieldsOneEpisodeWithExactPeakAndCount(t *testing.T) {
	for _, c := range []struct {
		name                string
		hot                 int
		raised, ended, over int // sample indices; readings in the episode
	}{
		// Doses ≥ 0.3 for |i−hot| ≤ 6 (0.6·e^(−d²/36) ≥ 0.2 ⇔ d² ≤ 39.5):
		// samples 22..34; the second of them raises, 35, 36, 37 end it.
		{"dose rises inside the zone", 28, 23, 37, 12},
		// Entering at sample 15 with the readings before it (outside the
		// fence, same device) already high: raised on entry; 15..21 over,
		// 22, 23, 24 end it.
		{"vehicle enters already at high dose", 15, 15, 24, 7},
	} {
		t.Run(c.name, func(t *testing.T) {
			e := newEngine(t, zoneRule(10, 0.3))
			drive := driveThroughZone(c.hot)
			raisedAt, endedAt := -1, -1
			n := map[EventType]int{}
			for i, x := range drive {
				for _, ev := range e.Evaluate(x) {
					n[ev.Type]++
					switch ev.Type {
					case EventRaised:
						raisedAt = i
					case EventConditionEnded:
						endedAt = i
					}
				}
			}
			if raisedAt != c.raised || endedAt != c.ended || n[EventRaised] != 1 || n[EventConditionEnded] != 1 || n[EventUpdated] != c.over-1 {
				t.Fatalf("events %v, raised at %d, ended at %d; want 1 raised at %d, %d updated, 1 condition_ended at %d",
					n, raisedAt, endedAt, c.raised, c.over-1, c.ended)
			}
			open := e.OpenEpisodes()
			if len(open) != 1 {
				t.Fatalf("%d open episodes, want 1", len(open))
			}
			ep, p := open[0], drive[c.hot].Sample
			if ep.Samples != c.over || ep.PeakDose != p.DoseRate || !ep.PeakTime.Equal(p.Time) ||
				ep.PeakLon != p.Lon || ep.PeakLat != p.Lat || !ep.PeakGPSValid {
				t.Errorf("episode %+v\nwant %d samples, peak %v at %v (%v, %v)", ep, c.over, p.DoseRate, p.Time, p.Lon, p.Lat)
			}
			if !ep.FirstSeen.Equal(at(c.raised)) || ep.Key != (Key{DeviceID: 1, RuleID: 10, FenceID: zoneFence}) ||
				ep.State != StateRaised || ep.ConditionActive || !ep.ConditionEndedAt.Equal(at(c.ended)) {
				t.Errorf("episode %+v", ep)
			}
		})
	}
}

// A dose alternating just under and just over the level: the single-reading
// rule this replaced ended and restarted the condition 49 times; k-of-n
// raises once (sample 3: two of the latest three over) and never ends it,
// since no three readings in a row are below.
func TestDoseOscillatingAroundThresholdIsOneEpisode(t *testing.T) {
	e := newEngine(t, levelRule(2, 1.0))
	var events []Event
	for i := range 100 {
		dose := 0.95
		if i%2 == 1 {
			dose = 1.05 + 0.001*float64(i)
		}
		events = append(events, e.Evaluate(Input{Sample: doseSample(1, at(i), dose, 4.4, 51.2)})...)
	}
	n := countTypes(events)
	if n[EventRaised] != 1 || n[EventUpdated] != 48 || n[EventConditionEnded] != 0 {
		t.Fatalf("events %v, want 1 raised, 48 updated, no condition_ended", n)
	}
	ep := e.OpenEpisodes()[0]
	if ep.Samples != 49 || !ep.FirstSeen.Equal(at(3)) || ep.PeakDose != 1.05+0.001*99 || !ep.PeakTime.Equal(at(99)) || !ep.ConditionActive {
		t.Errorf("episode %+v", ep)
	}
}

func TestMissingDoseKeepsConditionState(t *testing.T) {
	e := newEngine(t, levelRule(2, 1.0))
	e.Evaluate(Input{Sample: doseSample(1, at(0), 2, 4.4, 51.2)})
	if ev := e.Evaluate(Input{Sample: doseSample(1, at(1), 2, 4.4, 51.2)}); len(ev) != 1 || ev[0].Type != EventRaised {
		t.Fatalf("two readings at twice the level: %+v, want raised", ev)
	}
	if ev := e.Evaluate(Input{Sample: doseSample(1, at(2), math.NaN(), 4.4, 51.2)}); ev != nil {
		t.Fatalf("a sample without dose changed the episode: %v", ev)
	}
	if !e.OpenEpisodes()[0].ConditionActive {
		t.Error("condition ended without evidence")
	}
}

func TestFenceRules(t *testing.T) {
	e := newEngine(t, DefaultRules()[4:6]...) // restricted entered (5), patrol left (6)
	const restricted, patrol = 100, 200
	step := 0
	feed := func(inside []int64, tr ...Transition) []Event {
		step++
		for i := range tr {
			tr[i].Time, tr[i].Lon, tr[i].Lat = at(step), 4.5, 51.3
		}
		s := doseSample(1, at(step), 0.1, 4.5, 51.3)
		return e.Evaluate(Input{Sample: s, Inside: inside, Transitions: tr})
	}
	expect := func(events []Event, want ...EventType) {
		t.Helper()
		var got []EventType
		for _, ev := range events {
			got = append(got, ev.Type)
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("step %d: events %v, want %v", step, got, want)
		}
	}
	expect(feed([]int64{patrol}))
	expect(feed([]int64{patrol, restricted}, Transition{Type: Enter, FenceID: restricted, FenceKind: FenceRestricted}), EventRaised)
	expect(feed([]int64{patrol, restricted}), EventUpdated)
	expect(feed([]int64{patrol}, Transition{Type: Exit, FenceID: restricted, FenceKind: FenceRestricted}), EventConditionEnded)
	expect(feed([]int64{patrol}))
	// Re-entering while the alarm is unresolved continues the same episode
	// (within RealarmMinGap of leaving: no new page, realarm.go).
	events := feed([]int64{patrol, restricted}, Transition{Type: Enter, FenceID: restricted, FenceKind: FenceRestricted})
	expect(events, EventUpdated)
	if ep := events[0].Episode; ep.Samples != 3 || !ep.ConditionActive || ep.FenceID != restricted {
		t.Errorf("episode %+v", ep)
	}
	// Entering a monitoring fence is no alarm; leaving the patrol area is.
	expect(feed([]int64{restricted, 300}, Transition{Type: Enter, FenceID: 300, FenceKind: FenceMonitoring},
		Transition{Type: Exit, FenceID: patrol, FenceKind: FencePatrol}), EventUpdated, EventRaised)
	expect(feed([]int64{restricted}), EventUpdated, EventUpdated)
	expect(feed([]int64{restricted, patrol}, Transition{Type: Enter, FenceID: patrol, FenceKind: FencePatrol}), EventUpdated, EventConditionEnded)
	if n := len(e.OpenEpisodes()); n != 2 {
		t.Errorf("%d open episodes, want 2", n)
	}
}

func TestInvalidGPSSkipsFenceRulesButNotDose(t *testing.T) {
	e := newEngine(t, zoneRule(10, 0.3), levelRule(2, 1.0))
	e.Evaluate(Input{Sample: doseSample(1, at(0), 0.1, 4.41, 51.21)})
	s := doseSample(1, at(1), 5, 0, 0)
	s.GPSValid = false
	events := e.Evaluate(Input{Sample: s, Inside: []int64{zoneFence}})
	if len(events) != 1 || events[0].Type != EventRaised || events[0].Key.RuleID != 2 {
		t.Fatalf("events %+v, want only the level rule raised", events)
	}
	ep := events[0].Episode
	if ep.PeakDose != 5 || ep.PeakGPSValid || ep.PeakLon != 4.41 || ep.PeakLat != 51.21 {
		t.Errorf("peak should carry the last known fix, flagged: %+v", ep)
	}
}

func TestLateSamples(t *testing.T) {
	e := newEngine(t, levelRule(2, 1.0))
	e.Evaluate(Input{Sample: doseSample(1, at(10), 0.1, 4.4, 51.2)})
	// A late sample over the level still raises (and dates the episode back).
	ev := e.Evaluate(Input{Sample: doseSample(1, at(5), 3, 4.4, 51.2)})
	if len(ev) != 1 || ev[0].Type != EventRaised || !ev[0].Episode.FirstSeen.Equal(at(5)) {
		t.Fatalf("late high sample: %+v", ev)
	}
	// A late sample under the level does not end the condition …
	if ev := e.Evaluate(Input{Sample: doseSample(1, at(6), 0.1, 4.4, 51.2)}); ev != nil {
		t.Fatalf("late low sample produced %+v", ev)
	}
	// … current ones do (the third reading below in a row, at(10), at(11),
	// at(12), on this dose-only device: detect.go); a late one over the
	// level then adds to the episode without restarting the condition.
	if ev := e.Evaluate(Input{Sample: doseSample(1, at(11), 0.1, 4.4, 51.2)}); ev != nil {
		t.Fatalf("second low sample: %+v", ev)
	}
	if ev := e.Evaluate(Input{Sample: doseSample(1, at(12), 0.1, 4.4, 51.2)}); len(ev) != 1 || ev[0].Type != EventConditionEnded {
		t.Fatalf("third current low sample: %+v", ev)
	}
	ev = e.Evaluate(Input{Sample: doseSample(1, at(7), 4, 4.4, 51.2)})
	if len(ev) != 1 || ev[0].Type != EventUpdated || ev[0].Episode.ConditionActive || ev[0].Episode.PeakDose != 4 ||
		!ev[0].Episode.LastSeen.Equal(at(7)) || ev[0].Episode.Samples != 2 {
		t.Fatalf("late high sample after the end: %+v", ev)
	}
}

func TestImportedSamplesUseTheirOwnStream(t *testing.T) {
	e := newEngine(t, levelRule(2, 1.0))
	imp := doseSample(1, at(0), 3, 4.4, 51.2) // 3× the level: raises on one reading
	imp.Imported = true
	ev := e.Evaluate(Input{Sample: imp})
	if len(ev) != 1 || !ev[0].Imported || !ev[0].Key.Imported || ev[0].Type != EventRaised {
		t.Fatalf("imported: %+v", ev)
	}
	ev = e.Evaluate(Input{Sample: doseSample(1, at(1), 3, 4.4, 51.2)})
	if len(ev) != 1 || ev[0].Imported || ev[0].Type != EventRaised {
		t.Fatalf("a live alarm must be raised (and paged) even while an imported one is open: %+v", ev)
	}
	if n := len(e.OpenEpisodes()); n != 2 {
		t.Errorf("%d open episodes, want 2", n)
	}
}

func TestRestorePreventsDuplicates(t *testing.T) {
	first := newEngine(t, DefaultRules()...)
	first.Evaluate(Input{Sample: doseSample(1, at(0), 3, 4.4, 51.2)}) // notice + OIL3 (one reading ≥ 3× each level)
	open := first.OpenEpisodes()
	if len(open) != 2 {
		t.Fatalf("%d open, want 2", len(open))
	}
	for i := range open {
		open[i].ID = int64(1000 + i) // as persisted
	}
	restarted := newEngine(t, DefaultRules()...)
	if err := restarted.Restore(open); err != nil {
		t.Fatal(err)
	}
	ev := restarted.Evaluate(Input{Sample: doseSample(1, at(1), 3.5, 4.4, 51.2)})
	if len(ev) != 2 || ev[0].Type != EventUpdated || ev[1].Type != EventUpdated ||
		ev[0].AlarmID != 1000 || ev[1].AlarmID != 1001 || ev[1].Episode.Samples != 2 || ev[1].Episode.PeakDose != 3.5 {
		t.Fatalf("after restore: %+v", ev)
	}
	// Restoring a resolved episode or a repeated key is reported; the rest loads.
	resolved := open[0]
	resolved.State = StateResolved
	again := newEngine(t, DefaultRules()...)
	if err := again.Restore([]Episode{open[0], resolved, open[0], open[1]}); err == nil {
		t.Error("want an error for a resolved and a repeated episode")
	}
	if n := len(again.OpenEpisodes()); n != 2 {
		t.Errorf("%d restored, want 2", n)
	}
}

func TestAssignIDIsCarriedByLaterEvents(t *testing.T) {
	e := newEngine(t, levelRule(2, 1.0))
	ev := e.Evaluate(Input{Sample: doseSample(1, at(0), 3, 4.4, 51.2)})
	if ev[0].AlarmID != 0 {
		t.Fatal("the engine cannot know a database id")
	}
	if err := e.AssignID(ev[0].Key, 77); err != nil {
		t.Fatal(err)
	}
	if ev = e.Evaluate(Input{Sample: doseSample(1, at(1), 3, 4.4, 51.2)}); ev[0].AlarmID != 77 || ev[0].Episode.ID != 77 {
		t.Errorf("got %+v", ev[0])
	}
	if err := e.AssignID(Key{DeviceID: 9}, 1); err != ErrNoOpenAlarm {
		t.Errorf("got %v", err)
	}
}

func TestSetRulesSwapsOnNextSample(t *testing.T) {
	e := newEngine(t, levelRule(2, 1.0))
	if ev := e.Evaluate(Input{Sample: doseSample(1, at(0), 0.7, 4.4, 51.2)}); ev != nil {
		t.Fatal(ev)
	}
	bad := levelRule(2, -1)
	if err := e.SetRules([]Rule{bad}); err == nil {
		t.Fatal("invalid rules accepted")
	}
	if got := e.Rules()[0].Level.ThresholdUSvH; got != 1.0 {
		t.Fatalf("rules changed by a rejected set: %v", got)
	}
	lower := []Rule{levelRule(2, 0.5)}
	if err := e.SetRules(lower); err != nil {
		t.Fatal(err)
	}
	lower[0].Level.ThresholdUSvH = 99 // the engine keeps its own copy
	if ev := e.Evaluate(Input{Sample: doseSample(1, at(1), 0.7, 4.4, 51.2)}); len(ev) != 1 || ev[0].Type != EventRaised {
		t.Fatalf("new threshold not applied: %+v", ev)
	}
	// A disabled rule's open episode stays open but is no longer updated.
	off := levelRule(2, 0.5)
	off.Enabled = false
	if err := e.SetRules([]Rule{off}); err != nil {
		t.Fatal(err)
	}
	if ev := e.Evaluate(Input{Sample: doseSample(1, at(2), 0.1, 4.4, 51.2)}); ev != nil {
		t.Fatalf("disabled rule produced %+v", ev)
	}
	if n := len(e.OpenEpisodes()); n != 1 {
		t.Errorf("%d open, want the episode kept", n)
	}
}

// Many devices evaluated concurrently, with rule swaps and ticks racing
// them: every device must end with exactly its own single episode.
func TestConcurrentDevices(t *testing.T) {
	e := newEngine(t, DefaultRules()...)
	const devices, samples = 32, 400
	var wg sync.WaitGroup
	stop := make(chan struct{})
	go func() {
		for {
			select {
			case <-stop:
				return
			default:
				e.Tick(at(0)) // exercises locking; too early to find anyone silent
				if err := e.SetRules(DefaultRules()); err != nil {
					panic(err)
				}
			}
		}
	}()
	raised := make([]int, devices)
	for d := range devices {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range samples {
				counts := float64(3 + i%3) // mean 4 per 5 s
				if i >= 200 && i < 210 {
					counts = 120
				}
				s := countSample(int64(d+1), at(i), counts)
				for _, ev := range e.Evaluate(Input{Sample: s}) {
					if ev.Type == EventRaised {
						raised[d]++
					}
				}
			}
		}()
	}
	wg.Wait()
	close(stop)
	for d, n := range raised {
		// notice + OIL3 (120 counts/5 s = 4.3 µSv/h) + background, once each.
		if n != 3 {
			t.Errorf("device %d: %d raised, want 3", d+1, n)
		}
	}
	if n := len(e.OpenEpisodes()); n != 3*devices {
		t.Errorf("%d open episodes, want %d", n, 3*devices)
	}
}

func TestEvaluateIsDeterministic(t *testing.T) {
	run := func() []Event {
		e := newEngine(t, append(DefaultRules(), zoneRule(10, 0.3))...)
		var out []Event
		for _, x := range driveThroughZone(20) {
			x.Sample.Counts, x.Sample.CountInterval = math.Round(x.Sample.DoseRate*30), 5
			out = append(out, e.Evaluate(x)...)
		}
		return out
	}
	a, b := run(), run()
	if len(a) == 0 || !reflect.DeepEqual(eventsWithoutNaN(a), eventsWithoutNaN(b)) {
		t.Errorf("two runs differ (%d vs %d events)", len(a), len(b))
	}
}

// eventsWithoutNaN makes snapshots comparable with DeepEqual (NaN ≠ NaN).
func eventsWithoutNaN(events []Event) []Event {
	out := append([]Event(nil), events...)
	for i := range out {
		if !sample.Has(out[i].Episode.PeakDose) {
			out[i].Episode.PeakDose = -1
		}
	}
	return out
}

func TestLateFixDoesNotMoveTheLastKnownPosition(t *testing.T) {
	e := newEngine(t, levelRule(2, 1.0))
	e.Evaluate(Input{Sample: doseSample(1, at(10), 0.1, 4.5, 51.5)})
	e.Evaluate(Input{Sample: doseSample(1, at(5), 0.1, 4.1, 51.1)}) // late
	s := doseSample(1, at(11), 3, 0, 0)
	s.GPSValid = false
	ev := e.Evaluate(Input{Sample: s})
	if len(ev) != 1 || ev[0].Episode.PeakLon != 4.5 || ev[0].Episode.PeakLat != 51.5 {
		t.Fatalf("peak position should be the newest fix: %+v", ev)
	}
}
