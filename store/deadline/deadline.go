// Package deadline gives every call into a store its own deadline, so a
// database that accepts connections but never answers (a black-holed
// network, a lock pile-up, a frozen disk) ends each wait in bounded time
// with an error the store calls Transient — and the node then behaves as
// in an outage: samples to the spool, alarms to the journal and to the
// viewers, requests answered. A caller's earlier deadline still wins.
//
// Three budgets, by what waits on the call:
//   - Hot: what stands between a sample and its alarm on a viewer's map,
//     or a request and its answer: credential and session look-ups, alarm
//     raise, update and event. Short (1 s), because an alarm must reach
//     viewers within 2 s of its sample even while the database hangs; a
//     slow but healthy database only sends the alarm through the journal.
//   - Write: a group commit of samples (5 s); on timeout the batch is
//     spooled, so the vehicle is still answered.
//   - Query: everything else — reads for people, edits, heatmaps (30 s).
//
// A deadline that expires on a Hot or Write call (or the driver's connect
// timeout on any call) means the database does not answer: from then on every call fails at once with ErrUnresponsive
// (Transient: the spool and the journal take over at full speed, people get
// 503 instead of waiting) while a probe pings the database every
// ProbeEvery; the first answer ends it. A Query deadline does not trip it:
// a heavy report may be slow on a healthy database.
package deadline

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/radtrack/radtrack/rules"
	"github.com/radtrack/radtrack/sample"
	"github.com/radtrack/radtrack/store"
)

// Timeouts are the budgets of the three kinds of call; zero takes the
// default.
type Timeouts struct {
	Hot, Write, Query time.Duration
	// ProbeEvery is how often an unresponsive database is pinged (0:
	// 250 ms).
	ProbeEvery time.Duration
}

// Defaults of Timeouts.
const (
	DefaultHot   = time.Second
	DefaultWrite = 5 * time.Second
	DefaultQuery = 30 * time.Second
)

func (t Timeouts) withDefaults() Timeouts {
	if t.Hot <= 0 {
		t.Hot = DefaultHot
	}
	if t.Write <= 0 {
		t.Write = DefaultWrite
	}
	if t.Query <= 0 {
		t.Query = DefaultQuery
	}
	if t.ProbeEvery <= 0 {
		t.ProbeEvery = 250 * time.Millisecond
	}
	return t
}

// ErrUnresponsive is returned, at once, while the database is considered
// unresponsive (a Hot or Write call ran out of time and no probe has been
// answered since).
var ErrUnresponsive = errors.New("database not answering (a call ran out of time): failing fast until it answers a probe")

type kind int

const (
	kindHot kind = iota
	kindWrite
	kindQuery
)

// Store is a store.Store whose every call has a deadline.
type Store struct {
	s   store.Store
	t   Timeouts
	log *slog.Logger

	unresponsive atomic.Bool
	trips        atomic.Int64
	closed       chan struct{}
	closeOnce    sync.Once
	probing      sync.WaitGroup
}

var _ store.Store = (*Store)(nil)

// classifying is a Store over a store that classifies its errors.
type classifying struct {
	*Store
	c store.FaultClassifier
}

func (c classifying) Classify(err error) store.Fault { return c.c.Classify(err) }

// Wrap returns s with a deadline on every call. It keeps s's error
// classification (store.FaultClassifier) when s has one; log (nil:
// discarded) hears when the database stops and starts answering.
func Wrap(s store.Store, t Timeouts, log *slog.Logger) store.Store {
	d := New(s, t, log)
	if c, ok := s.(store.FaultClassifier); ok {
		return classifying{Store: d, c: c}
	}
	return d
}

// New is Wrap without the classification.
func New(s store.Store, t Timeouts, log *slog.Logger) *Store {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Store{s: s, t: t.withDefaults(), log: log, closed: make(chan struct{})}
}

// Unwrap returns the wrapped store.
func (x *Store) Unwrap() store.Store { return x.s }

// Unresponsive reports whether calls fail fast now.
func (x *Store) Unresponsive() bool { return x.unresponsive.Load() }

// Trips counts the times the database was found unresponsive.
func (x *Store) Trips() int64 { return x.trips.Load() }

// begin starts a call of kind k: its context with the budget, and end,
// which notes a deadline that ran out. While the database is unresponsive
// it fails at once.
func (x *Store) begin(ctx context.Context, k kind) (context.Context, func(*error), error) {
	if x.unresponsive.Load() {
		return ctx, nil, ErrUnresponsive
	}
	budget := x.t.Query
	switch k {
	case kindHot:
		budget = x.t.Hot
	case kindWrite:
		budget = x.t.Write
	}
	parent := ctx
	ctx, cancel := context.WithTimeout(ctx, budget)
	return ctx, func(err *error) {
		// The database did not answer in time: our own Hot or Write
		// deadline ran out, or a timeout of the driver's own (connecting
		// takes at most 5 s) — not the caller's deadline, not a cancel.
		own := errors.Is(ctx.Err(), context.DeadlineExceeded)
		noAnswer := *err != nil && parent.Err() == nil &&
			((own && k != kindQuery) || (!own && errors.Is(*err, context.DeadlineExceeded)))
		cancel()
		if noAnswer {
			x.trip(*err)
		}
	}, nil
}

// MarkUnresponsive makes calls fail at once until the database answers a
// probe, as if one had run out of time: for a node that found it
// unresponsive otherwise (at start).
func (x *Store) MarkUnresponsive(cause error) { x.trip(cause) }

// trip marks the database unresponsive and starts the probe.
func (x *Store) trip(cause error) {
	if !x.unresponsive.CompareAndSwap(false, true) {
		return
	}
	x.trips.Add(1)
	x.log.Warn("database not answering in time: failing fast (spool, alarm journal) until it answers a probe",
		"probe_every", x.t.ProbeEvery, "err", cause)
	x.probing.Go(x.probe)
}

func (x *Store) probe() {
	t := time.NewTicker(x.t.ProbeEvery)
	defer t.Stop()
	since := time.Now()
	for {
		select {
		case <-x.closed:
			return
		case <-t.C:
		}
		ctx, cancel := context.WithTimeout(context.Background(), x.t.Hot)
		err := x.s.Ping(ctx)
		cancel()
		if err == nil {
			x.unresponsive.Store(false)
			x.log.Warn("database answers again: calls go through", "after", time.Since(since).Round(time.Millisecond))
			return
		}
	}
}

// Ping is Hot: readiness probes must answer while the database hangs.
func (x *Store) Ping(ctx context.Context) (err error) {
	var end func(*error)
	if ctx, end, err = x.begin(ctx, kindHot); err != nil {
		return err
	}
	defer end(&err)
	return x.s.Ping(ctx)
}

// Close stops the probe and closes the wrapped store.
func (x *Store) Close() {
	x.closeOnce.Do(func() { close(x.closed) })
	x.probing.Wait()
	x.s.Close()
}

// The calls, each under its budget.

func (x *Store) APITokenByHash(ctx context.Context, tokenHash []byte) (_ store.APIToken, _ store.User, err error) {
	var end func(*error)
	if ctx, end, err = x.begin(ctx, kindHot); err != nil {
		return
	}
	defer end(&err)
	return x.s.APITokenByHash(ctx, tokenHash)
}

func (x *Store) APITokenByID(ctx context.Context, id int64) (_ store.APIToken, err error) {
	var end func(*error)
	if ctx, end, err = x.begin(ctx, kindQuery); err != nil {
		return
	}
	defer end(&err)
	return x.s.APITokenByID(ctx, id)
}

func (x *Store) APITokenUser(ctx context.Context, tokenHash []byte) (_ store.User, err error) {
	var end func(*error)
	if ctx, end, err = x.begin(ctx, kindHot); err != nil {
		return
	}
	defer end(&err)
	return x.s.APITokenUser(ctx, tokenHash)
}

func (x *Store) Alarm(ctx context.Context, id int64) (_ rules.Episode, err error) {
	var end func(*error)
	if ctx, end, err = x.begin(ctx, kindQuery); err != nil {
		return
	}
	defer end(&err)
	return x.s.Alarm(ctx, id)
}

func (x *Store) AlarmEvents(ctx context.Context, alarmID int64) (_ []store.AlarmEvent, err error) {
	var end func(*error)
	if ctx, end, err = x.begin(ctx, kindQuery); err != nil {
		return
	}
	defer end(&err)
	return x.s.AlarmEvents(ctx, alarmID)
}

func (x *Store) AppendAlarmEvent(ctx context.Context, alarmID int64, ev rules.Event) (err error) {
	var end func(*error)
	if ctx, end, err = x.begin(ctx, kindHot); err != nil {
		return
	}
	defer end(&err)
	return x.s.AppendAlarmEvent(ctx, alarmID, ev)
}

func (x *Store) AppendAudit(ctx context.Context, e store.AuditEntry) (err error) {
	var end func(*error)
	if ctx, end, err = x.begin(ctx, kindQuery); err != nil {
		return
	}
	defer end(&err)
	return x.s.AppendAudit(ctx, e)
}

func (x *Store) ConfigVersion(ctx context.Context) (_ int64, err error) {
	var end func(*error)
	if ctx, end, err = x.begin(ctx, kindQuery); err != nil {
		return
	}
	defer end(&err)
	return x.s.ConfigVersion(ctx)
}

func (x *Store) CountUsers(ctx context.Context) (_ int, err error) {
	var end func(*error)
	if ctx, end, err = x.begin(ctx, kindQuery); err != nil {
		return
	}
	defer end(&err)
	return x.s.CountUsers(ctx)
}

func (x *Store) CreateAPIToken(ctx context.Context, userID int64, name string, tokenHash []byte) (_ int64, err error) {
	var end func(*error)
	if ctx, end, err = x.begin(ctx, kindQuery); err != nil {
		return
	}
	defer end(&err)
	return x.s.CreateAPIToken(ctx, userID, name, tokenHash)
}

func (x *Store) CreateDevice(ctx context.Context, d store.Device, tokenHash []byte) (_ store.Device, err error) {
	var end func(*error)
	if ctx, end, err = x.begin(ctx, kindQuery); err != nil {
		return
	}
	defer end(&err)
	return x.s.CreateDevice(ctx, d, tokenHash)
}

func (x *Store) CreateFence(ctx context.Context, f store.Fence) (_ store.Fence, err error) {
	var end func(*error)
	if ctx, end, err = x.begin(ctx, kindQuery); err != nil {
		return
	}
	defer end(&err)
	return x.s.CreateFence(ctx, f)
}

func (x *Store) CreateOverlay(ctx context.Context, o store.Overlay) (_ store.Overlay, err error) {
	var end func(*error)
	if ctx, end, err = x.begin(ctx, kindQuery); err != nil {
		return
	}
	defer end(&err)
	return x.s.CreateOverlay(ctx, o)
}

func (x *Store) CreateRule(ctx context.Context, r rules.Rule) (_ rules.Rule, err error) {
	var end func(*error)
	if ctx, end, err = x.begin(ctx, kindQuery); err != nil {
		return
	}
	defer end(&err)
	return x.s.CreateRule(ctx, r)
}

func (x *Store) CreateSession(ctx context.Context, tokenHash []byte, userID int64, expires time.Time) (err error) {
	var end func(*error)
	if ctx, end, err = x.begin(ctx, kindQuery); err != nil {
		return
	}
	defer end(&err)
	return x.s.CreateSession(ctx, tokenHash, userID, expires)
}

func (x *Store) CreateUser(ctx context.Context, u store.User) (_ store.User, err error) {
	var end func(*error)
	if ctx, end, err = x.begin(ctx, kindQuery); err != nil {
		return
	}
	defer end(&err)
	return x.s.CreateUser(ctx, u)
}

func (x *Store) DeleteFence(ctx context.Context, id int64) (err error) {
	var end func(*error)
	if ctx, end, err = x.begin(ctx, kindQuery); err != nil {
		return
	}
	defer end(&err)
	return x.s.DeleteFence(ctx, id)
}

func (x *Store) DeleteOverlay(ctx context.Context, id int64) (err error) {
	var end func(*error)
	if ctx, end, err = x.begin(ctx, kindQuery); err != nil {
		return
	}
	defer end(&err)
	return x.s.DeleteOverlay(ctx, id)
}

func (x *Store) DeleteRule(ctx context.Context, id int64) (err error) {
	var end func(*error)
	if ctx, end, err = x.begin(ctx, kindQuery); err != nil {
		return
	}
	defer end(&err)
	return x.s.DeleteRule(ctx, id)
}

func (x *Store) DeleteSession(ctx context.Context, tokenHash []byte) (err error) {
	var end func(*error)
	if ctx, end, err = x.begin(ctx, kindQuery); err != nil {
		return
	}
	defer end(&err)
	return x.s.DeleteSession(ctx, tokenHash)
}

func (x *Store) DeviceByID(ctx context.Context, id int64) (_ store.Device, err error) {
	var end func(*error)
	if ctx, end, err = x.begin(ctx, kindHot); err != nil {
		return
	}
	defer end(&err)
	return x.s.DeviceByID(ctx, id)
}

func (x *Store) DeviceByTokenHash(ctx context.Context, tokenHash []byte) (_ store.Device, err error) {
	var end func(*error)
	if ctx, end, err = x.begin(ctx, kindHot); err != nil {
		return
	}
	defer end(&err)
	return x.s.DeviceByTokenHash(ctx, tokenHash)
}

func (x *Store) DeviceByUID(ctx context.Context, uid string) (_ store.Device, err error) {
	var end func(*error)
	if ctx, end, err = x.begin(ctx, kindHot); err != nil {
		return
	}
	defer end(&err)
	return x.s.DeviceByUID(ctx, uid)
}

func (x *Store) DoseMinutes(ctx context.Context, deviceID int64, from, to time.Time) (_ []store.DoseMinute, err error) {
	var end func(*error)
	if ctx, end, err = x.begin(ctx, kindQuery); err != nil {
		return
	}
	defer end(&err)
	return x.s.DoseMinutes(ctx, deviceID, from, to)
}

func (x *Store) Fence(ctx context.Context, id int64) (_ store.Fence, err error) {
	var end func(*error)
	if ctx, end, err = x.begin(ctx, kindQuery); err != nil {
		return
	}
	defer end(&err)
	return x.s.Fence(ctx, id)
}

func (x *Store) Heatmap(ctx context.Context, q store.HeatmapQuery) (_ []store.HeatCell, err error) {
	var end func(*error)
	if ctx, end, err = x.begin(ctx, kindQuery); err != nil {
		return
	}
	defer end(&err)
	return x.s.Heatmap(ctx, q)
}

func (x *Store) IssueAPIToken(ctx context.Context, t store.APIToken) (_ store.APIToken, err error) {
	var end func(*error)
	if ctx, end, err = x.begin(ctx, kindQuery); err != nil {
		return
	}
	defer end(&err)
	return x.s.IssueAPIToken(ctx, t)
}

func (x *Store) ListAPITokens(ctx context.Context, f store.APITokenFilter) (_ []store.APIToken, err error) {
	var end func(*error)
	if ctx, end, err = x.begin(ctx, kindQuery); err != nil {
		return
	}
	defer end(&err)
	return x.s.ListAPITokens(ctx, f)
}

func (x *Store) ListAlarms(ctx context.Context, f store.AlarmFilter) (_ []rules.Episode, err error) {
	var end func(*error)
	if ctx, end, err = x.begin(ctx, kindQuery); err != nil {
		return
	}
	defer end(&err)
	return x.s.ListAlarms(ctx, f)
}

func (x *Store) ListAudit(ctx context.Context, limit int) (_ []store.AuditEntry, err error) {
	var end func(*error)
	if ctx, end, err = x.begin(ctx, kindQuery); err != nil {
		return
	}
	defer end(&err)
	return x.s.ListAudit(ctx, limit)
}

func (x *Store) ListDevices(ctx context.Context) (_ []store.Device, err error) {
	var end func(*error)
	if ctx, end, err = x.begin(ctx, kindQuery); err != nil {
		return
	}
	defer end(&err)
	return x.s.ListDevices(ctx)
}

func (x *Store) ListFences(ctx context.Context) (_ []store.Fence, err error) {
	var end func(*error)
	if ctx, end, err = x.begin(ctx, kindQuery); err != nil {
		return
	}
	defer end(&err)
	return x.s.ListFences(ctx)
}

func (x *Store) ListOverlays(ctx context.Context) (_ []store.Overlay, err error) {
	var end func(*error)
	if ctx, end, err = x.begin(ctx, kindQuery); err != nil {
		return
	}
	defer end(&err)
	return x.s.ListOverlays(ctx)
}

func (x *Store) ListRules(ctx context.Context) (_ []rules.Rule, err error) {
	var end func(*error)
	if ctx, end, err = x.begin(ctx, kindQuery); err != nil {
		return
	}
	defer end(&err)
	return x.s.ListRules(ctx)
}

func (x *Store) ListUsers(ctx context.Context) (_ []store.User, err error) {
	var end func(*error)
	if ctx, end, err = x.begin(ctx, kindQuery); err != nil {
		return
	}
	defer end(&err)
	return x.s.ListUsers(ctx)
}

func (x *Store) RaiseAlarm(ctx context.Context, ep rules.Episode, ev rules.Event) (id int64, created bool, err error) {
	var end func(*error)
	if ctx, end, err = x.begin(ctx, kindHot); err != nil {
		return
	}
	defer end(&err)
	return x.s.RaiseAlarm(ctx, ep, ev)
}

func (x *Store) RevokeAPIToken(ctx context.Context, id int64, at time.Time) (_ store.APIToken, err error) {
	var end func(*error)
	if ctx, end, err = x.begin(ctx, kindQuery); err != nil {
		return
	}
	defer end(&err)
	return x.s.RevokeAPIToken(ctx, id, at)
}

func (x *Store) RevokeDevice(ctx context.Context, id int64, at time.Time) (err error) {
	var end func(*error)
	if ctx, end, err = x.begin(ctx, kindQuery); err != nil {
		return
	}
	defer end(&err)
	return x.s.RevokeDevice(ctx, id, at)
}

func (x *Store) SeedRules(ctx context.Context, defaults []rules.Rule) (seeded bool, err error) {
	var end func(*error)
	if ctx, end, err = x.begin(ctx, kindQuery); err != nil {
		return
	}
	defer end(&err)
	return x.s.SeedRules(ctx, defaults)
}

func (x *Store) SessionUser(ctx context.Context, tokenHash []byte, now time.Time) (_ store.User, err error) {
	var end func(*error)
	if ctx, end, err = x.begin(ctx, kindHot); err != nil {
		return
	}
	defer end(&err)
	return x.s.SessionUser(ctx, tokenHash, now)
}

func (x *Store) SetDeviceToken(ctx context.Context, id int64, tokenHash []byte) (err error) {
	var end func(*error)
	if ctx, end, err = x.begin(ctx, kindQuery); err != nil {
		return
	}
	defer end(&err)
	return x.s.SetDeviceToken(ctx, id, tokenHash)
}

func (x *Store) TouchAPIToken(ctx context.Context, id int64, at time.Time) (err error) {
	var end func(*error)
	if ctx, end, err = x.begin(ctx, kindHot); err != nil {
		return
	}
	defer end(&err)
	return x.s.TouchAPIToken(ctx, id, at)
}

func (x *Store) Track(ctx context.Context, q store.TrackQuery) (_ []sample.Sample, err error) {
	var end func(*error)
	if ctx, end, err = x.begin(ctx, kindQuery); err != nil {
		return
	}
	defer end(&err)
	return x.s.Track(ctx, q)
}

func (x *Store) TransitionAlarm(ctx context.Context, ep rules.Episode, from rules.State, events []rules.Event) (err error) {
	var end func(*error)
	if ctx, end, err = x.begin(ctx, kindQuery); err != nil {
		return
	}
	defer end(&err)
	return x.s.TransitionAlarm(ctx, ep, from, events)
}

func (x *Store) UpdateAlarm(ctx context.Context, ep rules.Episode, addSamples int) (err error) {
	var end func(*error)
	if ctx, end, err = x.begin(ctx, kindHot); err != nil {
		return
	}
	defer end(&err)
	return x.s.UpdateAlarm(ctx, ep, addSamples)
}

func (x *Store) UpdateFence(ctx context.Context, f store.Fence) (_ store.Fence, err error) {
	var end func(*error)
	if ctx, end, err = x.begin(ctx, kindQuery); err != nil {
		return
	}
	defer end(&err)
	return x.s.UpdateFence(ctx, f)
}

func (x *Store) UpdateRule(ctx context.Context, r rules.Rule) (_ rules.Rule, err error) {
	var end func(*error)
	if ctx, end, err = x.begin(ctx, kindQuery); err != nil {
		return
	}
	defer end(&err)
	return x.s.UpdateRule(ctx, r)
}

func (x *Store) UpdateUser(ctx context.Context, id int64, up store.UserUpdate) (_ store.User, err error) {
	var end func(*error)
	if ctx, end, err = x.begin(ctx, kindQuery); err != nil {
		return
	}
	defer end(&err)
	return x.s.UpdateUser(ctx, id, up)
}

func (x *Store) UserByID(ctx context.Context, id int64) (_ store.User, err error) {
	var end func(*error)
	if ctx, end, err = x.begin(ctx, kindHot); err != nil {
		return
	}
	defer end(&err)
	return x.s.UserByID(ctx, id)
}

func (x *Store) UserByUsername(ctx context.Context, username string) (_ store.User, err error) {
	var end func(*error)
	if ctx, end, err = x.begin(ctx, kindQuery); err != nil {
		return
	}
	defer end(&err)
	return x.s.UserByUsername(ctx, username)
}

func (x *Store) WriteSamples(ctx context.Context, samples []sample.Sample) (err error) {
	var end func(*error)
	if ctx, end, err = x.begin(ctx, kindWrite); err != nil {
		return
	}
	defer end(&err)
	return x.s.WriteSamples(ctx, samples)
}
