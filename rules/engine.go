package rules

import (
	"cmp"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/radtrack/radtrack/sample"
)

// TransitionType is a fence event from geo's per-device fence state.
type TransitionType string

const (
	Enter TransitionType = "enter"
	Exit  TransitionType = "exit"
	Dwell TransitionType = "dwell"
)

// Transition is one debounced fence event produced by a sample.
type Transition struct {
	Type      TransitionType
	FenceID   int64
	FenceKind string // FenceRestricted, FencePatrol, FenceMonitoring
	Time      time.Time
	Lon, Lat  float64
}

// Input is one sample with geo's verdict for it. The glue code translates
// the geo package's output into Inside and Transitions.
type Input struct {
	Sample      sample.Sample // DeviceID set, DoseRate filled where derivable
	Inside      []int64       // fences the device is (debounced) inside after this sample
	Transitions []Transition  // fence events produced by this sample
	// RuleApplies, when set, tells whether a rule of site SiteID (> 1)
	// applies to this sample's vehicle; root rules always apply.
	RuleApplies func(site int64) bool
}

// Engine evaluates rules against samples and keeps the per-device state
// they need: background estimators and the index of open episodes.
// Create it with NewEngine.
//
// Concurrency: Evaluate may run concurrently for different devices, but
// each device's samples must come in order from one goroutine at a time.
// Device state sits in sharded maps behind per-device mutexes, so the hot
// path takes no global lock; SetRules swaps the rule set atomically and
// takes effect on the next sample. Tick, Acknowledge, Resolve and the rest
// may be called from any goroutine.
//
// Ownership: the engine is the authority for open episodes of the devices
// it evaluates. Persist its events; at start-up hand the open episodes back
// with Restore so a restart raises no duplicates.
type Engine struct {
	rules    atomic.Pointer[ruleSet]
	shards   [deviceShards]deviceShard
	realarmM atomic.Uint64 // float64 bits of the re-alarm distance; 0 = default
}

const deviceShards = 64

type deviceShard struct {
	mu      sync.RWMutex
	devices map[streamKey]*deviceState
}

// streamKey separates a device's live samples from imported ones: each is
// its own stream with its own clock, background and episodes.
type streamKey struct {
	device   int64
	imported bool
}

type deviceState struct {
	mu sync.Mutex

	latest time.Time // newest sample time seen; older samples are late

	watched   bool      // silence rules apply (live streams only)
	lastHeard time.Time // receive time of the newest report

	lastLon, lastLat float64 // last GPS fix, 0/0 before the first

	open        []*Episode       // open episodes, in the order raised
	latched     []Key            // resolved while the condition held: no new episode until it ends
	backgrounds []ruleBackground // one estimator per background rule
	levelHist   *levelHistory    // recent readings for level and zone rules
	stays       []fenceStay      // fences the device is inside, for dwell rules

	spans   []span // imported streams: sample times evaluated (replay.go)
	curSpan int    // the span the previous sample went into; -1 none
}

func (d *deviceState) levels() *levelHistory {
	if d.levelHist == nil {
		d.levelHist = &levelHistory{}
	}
	return d.levelHist
}

type ruleBackground struct {
	ruleID int64
	est    backgroundEstimator
}

// ruleSet is an immutable, validated rule list with its enabled rules.
type ruleSet struct {
	all     []Rule
	enabled []*Rule
	byID    map[int64]*Rule
}

// NewEngine returns an engine running rules (see SetRules).
func NewEngine(rules []Rule) (*Engine, error) {
	e := &Engine{}
	for i := range e.shards {
		e.shards[i].devices = make(map[streamKey]*deviceState)
	}
	if err := e.SetRules(rules); err != nil {
		return nil, err
	}
	return e, nil
}

// SetRules validates rules and swaps them in for the next sample. Open
// episodes of removed or disabled rules stay open (a person resolves them)
// but are no longer updated.
func (e *Engine) SetRules(rules []Rule) error {
	if err := ValidateRules(rules); err != nil {
		return err
	}
	rs := &ruleSet{all: slices.Clone(rules), byID: make(map[int64]*Rule, len(rules))}
	for i := range rs.all {
		r := &rs.all[i]
		// Deep-copy the parameter block so later edits by the caller
		// cannot reach the running set.
		r.Level, r.Zone, r.Fence = clonePtr(r.Level), clonePtr(r.Zone), clonePtr(r.Fence)
		r.Background, r.Silence = clonePtr(r.Background), clonePtr(r.Silence)
		rs.byID[r.ID] = r
		if r.Enabled {
			rs.enabled = append(rs.enabled, r)
		}
	}
	e.rules.Store(rs)
	return nil
}

func clonePtr[T any](p *T) *T {
	if p == nil {
		return nil
	}
	c := *p
	return &c
}

// Rules returns a copy of the rule set in force.
func (e *Engine) Rules() []Rule {
	rs := e.rules.Load()
	out := slices.Clone(rs.all)
	for i := range out {
		r := &out[i]
		r.Level, r.Zone, r.Fence = clonePtr(r.Level), clonePtr(r.Zone), clonePtr(r.Fence)
		r.Background, r.Silence = clonePtr(r.Background), clonePtr(r.Silence)
	}
	return out
}

func (e *Engine) shard(k streamKey) *deviceShard {
	return &e.shards[uint64(k.device)%deviceShards]
}

// state returns the device stream's state, creating it on first use.
func (e *Engine) state(k streamKey) *deviceState {
	sh := e.shard(k)
	sh.mu.RLock()
	d := sh.devices[k]
	sh.mu.RUnlock()
	if d != nil {
		return d
	}
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if d = sh.devices[k]; d == nil {
		d = &deviceState{curSpan: -1}
		sh.devices[k] = d
	}
	return d
}

// existing returns the device stream's state or nil.
func (e *Engine) existing(k streamKey) *deviceState {
	sh := e.shard(k)
	sh.mu.RLock()
	defer sh.mu.RUnlock()
	return sh.devices[k]
}

// allStates returns every device stream's state, ordered by device id
// (live before imported) so that batch results are deterministic.
func (e *Engine) allStates() []keyedState {
	var out []keyedState
	for i := range e.shards {
		sh := &e.shards[i]
		sh.mu.RLock()
		for k, d := range sh.devices {
			out = append(out, keyedState{k, d})
		}
		sh.mu.RUnlock()
	}
	slices.SortFunc(out, func(a, b keyedState) int {
		if c := cmp.Compare(a.key.device, b.key.device); c != 0 {
			return c
		}
		return cmp.Compare(boolInt(a.key.imported), boolInt(b.key.imported))
	})
	return out
}

type keyedState struct {
	key   streamKey
	state *deviceState
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

func streamOf(k Key) streamKey { return streamKey{k.DeviceID, k.Imported} }

// Restore seeds the engine with the open episodes loaded from storage at
// start-up, so conditions that still hold continue those episodes instead
// of raising duplicates. Resolved episodes and repeated keys are reported
// in the error; every other episode is still restored (the first of a
// repeated key wins).
func (e *Engine) Restore(open []Episode) error {
	var errs []error
	for i := range open {
		ep := open[i]
		if ep.State == StateResolved {
			errs = append(errs, fmt.Errorf("rules: restore: episode %d (%+v) is resolved", ep.ID, ep.Key))
			continue
		}
		d := e.state(streamOf(ep.Key))
		d.mu.Lock()
		if d.find(ep.Key) != nil {
			errs = append(errs, fmt.Errorf("rules: restore: episode %d repeats open key %+v", ep.ID, ep.Key))
		} else {
			d.open = append(d.open, &ep)
			if ep.Imported {
				d.seedSpan(ep.FirstSeen, ep.LastSeen)
			}
		}
		d.mu.Unlock()
	}
	return errors.Join(errs...)
}

// AssignID records the persistence id of an open episode so that later
// events carry it. It returns ErrNoOpenAlarm if no episode has that key.
func (e *Engine) AssignID(key Key, id int64) error {
	return e.withOpen(key, func(d *deviceState, ep *Episode) error {
		ep.ID = id
		return nil
	})
}

// ReplaceID gives the open episode with key the id to if it still has the
// id from (a provisional id that now has its stored id).
func (e *Engine) ReplaceID(key Key, from, to int64) error {
	return e.withOpen(key, func(d *deviceState, ep *Episode) error {
		if ep.ID == from {
			ep.ID = to
		}
		return nil
	})
}

// Acknowledge acknowledges the open episode with key (see Episode.Acknowledge).
func (e *Engine) Acknowledge(key Key, user, comment string, at time.Time) (Event, error) {
	var ev Event
	err := e.withOpen(key, func(d *deviceState, ep *Episode) (err error) {
		ev, err = ep.Acknowledge(user, comment, at)
		return err
	})
	return ev, err
}

// Resolve resolves the open episode with key (see Episode.Resolve) and
// drops it from the open index. If its condition still holds, the key is
// latched: no new episode is raised for it until the condition has ended
// once, so closing an alarm beside a still-present source does not
// immediately raise the same alarm again.
func (e *Engine) Resolve(key Key, r Resolution) ([]Event, error) {
	var events []Event
	err := e.withOpen(key, func(d *deviceState, ep *Episode) (err error) {
		if events, err = ep.Resolve(r); err != nil {
			return err
		}
		d.remove(ep)
		if ep.ConditionActive {
			d.latched = append(d.latched, key)
		}
		return nil
	})
	return events, err
}

func (e *Engine) withOpen(key Key, f func(*deviceState, *Episode) error) error {
	d := e.existing(streamOf(key))
	if d == nil {
		return ErrNoOpenAlarm
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	ep := d.find(key)
	if ep == nil {
		return ErrNoOpenAlarm
	}
	return f(d, ep)
}

// HasOpen reports whether a device's live stream has an open episode.
func (e *Engine) HasOpen(deviceID int64) bool {
	d := e.existing(streamKey{device: deviceID})
	if d == nil {
		return false
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	return len(d.open) > 0
}

// HasOpenExcept reports whether a device's live stream has an open
// episode of another kind than except (e.g. anything but device health).
func (e *Engine) HasOpenExcept(deviceID int64, except Kind) bool {
	d := e.existing(streamKey{device: deviceID})
	if d == nil {
		return false
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	return slices.ContainsFunc(d.open, func(ep *Episode) bool { return ep.Kind != except })
}

// OpenEpisodes returns snapshots of every open episode, by device.
func (e *Engine) OpenEpisodes() []Episode {
	var out []Episode
	for _, ks := range e.allStates() {
		ks.state.mu.Lock()
		for _, ep := range ks.state.open {
			out = append(out, *ep)
		}
		ks.state.mu.Unlock()
	}
	return out
}

func (d *deviceState) find(k Key) *Episode {
	for _, ep := range d.open {
		if ep.Key == k {
			return ep
		}
	}
	return nil
}

func (d *deviceState) remove(ep *Episode) {
	d.open = slices.DeleteFunc(d.open, func(x *Episode) bool { return x == ep })
}

func (d *deviceState) isLatched(k Key) bool { return slices.Contains(d.latched, k) }

func (d *deviceState) unlatch(k Key) {
	if len(d.latched) > 0 {
		d.latched = slices.DeleteFunc(d.latched, func(x Key) bool { return x == k })
	}
}

func (d *deviceState) background(ruleID int64) *backgroundEstimator {
	for i := range d.backgrounds {
		if d.backgrounds[i].ruleID == ruleID {
			return &d.backgrounds[i].est
		}
	}
	d.backgrounds = append(d.backgrounds, ruleBackground{ruleID: ruleID})
	return &d.backgrounds[len(d.backgrounds)-1].est
}
