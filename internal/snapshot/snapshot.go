// Package snapshot keeps a durable local copy of what a node needs to go on
// working while its database is away: device credential hashes, users
// (password hashes, roles), unexpired sessions and API tokens (hashes
// only), rules and fences. It is a file beside the spool, replaced
// atomically whenever the node takes a new one (at start, when the config
// or a credential changes, and periodically). With it, known devices
// authenticate and rules evaluate during an outage, and a node can start
// degraded while the database is down.
//
// Open alarms are deliberately not in it: a node started from a snapshot
// starts with none, because restoring episodes from a stale copy could
// show alarms already resolved, or hide new ones behind them; the database
// merges an episode raised again into its open one when it returns.
package snapshot

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/radtrack/radtrack/rules"
	"github.com/radtrack/radtrack/store"
)

// format is the file's version; Load refuses any other.
const format = 1

// FileName is the snapshot's name in the spool directory.
const FileName = "snapshot.json"

// Snapshot is one copy of the node's credentials and configuration.
type Snapshot struct {
	Format  int       `json:"format"`
	TakenAt time.Time `json:"taken_at"`
	// Timescale is the database's engine, needed to start without it.
	Timescale bool          `json:"timescale"`
	Devices   []Device      `json:"devices"`
	Users     []User        `json:"users"`
	Sessions  []Session     `json:"sessions"`
	Tokens    []Token       `json:"tokens"`
	Rules     []rules.Rule  `json:"rules"`
	Fences    []store.Fence `json:"fences"`
}

// Device is a device with its token's hash (nil: legacy id only).
type Device struct {
	store.Device
	TokenHash []byte `json:"token_hash"`
}

// User is a user with its password hash (store.User hides it from JSON).
type User struct {
	store.User
	PasswordHash string `json:"password_hash"`
}

// Session is an unexpired login session.
type Session struct {
	Hash    []byte    `json:"hash"`
	UserID  int64     `json:"user_id"`
	Expires time.Time `json:"expires"`
}

// Token is an API token with its hash (revoked ones included, so they
// are refused rather than unknown).
type Token struct {
	store.APIToken
	Hash []byte `json:"hash"`
}

// Source is what a snapshot is read from: the store, and its database for
// what the store does not list (credential hashes, sessions).
type Source interface {
	ListDevices(ctx context.Context) ([]store.Device, error)
	ListUsers(ctx context.Context) ([]store.User, error)
	ListAPITokens(ctx context.Context, f store.APITokenFilter) ([]store.APIToken, error)
	ListRules(ctx context.Context) ([]rules.Rule, error)
	ListFences(ctx context.Context) ([]store.Fence, error)
}

// Querier runs SQL on PostgreSQL (a *pgxpool.Pool).
type Querier interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
}

// Take reads a snapshot from a database that answers.
func Take(ctx context.Context, src Source, db Querier, timescale bool, now time.Time) (*Snapshot, error) {
	s := &Snapshot{Format: format, TakenAt: now.UTC(), Timescale: timescale}
	devices, err := src.ListDevices(ctx)
	if err != nil {
		return nil, fmt.Errorf("snapshot devices: %w", err)
	}
	hashes := map[int64][]byte{}
	rows, err := db.Query(ctx, `SELECT id, token_hash FROM devices WHERE token_hash IS NOT NULL`)
	if err != nil {
		return nil, fmt.Errorf("snapshot device credentials: %w", err)
	}
	var (
		id   int64
		hash []byte
	)
	if _, err := pgx.ForEachRow(rows, []any{&id, &hash}, func() error {
		hashes[id] = append([]byte(nil), hash...)
		return nil
	}); err != nil {
		return nil, fmt.Errorf("snapshot device credentials: %w", err)
	}
	for _, d := range devices {
		s.Devices = append(s.Devices, Device{Device: d, TokenHash: hashes[d.ID]})
	}
	users, err := src.ListUsers(ctx)
	if err != nil {
		return nil, fmt.Errorf("snapshot users: %w", err)
	}
	for _, u := range users {
		s.Users = append(s.Users, User{User: u, PasswordHash: u.PasswordHash})
	}
	rows, err = db.Query(ctx, `SELECT token_hash, user_id, expires_at FROM sessions WHERE expires_at > $1`, now)
	if err != nil {
		return nil, fmt.Errorf("snapshot sessions: %w", err)
	}
	var ses Session
	if _, err := pgx.ForEachRow(rows, []any{&ses.Hash, &ses.UserID, &ses.Expires}, func() error {
		s.Sessions = append(s.Sessions, Session{Hash: append([]byte(nil), ses.Hash...), UserID: ses.UserID, Expires: ses.Expires})
		return nil
	}); err != nil {
		return nil, fmt.Errorf("snapshot sessions: %w", err)
	}
	tokens, err := src.ListAPITokens(ctx, store.APITokenFilter{IncludeRevoked: true})
	if err != nil {
		return nil, fmt.Errorf("snapshot API tokens: %w", err)
	}
	for _, t := range tokens {
		s.Tokens = append(s.Tokens, Token{APIToken: t, Hash: t.Hash})
	}
	if s.Rules, err = src.ListRules(ctx); err != nil {
		return nil, fmt.Errorf("snapshot rules: %w", err)
	}
	if s.Fences, err = src.ListFences(ctx); err != nil {
		return nil, fmt.Errorf("snapshot fences: %w", err)
	}
	return s, nil
}

// Write replaces the file at path with s atomically: a crash leaves the
// old snapshot or the new one, never a torn file. It holds credential
// hashes, so only the node's user may read it.
func Write(path string, s *Snapshot) error {
	data, err := json.Marshal(s)
	if err != nil {
		return fmt.Errorf("encode snapshot: %w", err)
	}
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, filepath.Base(path)+".tmp-*")
	if err != nil {
		return fmt.Errorf("write snapshot: %w", err)
	}
	tmp := f.Name()
	defer os.Remove(tmp) // after a successful rename there is nothing left to remove
	if err := f.Chmod(0o600); err != nil {
		f.Close()
		return fmt.Errorf("write snapshot: %w", err)
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return fmt.Errorf("write snapshot: %w", err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("write snapshot: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("write snapshot: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("write snapshot: %w", err)
	}
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("write snapshot: %w", err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("write snapshot: sync directory: %w", err)
	}
	return nil
}

// ErrNone means there is no snapshot file.
var ErrNone = errors.New("no local snapshot")

// Load reads the snapshot at path (ErrNone if there is none).
func Load(path string) (*Snapshot, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, ErrNone
	}
	if err != nil {
		return nil, fmt.Errorf("read snapshot: %w", err)
	}
	var s Snapshot
	if err := json.Unmarshal(data, &s); err != nil {
		return nil, fmt.Errorf("read snapshot %s: %w", path, err)
	}
	if s.Format != format {
		return nil, fmt.Errorf("read snapshot %s: format %d, this version reads %d", path, s.Format, format)
	}
	return &s, nil
}
