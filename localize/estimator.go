package localize

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/radtrack/radtrack/store"
)

// EstimatorStore is what the background estimator reads and writes.
type EstimatorStore interface {
	IncidentStore
	ListSites(ctx context.Context) ([]store.Site, error)
	SaveIncidentSource(ctx context.Context, s store.IncidentSource) error
}

// EstimatorConfig tunes an Estimator; zero fields take the defaults.
type EstimatorConfig struct {
	// Every: an incident is fitted at most this often (5 s): a pass
	// brings a reading a second, and each fit reads every track around.
	Every time.Duration
	// Timeout bounds one fit, its store reads included (30 s).
	Timeout time.Duration
	// MaxIncidents bounds the incidents tracked at once (1 000); beyond
	// it, new incidents are not fitted in the background (the REST route
	// still fits them on demand).
	MaxIncidents int
	// Duty is the share of one core fitting may take (0.25): after a fit
	// that took d, the next waits d·(1/Duty − 1). An emergency has dozens
	// of incidents due at once, and ingest and the live feed come first.
	Duty    float64
	Options IncidentOptions // DefaultIncidentOptions when zero
	// Publish, if set, gets every stored estimate (the live frame).
	Publish func(ctx context.Context, inc store.Incident, estimate json.RawMessage)
	Log     *slog.Logger
	Now     func() time.Time // tests; time.Now
}

// Estimator keeps the source estimate of every live incident up to date:
// Note hands it incidents as their alarms progress (it never blocks), Run
// refits each at most once per Every, one fit at a time, stores the result
// and publishes it. Once an incident's reading window has closed (Margin
// after its last alarm) it is fitted once more, so the passes' departures
// are in its last estimate.
type Estimator struct {
	st   EstimatorStore
	cfg  EstimatorConfig
	wake chan struct{}

	mu   sync.Mutex
	jobs map[int64]*job
}

type job struct {
	inc     store.Incident
	due     time.Time // next fit; zero: none pending
	lastFit time.Time
}

// NewEstimator returns an estimator over st.
func NewEstimator(st EstimatorStore, cfg EstimatorConfig) *Estimator {
	if cfg.Every <= 0 {
		cfg.Every = 5 * time.Second
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 30 * time.Second
	}
	if cfg.MaxIncidents <= 0 {
		cfg.MaxIncidents = 1000
	}
	if cfg.Duty <= 0 || cfg.Duty > 1 {
		cfg.Duty = 0.25
	}
	if cfg.Options.Margin <= 0 && cfg.Options.RadiusM <= 0 {
		cfg.Options = DefaultIncidentOptions()
	}
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Estimator{st: st, cfg: cfg, wake: make(chan struct{}, 1), jobs: map[int64]*job{}}
}

// Note schedules a refit of inc (its latest state). Imported incidents and
// incidents without a position are not fitted.
func (e *Estimator) Note(inc store.Incident) {
	if inc.Imported || !inc.PeakGPSValid || inc.ID <= 0 {
		return
	}
	now := e.cfg.Now()
	e.mu.Lock()
	j, ok := e.jobs[inc.ID]
	if !ok {
		if len(e.jobs) >= e.cfg.MaxIncidents {
			e.mu.Unlock()
			e.cfg.Log.Warn("source estimator: too many incidents at once; this one is fitted on request only", "incident", inc.ID, "max", e.cfg.MaxIncidents)
			return
		}
		j = &job{}
		e.jobs[inc.ID] = j
	}
	j.inc = inc
	due := now
	if !j.lastFit.IsZero() {
		due = later(due, j.lastFit.Add(e.cfg.Every))
	}
	if j.due.IsZero() || due.Before(j.due) {
		j.due = due
	}
	e.mu.Unlock()
	select {
	case e.wake <- struct{}{}:
	default:
	}
}

// Run fits due incidents until ctx ends.
func (e *Estimator) Run(ctx context.Context) {
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		id, wait := e.next()
		if id != 0 {
			start := time.Now()
			e.fit(ctx, id)
			rest := time.Duration(float64(time.Since(start)) * (1/e.cfg.Duty - 1))
			select {
			case <-ctx.Done():
				return
			case <-time.After(rest):
			}
			continue
		}
		timer.Reset(wait)
		select {
		case <-ctx.Done():
			return
		case <-e.wake:
		case <-timer.C:
		}
		if !timer.Stop() {
			select {
			case <-timer.C:
			default:
			}
		}
	}
}

// next is the incident due first if it is due now, else how long until
// one is; it forgets incidents with nothing pending.
func (e *Estimator) next() (int64, time.Duration) {
	now := e.cfg.Now()
	e.mu.Lock()
	defer e.mu.Unlock()
	var (
		best    int64
		bestDue time.Time
	)
	for id, j := range e.jobs {
		if j.due.IsZero() {
			if now.Sub(j.lastFit) >= e.cfg.Every {
				delete(e.jobs, id)
			}
			continue
		}
		if best == 0 || j.due.Before(bestDue) {
			best, bestDue = id, j.due
		}
	}
	switch {
	case best == 0:
		return 0, time.Minute
	case bestDue.After(now):
		return 0, bestDue.Sub(now)
	}
	return best, 0
}

// fit refits one incident, stores and publishes the estimate.
func (e *Estimator) fit(ctx context.Context, id int64) {
	now := e.cfg.Now()
	e.mu.Lock()
	j := e.jobs[id]
	inc := j.inc
	j.lastFit, j.due = now, time.Time{}
	// The window closes Margin after the last alarm: one more fit then.
	if settle := inc.LastSeen.Add(e.cfg.Options.Margin); now.Before(settle) {
		j.due = later(settle, now.Add(e.cfg.Every))
	}
	e.mu.Unlock()

	ctx, cancel := context.WithTimeout(ctx, e.cfg.Timeout)
	defer cancel()
	raw, err := e.estimate(ctx, inc)
	switch {
	case errors.Is(err, ErrNoPosition), errors.Is(err, ErrNoReadings):
		e.cfg.Log.Debug("source estimator: nothing to fit", "incident", id, "err", err)
		return
	case err != nil:
		if ctx.Err() == nil || errors.Is(ctx.Err(), context.DeadlineExceeded) {
			e.cfg.Log.Warn("source estimator: fit failed", "incident", id, "err", err)
		}
		return
	}
	if e.cfg.Publish != nil {
		e.cfg.Publish(ctx, inc, raw)
	}
}

// estimate fits inc within its site's subtree and stores the estimate.
func (e *Estimator) estimate(ctx context.Context, inc store.Incident) (json.RawMessage, error) {
	opt := e.cfg.Options
	device, err := siteScope(ctx, e.st, inc)
	if err != nil {
		return nil, err
	}
	opt.Device = device
	src, err := ForIncident(ctx, e.st, inc, opt)
	if err != nil {
		return nil, err
	}
	raw, err := json.Marshal(src)
	if err != nil {
		return nil, fmt.Errorf("localize: render estimate of incident %d: %w", inc.ID, err)
	}
	if err := e.st.SaveIncidentSource(ctx, store.IncidentSource{IncidentID: inc.ID, FittedAt: e.cfg.Now(), Through: inc.LastSeen, Estimate: raw}); err != nil {
		return nil, fmt.Errorf("localize: store estimate of incident %d: %w", inc.ID, err)
	}
	return raw, nil
}

// siteScope is the devices an incident's fit may use: those of the
// subtree of its vehicles' site (an incident is one site's, as are the
// passes a viewer of that site is shown).
func siteScope(ctx context.Context, st EstimatorStore, inc store.Incident) (func(int64) bool, error) {
	devices, err := st.ListDevices(ctx)
	if err != nil {
		return nil, fmt.Errorf("localize: devices: %w", err)
	}
	sites, err := st.ListSites(ctx)
	if err != nil {
		return nil, fmt.Errorf("localize: sites: %w", err)
	}
	siteOf := make(map[int64]int64, len(devices))
	for _, d := range devices {
		siteOf[d.ID] = max(d.SiteID, store.RootSiteID) // none: the root's
	}
	dev := inc.PeakDeviceID
	if _, ok := siteOf[dev]; !ok && len(inc.Alarms) > 0 {
		dev = inc.Alarms[0].DeviceID
	}
	home, ok := siteOf[dev]
	if !ok {
		return nil, fmt.Errorf("localize: incident %d: device %d of its peak is unknown", inc.ID, dev)
	}
	within := store.NewSiteTree(sites).Subtree(home)
	return func(id int64) bool {
		s, ok := siteOf[id]
		if !ok {
			return false
		}
		_, in := within[s]
		return in
	}, nil
}

// Stored is a stored estimate of inc when it still stands — it was
// fitted for the incident's present last_seen (no alarm progressed since;
// the estimator refits once more when the window closes) — and every pass
// in it is of a device the reader may see (InScope).
func Stored(s store.IncidentSource, inc store.Incident, device func(int64) bool) (IncidentSource, bool) {
	if !s.Through.Equal(inc.LastSeen) {
		return IncidentSource{}, false
	}
	src, ok := InScope(s, device)
	return src, ok && src.IncidentID == inc.ID
}

// InScope decodes a stored estimate when every pass in it is of a device
// the reader may see (device nil: every device); a reader below the
// incident's site gets a fit of their own vehicles instead.
func InScope(s store.IncidentSource, device func(int64) bool) (IncidentSource, bool) {
	var src IncidentSource
	if err := json.Unmarshal(s.Estimate, &src); err != nil || src.IncidentID != s.IncidentID {
		return IncidentSource{}, false
	}
	if device != nil {
		for _, p := range src.Passes {
			if !device(p.DeviceID) {
				return IncidentSource{}, false
			}
		}
	}
	return src, true
}

func later(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}
