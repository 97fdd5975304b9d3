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
package deadline

import (
	"context"
	"time"

	"github.com/radtrack/radtrack/rules"
	"github.com/radtrack/radtrack/sample"
	"github.com/radtrack/radtrack/store"
)

// Timeouts are the budgets of the three kinds of call; zero takes the
// default.
type Timeouts struct {
	Hot, Write, Query time.Duration
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
	return t
}

// Store is a store.Store whose every call has a deadline.
type Store struct {
	s store.Store
	t Timeouts
}

var _ store.Store = (*Store)(nil)

// classifying is a Store over a store that classifies its errors.
type classifying struct {
	*Store
	c store.FaultClassifier
}

func (c classifying) Classify(err error) store.Fault { return c.c.Classify(err) }

// Wrap returns s with a deadline on every call. It keeps s's error
// classification (store.FaultClassifier) when s has one.
func Wrap(s store.Store, t Timeouts) store.Store {
	d := &Store{s: s, t: t.withDefaults()}
	if c, ok := s.(store.FaultClassifier); ok {
		return classifying{Store: d, c: c}
	}
	return d
}

// Unwrap returns the wrapped store.
func (x *Store) Unwrap() store.Store { return x.s }

// Ping is Hot: readiness probes must answer while the database hangs.
func (x *Store) Ping(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, x.t.Hot)
	defer cancel()
	return x.s.Ping(ctx)
}

// Close closes the wrapped store.
func (x *Store) Close() { x.s.Close() }

func (x *Store) APITokenByHash(ctx context.Context, tokenHash []byte) (store.APIToken, store.User, error) {
	ctx, cancel := context.WithTimeout(ctx, x.t.Hot)
	defer cancel()
	return x.s.APITokenByHash(ctx, tokenHash)
}

func (x *Store) APITokenByID(ctx context.Context, id int64) (store.APIToken, error) {
	ctx, cancel := context.WithTimeout(ctx, x.t.Query)
	defer cancel()
	return x.s.APITokenByID(ctx, id)
}

func (x *Store) APITokenUser(ctx context.Context, tokenHash []byte) (store.User, error) {
	ctx, cancel := context.WithTimeout(ctx, x.t.Hot)
	defer cancel()
	return x.s.APITokenUser(ctx, tokenHash)
}

func (x *Store) Alarm(ctx context.Context, id int64) (rules.Episode, error) {
	ctx, cancel := context.WithTimeout(ctx, x.t.Query)
	defer cancel()
	return x.s.Alarm(ctx, id)
}

func (x *Store) AlarmEvents(ctx context.Context, alarmID int64) ([]store.AlarmEvent, error) {
	ctx, cancel := context.WithTimeout(ctx, x.t.Query)
	defer cancel()
	return x.s.AlarmEvents(ctx, alarmID)
}

func (x *Store) AppendAlarmEvent(ctx context.Context, alarmID int64, ev rules.Event) error {
	ctx, cancel := context.WithTimeout(ctx, x.t.Hot)
	defer cancel()
	return x.s.AppendAlarmEvent(ctx, alarmID, ev)
}

func (x *Store) AppendAudit(ctx context.Context, e store.AuditEntry) error {
	ctx, cancel := context.WithTimeout(ctx, x.t.Query)
	defer cancel()
	return x.s.AppendAudit(ctx, e)
}

func (x *Store) ConfigVersion(ctx context.Context) (int64, error) {
	ctx, cancel := context.WithTimeout(ctx, x.t.Query)
	defer cancel()
	return x.s.ConfigVersion(ctx)
}

func (x *Store) CountUsers(ctx context.Context) (int, error) {
	ctx, cancel := context.WithTimeout(ctx, x.t.Query)
	defer cancel()
	return x.s.CountUsers(ctx)
}

func (x *Store) CreateAPIToken(ctx context.Context, userID int64, name string, tokenHash []byte) (int64, error) {
	ctx, cancel := context.WithTimeout(ctx, x.t.Query)
	defer cancel()
	return x.s.CreateAPIToken(ctx, userID, name, tokenHash)
}

func (x *Store) CreateDevice(ctx context.Context, d store.Device, tokenHash []byte) (store.Device, error) {
	ctx, cancel := context.WithTimeout(ctx, x.t.Query)
	defer cancel()
	return x.s.CreateDevice(ctx, d, tokenHash)
}

func (x *Store) CreateFence(ctx context.Context, f store.Fence) (store.Fence, error) {
	ctx, cancel := context.WithTimeout(ctx, x.t.Query)
	defer cancel()
	return x.s.CreateFence(ctx, f)
}

func (x *Store) CreateOverlay(ctx context.Context, o store.Overlay) (store.Overlay, error) {
	ctx, cancel := context.WithTimeout(ctx, x.t.Query)
	defer cancel()
	return x.s.CreateOverlay(ctx, o)
}

func (x *Store) CreateRule(ctx context.Context, r rules.Rule) (rules.Rule, error) {
	ctx, cancel := context.WithTimeout(ctx, x.t.Query)
	defer cancel()
	return x.s.CreateRule(ctx, r)
}

func (x *Store) CreateSession(ctx context.Context, tokenHash []byte, userID int64, expires time.Time) error {
	ctx, cancel := context.WithTimeout(ctx, x.t.Query)
	defer cancel()
	return x.s.CreateSession(ctx, tokenHash, userID, expires)
}

func (x *Store) CreateUser(ctx context.Context, u store.User) (store.User, error) {
	ctx, cancel := context.WithTimeout(ctx, x.t.Query)
	defer cancel()
	return x.s.CreateUser(ctx, u)
}

func (x *Store) DeleteFence(ctx context.Context, id int64) error {
	ctx, cancel := context.WithTimeout(ctx, x.t.Query)
	defer cancel()
	return x.s.DeleteFence(ctx, id)
}

func (x *Store) DeleteOverlay(ctx context.Context, id int64) error {
	ctx, cancel := context.WithTimeout(ctx, x.t.Query)
	defer cancel()
	return x.s.DeleteOverlay(ctx, id)
}

func (x *Store) DeleteRule(ctx context.Context, id int64) error {
	ctx, cancel := context.WithTimeout(ctx, x.t.Query)
	defer cancel()
	return x.s.DeleteRule(ctx, id)
}

func (x *Store) DeleteSession(ctx context.Context, tokenHash []byte) error {
	ctx, cancel := context.WithTimeout(ctx, x.t.Query)
	defer cancel()
	return x.s.DeleteSession(ctx, tokenHash)
}

func (x *Store) DeviceByID(ctx context.Context, id int64) (store.Device, error) {
	ctx, cancel := context.WithTimeout(ctx, x.t.Hot)
	defer cancel()
	return x.s.DeviceByID(ctx, id)
}

func (x *Store) DeviceByTokenHash(ctx context.Context, tokenHash []byte) (store.Device, error) {
	ctx, cancel := context.WithTimeout(ctx, x.t.Hot)
	defer cancel()
	return x.s.DeviceByTokenHash(ctx, tokenHash)
}

func (x *Store) DeviceByUID(ctx context.Context, uid string) (store.Device, error) {
	ctx, cancel := context.WithTimeout(ctx, x.t.Hot)
	defer cancel()
	return x.s.DeviceByUID(ctx, uid)
}

func (x *Store) DoseMinutes(ctx context.Context, deviceID int64, from, to time.Time) ([]store.DoseMinute, error) {
	ctx, cancel := context.WithTimeout(ctx, x.t.Query)
	defer cancel()
	return x.s.DoseMinutes(ctx, deviceID, from, to)
}

func (x *Store) Fence(ctx context.Context, id int64) (store.Fence, error) {
	ctx, cancel := context.WithTimeout(ctx, x.t.Query)
	defer cancel()
	return x.s.Fence(ctx, id)
}

func (x *Store) Heatmap(ctx context.Context, q store.HeatmapQuery) ([]store.HeatCell, error) {
	ctx, cancel := context.WithTimeout(ctx, x.t.Query)
	defer cancel()
	return x.s.Heatmap(ctx, q)
}

func (x *Store) IssueAPIToken(ctx context.Context, t store.APIToken) (store.APIToken, error) {
	ctx, cancel := context.WithTimeout(ctx, x.t.Query)
	defer cancel()
	return x.s.IssueAPIToken(ctx, t)
}

func (x *Store) ListAPITokens(ctx context.Context, f store.APITokenFilter) ([]store.APIToken, error) {
	ctx, cancel := context.WithTimeout(ctx, x.t.Query)
	defer cancel()
	return x.s.ListAPITokens(ctx, f)
}

func (x *Store) ListAlarms(ctx context.Context, f store.AlarmFilter) ([]rules.Episode, error) {
	ctx, cancel := context.WithTimeout(ctx, x.t.Query)
	defer cancel()
	return x.s.ListAlarms(ctx, f)
}

func (x *Store) ListAudit(ctx context.Context, limit int) ([]store.AuditEntry, error) {
	ctx, cancel := context.WithTimeout(ctx, x.t.Query)
	defer cancel()
	return x.s.ListAudit(ctx, limit)
}

func (x *Store) ListDevices(ctx context.Context) ([]store.Device, error) {
	ctx, cancel := context.WithTimeout(ctx, x.t.Query)
	defer cancel()
	return x.s.ListDevices(ctx)
}

func (x *Store) ListFences(ctx context.Context) ([]store.Fence, error) {
	ctx, cancel := context.WithTimeout(ctx, x.t.Query)
	defer cancel()
	return x.s.ListFences(ctx)
}

func (x *Store) ListOverlays(ctx context.Context) ([]store.Overlay, error) {
	ctx, cancel := context.WithTimeout(ctx, x.t.Query)
	defer cancel()
	return x.s.ListOverlays(ctx)
}

func (x *Store) ListRules(ctx context.Context) ([]rules.Rule, error) {
	ctx, cancel := context.WithTimeout(ctx, x.t.Query)
	defer cancel()
	return x.s.ListRules(ctx)
}

func (x *Store) ListUsers(ctx context.Context) ([]store.User, error) {
	ctx, cancel := context.WithTimeout(ctx, x.t.Query)
	defer cancel()
	return x.s.ListUsers(ctx)
}

func (x *Store) RaiseAlarm(ctx context.Context, ep rules.Episode, ev rules.Event) (id int64, created bool, err error) {
	ctx, cancel := context.WithTimeout(ctx, x.t.Hot)
	defer cancel()
	return x.s.RaiseAlarm(ctx, ep, ev)
}

func (x *Store) RevokeAPIToken(ctx context.Context, id int64, at time.Time) (store.APIToken, error) {
	ctx, cancel := context.WithTimeout(ctx, x.t.Query)
	defer cancel()
	return x.s.RevokeAPIToken(ctx, id, at)
}

func (x *Store) RevokeDevice(ctx context.Context, id int64, at time.Time) error {
	ctx, cancel := context.WithTimeout(ctx, x.t.Query)
	defer cancel()
	return x.s.RevokeDevice(ctx, id, at)
}

func (x *Store) SeedRules(ctx context.Context, defaults []rules.Rule) (seeded bool, err error) {
	ctx, cancel := context.WithTimeout(ctx, x.t.Query)
	defer cancel()
	return x.s.SeedRules(ctx, defaults)
}

func (x *Store) SessionUser(ctx context.Context, tokenHash []byte, now time.Time) (store.User, error) {
	ctx, cancel := context.WithTimeout(ctx, x.t.Hot)
	defer cancel()
	return x.s.SessionUser(ctx, tokenHash, now)
}

func (x *Store) SetDeviceToken(ctx context.Context, id int64, tokenHash []byte) error {
	ctx, cancel := context.WithTimeout(ctx, x.t.Query)
	defer cancel()
	return x.s.SetDeviceToken(ctx, id, tokenHash)
}

func (x *Store) TouchAPIToken(ctx context.Context, id int64, at time.Time) error {
	ctx, cancel := context.WithTimeout(ctx, x.t.Hot)
	defer cancel()
	return x.s.TouchAPIToken(ctx, id, at)
}

func (x *Store) Track(ctx context.Context, q store.TrackQuery) ([]sample.Sample, error) {
	ctx, cancel := context.WithTimeout(ctx, x.t.Query)
	defer cancel()
	return x.s.Track(ctx, q)
}

func (x *Store) TransitionAlarm(ctx context.Context, ep rules.Episode, from rules.State, events []rules.Event) error {
	ctx, cancel := context.WithTimeout(ctx, x.t.Query)
	defer cancel()
	return x.s.TransitionAlarm(ctx, ep, from, events)
}

func (x *Store) UpdateAlarm(ctx context.Context, ep rules.Episode, addSamples int) error {
	ctx, cancel := context.WithTimeout(ctx, x.t.Hot)
	defer cancel()
	return x.s.UpdateAlarm(ctx, ep, addSamples)
}

func (x *Store) UpdateFence(ctx context.Context, f store.Fence) (store.Fence, error) {
	ctx, cancel := context.WithTimeout(ctx, x.t.Query)
	defer cancel()
	return x.s.UpdateFence(ctx, f)
}

func (x *Store) UpdateRule(ctx context.Context, r rules.Rule) (rules.Rule, error) {
	ctx, cancel := context.WithTimeout(ctx, x.t.Query)
	defer cancel()
	return x.s.UpdateRule(ctx, r)
}

func (x *Store) UpdateUser(ctx context.Context, id int64, up store.UserUpdate) (store.User, error) {
	ctx, cancel := context.WithTimeout(ctx, x.t.Query)
	defer cancel()
	return x.s.UpdateUser(ctx, id, up)
}

func (x *Store) UserByID(ctx context.Context, id int64) (store.User, error) {
	ctx, cancel := context.WithTimeout(ctx, x.t.Hot)
	defer cancel()
	return x.s.UserByID(ctx, id)
}

func (x *Store) UserByUsername(ctx context.Context, username string) (store.User, error) {
	ctx, cancel := context.WithTimeout(ctx, x.t.Query)
	defer cancel()
	return x.s.UserByUsername(ctx, username)
}

func (x *Store) WriteSamples(ctx context.Context, samples []sample.Sample) error {
	ctx, cancel := context.WithTimeout(ctx, x.t.Write)
	defer cancel()
	return x.s.WriteSamples(ctx, samples)
}
