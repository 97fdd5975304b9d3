package snapshot

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"github.com/radtrack/radtrack/rules"
	"github.com/radtrack/radtrack/store"
)

// Fallback is a store.Store that answers credential, user, rule and fence
// look-ups from the latest snapshot when the database cannot answer now
// (an error the store classifies Transient). What the snapshot does not
// hold keeps the database's error: a device not in it is refused (503,
// the vehicle retries) and its samples are not evaluated. Everything
// else passes through.
type Fallback struct {
	store.Store
	classify func(error) store.Fault
	snap     atomic.Pointer[index]
	// starting: the node is starting from a snapshot; until EndStartup,
	// listing open alarms answers none and seeding rules is skipped.
	starting atomic.Bool

	mu        sync.Mutex
	forgotten map[int64]bool // devices changed since the snapshot was taken
}

// index is a snapshot arranged for look-ups.
type index struct {
	s        *Snapshot
	byHash   map[string]store.Device
	byUID    map[string]store.Device
	byID     map[int64]store.Device
	users    map[int64]store.User
	byName   map[string]store.User
	sessions map[string]Session
	tokens   map[string]store.APIToken
}

func newIndex(s *Snapshot) *index {
	ix := &index{s: s, byHash: map[string]store.Device{}, byUID: map[string]store.Device{}, byID: map[int64]store.Device{},
		users: map[int64]store.User{}, byName: map[string]store.User{}, sessions: map[string]Session{}, tokens: map[string]store.APIToken{}}
	for _, d := range s.Devices {
		if d.TokenHash != nil {
			ix.byHash[string(d.TokenHash)] = d.Device
		}
		ix.byUID[d.UID] = d.Device
		ix.byID[d.ID] = d.Device
	}
	for _, u := range s.Users {
		user := u.User
		user.PasswordHash = u.PasswordHash
		ix.users[user.ID], ix.byName[user.Username] = user, user
	}
	for _, ses := range s.Sessions {
		ix.sessions[string(ses.Hash)] = ses
	}
	for _, t := range s.Tokens {
		tok := t.APIToken
		tok.Hash = t.Hash
		ix.tokens[string(t.Hash)] = tok
	}
	return ix
}

// NewFallback wraps st; classify tells an outage from other errors.
func NewFallback(st store.Store, classify func(error) store.Fault) *Fallback {
	return &Fallback{Store: st, classify: classify, forgotten: map[int64]bool{}}
}

// Use makes s the snapshot answers come from.
func (f *Fallback) Use(s *Snapshot) {
	f.mu.Lock()
	defer f.mu.Unlock()
	// A snapshot taken now is current: changes noted before it are in it.
	clear(f.forgotten)
	f.snap.Store(newIndex(s))
}

// Snapshot returns the snapshot in use (nil if none).
func (f *Fallback) Snapshot() *Snapshot {
	if ix := f.snap.Load(); ix != nil {
		return ix.s
	}
	return nil
}

// StartDegraded marks the start of a node from the snapshot, while the
// database is down: open alarms are not restored (none are listed), the
// default rules are not seeded (the snapshot's database was seeded).
func (f *Fallback) StartDegraded() { f.starting.Store(true) }

// EndStartup ends what StartDegraded began: from now on listing alarms
// fails like any other read while the database is away.
func (f *Fallback) EndStartup() { f.starting.Store(false) }

// ForgetDevice stops answering for a device whose credentials changed
// (rotation, revocation) after the snapshot was taken: until a new
// snapshot, it is looked up in the database only.
func (f *Fallback) ForgetDevice(id int64) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.forgotten[id] = true
}

// Classify is the wrapped store's classification.
func (f *Fallback) Classify(err error) store.Fault { return f.classify(err) }

// outage returns the snapshot when err means the database did not answer.
func (f *Fallback) outage(err error) *index {
	if err == nil || f.classify(err) != store.Transient {
		return nil
	}
	return f.snap.Load()
}

func (f *Fallback) device(d store.Device, ok bool) (store.Device, bool) {
	if !ok {
		return d, false
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	return d, !f.forgotten[d.ID]
}

// DeviceByTokenHash falls back to the snapshot.
func (f *Fallback) DeviceByTokenHash(ctx context.Context, tokenHash []byte) (store.Device, error) {
	d, err := f.Store.DeviceByTokenHash(ctx, tokenHash)
	if ix := f.outage(err); ix != nil {
		if d, ok := f.device(ix.byHash[string(tokenHash)], ix.byHash[string(tokenHash)].ID != 0); ok {
			return d, nil
		}
	}
	return d, err
}

// DeviceByUID falls back to the snapshot.
func (f *Fallback) DeviceByUID(ctx context.Context, uid string) (store.Device, error) {
	d, err := f.Store.DeviceByUID(ctx, uid)
	if ix := f.outage(err); ix != nil {
		if d, ok := f.device(ix.byUID[uid], ix.byUID[uid].ID != 0); ok {
			return d, nil
		}
	}
	return d, err
}

// DeviceByID falls back to the snapshot.
func (f *Fallback) DeviceByID(ctx context.Context, id int64) (store.Device, error) {
	d, err := f.Store.DeviceByID(ctx, id)
	if ix := f.outage(err); ix != nil {
		if d, ok := f.device(ix.byID[id], ix.byID[id].ID != 0); ok {
			return d, nil
		}
	}
	return d, err
}

// SessionUser falls back to the snapshot's unexpired sessions. Logouts
// since are refused before this (the server's revocation journal).
func (f *Fallback) SessionUser(ctx context.Context, tokenHash []byte, now time.Time) (store.User, error) {
	u, err := f.Store.SessionUser(ctx, tokenHash, now)
	if ix := f.outage(err); ix != nil {
		if ses, ok := ix.sessions[string(tokenHash)]; ok && ses.Expires.After(now) {
			if u, ok := ix.users[ses.UserID]; ok {
				return u, nil
			}
		}
	}
	return u, err
}

// APITokenByHash falls back to the snapshot.
func (f *Fallback) APITokenByHash(ctx context.Context, tokenHash []byte) (store.APIToken, store.User, error) {
	t, u, err := f.Store.APITokenByHash(ctx, tokenHash)
	if ix := f.outage(err); ix != nil {
		if t, ok := ix.tokens[string(tokenHash)]; ok {
			if u, ok := ix.users[t.UserID]; ok {
				return t, u, nil
			}
		}
	}
	return t, u, err
}

// APITokenUser falls back to the snapshot, with the same rules as the
// stores (store.TokenUser).
func (f *Fallback) APITokenUser(ctx context.Context, tokenHash []byte) (store.User, error) {
	u, err := f.Store.APITokenUser(ctx, tokenHash)
	if ix := f.outage(err); ix != nil {
		if _, ok := ix.tokens[string(tokenHash)]; ok {
			return store.TokenUser(ctx, f, tokenHash, time.Now())
		}
	}
	return u, err
}

// UserByID falls back to the snapshot.
func (f *Fallback) UserByID(ctx context.Context, id int64) (store.User, error) {
	u, err := f.Store.UserByID(ctx, id)
	if ix := f.outage(err); ix != nil {
		if u, ok := ix.users[id]; ok {
			return u, nil
		}
	}
	return u, err
}

// UserByUsername falls back to the snapshot.
func (f *Fallback) UserByUsername(ctx context.Context, username string) (store.User, error) {
	u, err := f.Store.UserByUsername(ctx, username)
	if ix := f.outage(err); ix != nil {
		if u, ok := ix.byName[username]; ok {
			return u, nil
		}
	}
	return u, err
}

// CountUsers falls back to the snapshot (a node starting degraded does
// not create a first admin: its database has users).
func (f *Fallback) CountUsers(ctx context.Context) (int, error) {
	n, err := f.Store.CountUsers(ctx)
	if ix := f.outage(err); ix != nil {
		return len(ix.s.Users), nil
	}
	return n, err
}

// ListRules falls back to the snapshot.
func (f *Fallback) ListRules(ctx context.Context) ([]rules.Rule, error) {
	rs, err := f.Store.ListRules(ctx)
	if ix := f.outage(err); ix != nil {
		return append([]rules.Rule(nil), ix.s.Rules...), nil
	}
	return rs, err
}

// ListFences falls back to the snapshot.
func (f *Fallback) ListFences(ctx context.Context) ([]store.Fence, error) {
	fs, err := f.Store.ListFences(ctx)
	if ix := f.outage(err); ix != nil {
		return append([]store.Fence(nil), ix.s.Fences...), nil
	}
	return fs, err
}

// SeedRules is skipped while starting degraded.
func (f *Fallback) SeedRules(ctx context.Context, defaults []rules.Rule) (bool, error) {
	seeded, err := f.Store.SeedRules(ctx, defaults)
	if f.starting.Load() && f.outage(err) != nil {
		return false, nil
	}
	return seeded, err
}

// ListAlarms lists none while starting degraded: open alarms are never
// restored from a snapshot (it holds none).
func (f *Fallback) ListAlarms(ctx context.Context, flt store.AlarmFilter) ([]rules.Episode, error) {
	eps, err := f.Store.ListAlarms(ctx, flt)
	if f.starting.Load() && f.outage(err) != nil {
		return nil, nil
	}
	return eps, err
}
