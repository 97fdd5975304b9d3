package store

import (
	"context"
	"encoding/json"
	"time"
)

// User is a person (or integration) using the control room.
type User struct {
	ID           int64      `json:"id"`
	Username     string     `json:"username"`
	Role         string     `json:"role"`
	PasswordHash string     `json:"-"`
	DisabledAt   *time.Time `json:"disabled_at,omitempty"`
	CreatedAt    time.Time  `json:"created_at"`
	UpdatedAt    time.Time  `json:"updated_at"`
}

// Active reports whether the user may log in.
func (u User) Active() bool { return u.DisabledAt == nil }

// UserUpdate changes some fields of a user; nil fields stay.
type UserUpdate struct {
	Role         *string
	PasswordHash *string
	Disabled     *bool
}

// AuditEntry records who did what.
type AuditEntry struct {
	ID       int64           `json:"id"`
	Time     time.Time       `json:"time"`
	UserID   *int64          `json:"user_id,omitempty"`
	Username string          `json:"username"`
	Action   string          `json:"action"`
	Target   string          `json:"target"`
	Details  json.RawMessage `json:"details,omitempty"`
}

// Users stores users, sessions, API tokens and the audit log.
type Users interface {
	CreateUser(ctx context.Context, u User) (User, error)
	UserByUsername(ctx context.Context, username string) (User, error)
	UserByID(ctx context.Context, id int64) (User, error)
	ListUsers(ctx context.Context) ([]User, error)
	UpdateUser(ctx context.Context, id int64, up UserUpdate) (User, error)
	CountUsers(ctx context.Context) (int, error)

	CreateSession(ctx context.Context, tokenHash []byte, userID int64, expires time.Time) error
	// SessionUser returns the user of an unexpired session.
	SessionUser(ctx context.Context, tokenHash []byte, now time.Time) (User, error)
	DeleteSession(ctx context.Context, tokenHash []byte) error

	CreateAPIToken(ctx context.Context, userID int64, name string, tokenHash []byte) (int64, error)
	// APITokenUser returns the user of an unrevoked API token.
	APITokenUser(ctx context.Context, tokenHash []byte) (User, error)

	AppendAudit(ctx context.Context, e AuditEntry) error
	ListAudit(ctx context.Context, limit int) ([]AuditEntry, error)
}
