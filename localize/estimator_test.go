package localize

import (
	"context"
	"encoding/json"
	"math"
	"sync"
	"testing"
	"time"

	"github.com/radtrack/radtrack/sample"
	"github.com/radtrack/radtrack/store"
	"github.com/radtrack/radtrack/store/sqlitestore"
)

// estimatorFixture is an embedded store with one device's pass by a
// source 15 m off a straight road, and an incident at the pass's peak.
func estimatorFixture(t *testing.T) (*sqlitestore.Store, store.Incident) {
	t.Helper()
	ctx := context.Background()
	st, err := sqlitestore.Open(ctx, sqlitestore.Config{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(st.Close)
	dev, err := st.CreateDevice(ctx, store.Device{UID: "van", Name: "van"}, []byte("hash1"))
	if err != nil {
		t.Fatal(err)
	}
	fr := NewFrame(51.95, 4.05)
	t0 := time.Now().Add(-time.Minute).Truncate(time.Second).UTC()
	var ss []sample.Sample
	for i := range 41 {
		x := float64(i-20) * 10
		s := sample.New()
		s.DeviceID, s.Time, s.GPSValid, s.RadValid = dev.ID, t0.Add(time.Duration(i)*time.Second), true, true
		s.Lat, s.Lon = fr.ToLatLon(x, 0)
		s.CountInterval = 1
		s.Counts = math.Round(3 + SourceCounts(Reading{X0: x - 10, X1: x, Live: 1}, 0, 15, 5e4, Config{}))
		ss = append(ss, s)
	}
	if err := st.WriteSamples(ctx, ss); err != nil {
		t.Fatal(err)
	}
	inc := store.Incident{State: "raised", Severity: "alarm", FirstSeen: t0.Add(15 * time.Second), LastSeen: t0.Add(25 * time.Second),
		PeakTime: t0.Add(20 * time.Second), PeakLat: 51.95, PeakLon: 4.05, PeakGPSValid: true, PeakDeviceID: dev.ID}
	if inc.ID, err = st.SaveIncident(ctx, inc); err != nil {
		t.Fatal(err)
	}
	return st, inc
}

// Notes in quick succession make one fit, a note after that waits for
// Every, the estimate is stored and published, and once the window has
// closed the incident is fitted once more and then forgotten.
func TestEstimatorRefitsAtMostOncePerInterval(t *testing.T) {
	db, inc := estimatorFixture(t)
	st := &fitStarts{Store: db}
	var (
		mu    sync.Mutex
		fits  []time.Time
		last  json.RawMessage
		every = 300 * time.Millisecond
	)
	opt := DefaultIncidentOptions()
	opt.Margin = time.Second // the window closes a second after the last alarm
	inc.LastSeen = time.Now().Add(-opt.Margin + 1200*time.Millisecond)
	est := NewEstimator(st, EstimatorConfig{Every: every, Options: opt, Publish: func(_ context.Context, got store.Incident, raw json.RawMessage) {
		mu.Lock()
		defer mu.Unlock()
		if got.ID != inc.ID {
			t.Errorf("published incident %d, want %d", got.ID, inc.ID)
		}
		fits, last = append(fits, time.Now()), raw
	}})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { est.Run(ctx); close(done) }()
	defer func() { cancel(); <-done }()

	start := time.Now()
	for range 5 {
		est.Note(inc)
		time.Sleep(10 * time.Millisecond)
	}
	count := func() int { mu.Lock(); defer mu.Unlock(); return len(fits) }
	for count() < 1 && time.Since(start) < 5*time.Second {
		time.Sleep(5 * time.Millisecond)
	}
	est.Note(inc) // more progress: still one fit an interval after the first
	for count() < 3 && time.Since(start) < 5*time.Second {
		time.Sleep(5 * time.Millisecond)
	}
	mu.Lock()
	got, raw := append([]time.Time(nil), fits...), last
	mu.Unlock()
	if len(got) != 3 {
		t.Fatalf("%d fits, want 3 (the first note, the six others together, the window closed)", len(got))
	}
	st.mu.Lock()
	starts := append([]time.Time(nil), st.starts...)
	st.mu.Unlock()
	if len(starts) != 3 {
		t.Fatalf("%d fits started, want 3", len(starts))
	}
	for i := 1; i < len(starts); i++ {
		if gap := starts[i].Sub(starts[i-1]); gap < every-20*time.Millisecond {
			t.Errorf("fits %d and %d started %s apart, want at least %s", i-1, i, gap, every)
		}
	}
	stored, err := st.IncidentSource(context.Background(), inc.ID)
	if err != nil {
		t.Fatal(err)
	}
	if string(stored.Estimate) != string(raw) || !stored.Through.Equal(inc.LastSeen.UTC().Truncate(time.Microsecond)) {
		t.Errorf("stored %s through %s; published %s, incident last seen %s", stored.Estimate, stored.Through, raw, inc.LastSeen)
	}
	var src IncidentSource
	if err := json.Unmarshal(raw, &src); err != nil {
		t.Fatal(err)
	}
	fr := NewFrame(inc.PeakLat, inc.PeakLon)
	x, y := fr.ToXY(src.Lat, src.Lon)
	if math.Hypot(x, math.Abs(y)-15) > 3 {
		t.Errorf("estimate at (%.1f, %.1f) m, want (0, ±15)", x, y)
	}
	time.Sleep(2 * every)
	if n := count(); n != 3 {
		t.Errorf("%d fits after the window closed, want no more than 3", n)
	}
	est.next() // forgets what has nothing pending
	est.mu.Lock()
	left := len(est.jobs)
	est.mu.Unlock()
	if left != 0 {
		t.Errorf("%d incidents still tracked", left)
	}
}

// The estimator's fit uses only the incident's site subtree: a vehicle of
// another site that passed the same source adds no pass.
func TestEstimatorFitsWithinTheIncidentSite(t *testing.T) {
	st, inc := estimatorFixture(t)
	ctx := context.Background()
	south, err := st.CreateSite(ctx, store.Site{ParentID: ptr(store.RootSiteID), Name: "south"})
	if err != nil {
		t.Fatal(err)
	}
	north, err := st.CreateSite(ctx, store.Site{ParentID: ptr(store.RootSiteID), Name: "north"})
	if err != nil {
		t.Fatal(err)
	}
	if err := st.SetDeviceSite(ctx, inc.PeakDeviceID, north.ID); err != nil {
		t.Fatal(err)
	}
	other, err := st.CreateDevice(ctx, store.Device{UID: "other", Name: "other"}, []byte("hash2"))
	if err != nil {
		t.Fatal(err)
	}
	if err := st.SetDeviceSite(ctx, other.ID, south.ID); err != nil {
		t.Fatal(err)
	}
	track, err := st.Track(ctx, store.TrackQuery{DeviceID: inc.PeakDeviceID, From: inc.FirstSeen.Add(-time.Hour), To: time.Now()})
	if err != nil {
		t.Fatal(err)
	}
	for i := range track {
		track[i].DeviceID = other.ID
	}
	if err := st.WriteSamples(ctx, track); err != nil {
		t.Fatal(err)
	}
	est := NewEstimator(st, EstimatorConfig{})
	raw, err := est.estimate(ctx, inc)
	if err != nil {
		t.Fatal(err)
	}
	var src IncidentSource
	if err := json.Unmarshal(raw, &src); err != nil {
		t.Fatal(err)
	}
	if src.Vehicles != 1 || len(src.Passes) != 1 || src.Passes[0].DeviceID != inc.PeakDeviceID {
		t.Fatalf("passes %+v, want only the north vehicle's", src.Passes)
	}
	// Without the site split, both vehicles' passes are fitted.
	if err := st.SetDeviceSite(ctx, other.ID, north.ID); err != nil {
		t.Fatal(err)
	}
	if raw, err = est.estimate(ctx, inc); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(raw, &src); err != nil || src.Vehicles != 2 {
		t.Fatalf("vehicles %d (%v), want 2 within one site", src.Vehicles, err)
	}
}

// fitStarts is the store, noting when each fit starts reading (a fit
// reads the site tree once, first thing).
type fitStarts struct {
	*sqlitestore.Store
	mu     sync.Mutex
	starts []time.Time
}

func (s *fitStarts) ListSites(ctx context.Context) ([]store.Site, error) {
	s.mu.Lock()
	s.starts = append(s.starts, time.Now())
	s.mu.Unlock()
	return s.Store.ListSites(ctx)
}

func ptr[T any](v T) *T { return &v }

// Fitting takes at most Duty of one core: after a fit that took d, the
// next starts no sooner than d·(1/Duty − 1) after it ended, however soon it
// is due.
func TestEstimatorYieldsBetweenFits(t *testing.T) {
	db, inc := estimatorFixture(t)
	st := &fitStarts{Store: db}
	ended := make(chan time.Time, 4)
	est := NewEstimator(st, EstimatorConfig{Every: time.Millisecond, Duty: 0.2,
		Publish: func(context.Context, store.Incident, json.RawMessage) { ended <- time.Now() }})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { est.Run(ctx); close(done) }()
	defer func() { cancel(); <-done }()
	est.Note(inc)
	var end0 time.Time
	select {
	case end0 = <-ended:
	case <-time.After(10 * time.Second):
		t.Fatal("no fit")
	}
	est.Note(inc) // due at once
	select {
	case <-ended:
	case <-time.After(10 * time.Second):
		t.Fatal("no second fit")
	}
	st.mu.Lock()
	starts := append([]time.Time(nil), st.starts...)
	st.mu.Unlock()
	if len(starts) != 2 {
		t.Fatalf("%d fits started, want 2", len(starts))
	}
	took := end0.Sub(starts[0])
	if wait := starts[1].Sub(end0); wait < 4*took*9/10 {
		t.Errorf("the second fit started %s after the first, which took %s, ended; want at least 4× that (duty 0.2)", wait, took)
	}
}
