package snapshot

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/radtrack/radtrack/rules"
	"github.com/radtrack/radtrack/store"
)

var errDown = errors.New("connection refused")

// down is a store whose database does not answer, or (err set) answers
// with err.
type down struct {
	store.Store
	err error
}

func (d down) fail() error {
	if d.err != nil {
		return d.err
	}
	return errDown
}
func (d down) DeviceByTokenHash(context.Context, []byte) (store.Device, error) {
	return store.Device{}, d.fail()
}
func (d down) SessionUser(context.Context, []byte, time.Time) (store.User, error) {
	return store.User{}, d.fail()
}
func (d down) APITokenByHash(context.Context, []byte) (store.APIToken, store.User, error) {
	return store.APIToken{}, store.User{}, d.fail()
}
func (d down) APITokenUser(context.Context, []byte) (store.User, error) {
	return store.User{}, d.fail()
}
func (d down) ListRules(context.Context) ([]rules.Rule, error) { return nil, d.fail() }
func (d down) ListAlarms(context.Context, store.AlarmFilter) ([]rules.Episode, error) {
	return nil, d.fail()
}

func classify(err error) store.Fault {
	switch {
	case errors.Is(err, errDown):
		return store.Transient
	case errors.Is(err, store.ErrNotFound):
		return store.Permanent
	}
	return store.Unknown
}

func testSnapshot(now time.Time) *Snapshot {
	return &Snapshot{Format: format, TakenAt: now,
		Devices:  []Device{{Device: store.Device{ID: 7, UID: "van-7"}, TokenHash: []byte("h7")}},
		Users:    []User{{User: store.User{ID: 1, Username: "ops", Role: "operator"}, PasswordHash: "bcrypt"}},
		Sessions: []Session{{Hash: []byte("s-live"), UserID: 1, Expires: now.Add(time.Hour)}, {Hash: []byte("s-old"), UserID: 1, Expires: now.Add(-time.Minute)}},
		Rules:    []rules.Rule{{ID: 3, Name: "OIL3"}},
		Tokens: []Token{
			{APIToken: store.APIToken{ID: 1, UserID: 1, Role: "viewer"}, Hash: []byte("t-viewer")},
			{APIToken: store.APIToken{ID: 2, UserID: 1, Role: "operator", RevokedAt: &now}, Hash: []byte("t-revoked")},
		},
	}
}

func TestFallbackAnswersOnlyForAnOutage(t *testing.T) {
	ctx := context.Background()
	now := time.Now()
	f := NewFallback(down{}, classify)
	if _, err := f.DeviceByTokenHash(ctx, []byte("h7")); !errors.Is(err, errDown) {
		t.Fatalf("without a snapshot: %v, want the database's error", err)
	}
	f.Use(testSnapshot(now))
	if d, err := f.DeviceByTokenHash(ctx, []byte("h7")); err != nil || d.UID != "van-7" {
		t.Fatalf("known device during an outage: %+v %v", d, err)
	}
	if _, err := f.DeviceByTokenHash(ctx, []byte("h8")); !errors.Is(err, errDown) {
		t.Fatalf("device not in the snapshot: %v, want the outage error (refused, retry later)", err)
	}
	f.ForgetDevice(7)
	if _, err := f.DeviceByTokenHash(ctx, []byte("h7")); !errors.Is(err, errDown) {
		t.Fatalf("device changed since the snapshot: %v, want the outage error", err)
	}
	f.Use(testSnapshot(now)) // a fresh snapshot holds the change
	if _, err := f.DeviceByTokenHash(ctx, []byte("h7")); err != nil {
		t.Fatalf("device in a fresh snapshot: %v", err)
	}
	if u, err := f.SessionUser(ctx, []byte("s-live"), now); err != nil || u.Username != "ops" || u.PasswordHash != "bcrypt" {
		t.Fatalf("session during an outage: %+v %v", u, err)
	}
	if _, err := f.SessionUser(ctx, []byte("s-old"), now); !errors.Is(err, errDown) {
		t.Fatalf("expired session: %v, want the outage error", err)
	}
	// An API token acts with the lower of its role and its user's; a
	// revoked one is refused, not unknown.
	if u, err := f.APITokenUser(ctx, []byte("t-viewer")); err != nil || u.Role != "viewer" {
		t.Fatalf("API token during an outage: %+v %v, want the operator acting as viewer", u, err)
	}
	if _, err := f.APITokenUser(ctx, []byte("t-revoked")); err == nil || errors.Is(err, errDown) {
		t.Fatalf("revoked API token during an outage: %v, want refused as revoked", err)
	}
	if _, err := f.APITokenUser(ctx, []byte("t-other")); !errors.Is(err, errDown) {
		t.Fatalf("API token not in the snapshot: %v, want the outage error", err)
	}
	if rs, err := f.ListRules(ctx); err != nil || len(rs) != 1 {
		t.Fatalf("rules during an outage: %v %v", rs, err)
	}
	// A database that answers is never overruled.
	answering := NewFallback(down{err: store.ErrNotFound}, classify)
	answering.Use(testSnapshot(now))
	if _, err := answering.DeviceByTokenHash(ctx, []byte("h7")); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("a device the database says is gone: %v, want ErrNotFound", err)
	}
}

func TestOpenAlarmsAreNeverRestoredFromTheSnapshot(t *testing.T) {
	ctx := context.Background()
	f := NewFallback(down{}, classify)
	f.Use(testSnapshot(time.Now()))
	f.StartDegraded()
	if eps, err := f.ListAlarms(ctx, store.AlarmFilter{}); err != nil || len(eps) != 0 {
		t.Fatalf("starting degraded: %v %v, want no open alarms and no error", eps, err)
	}
	f.EndStartup()
	if _, err := f.ListAlarms(ctx, store.AlarmFilter{}); !errors.Is(err, errDown) {
		t.Fatalf("after the start: %v, want the outage error (no alarm list made up)", err)
	}
}
