package store

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/radtrack/radtrack/auth"
)

// User is a person (or integration) using the control room.
type User struct {
	ID           int64      `json:"id"`
	Username     string     `json:"username"`
	Role         string     `json:"role"`
	SiteID       int64      `json:"site_id"` // the role applies to this site's subtree; 0 on create: the root
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

// Ended is what a user update ends, in the same transaction.
type Ended struct {
	Sessions  bool // every session of the user
	AllTokens bool // every API token of the user
	// TokenRoles are the roles of the tokens revoked when not AllTokens.
	TokenRoles []string
}

// Ends is the one place that decides which credentials a change to a
// user ends. A new password or disabling ends every session and revokes
// every API token: whoever held them may be who the change is meant to
// lock out. A role change revokes the tokens whose role the new role does
// not allow, so no token can act above its user; sessions stay, because a
// session has no role of its own: every request reads the user's current
// role (and nodes drop what they remember of the user). Re-enabling a
// user or raising a role restores nothing.
func (up UserUpdate) Ends() Ended {
	if up.PasswordHash != nil || (up.Disabled != nil && *up.Disabled) {
		return Ended{Sessions: true, AllTokens: true}
	}
	if up.Role != nil {
		return Ended{TokenRoles: auth.RolesAbove(*up.Role)}
	}
	return Ended{}
}

// Any reports whether anything is ended.
func (e Ended) Any() bool { return e.Sessions || e.AllTokens || len(e.TokenRoles) > 0 }

// APIToken is a user's credential for integrations. The secret is shown
// once when it is created; only its SHA-256 is stored.
type APIToken struct {
	ID       int64  `json:"id"`
	UserID   int64  `json:"user_id"`
	Username string `json:"username"`
	Name     string `json:"name"`
	// Role is the most the token may do; a request made with it acts with
	// the lower of this and its user's current role.
	Role       string     `json:"role"`
	CreatedAt  time.Time  `json:"created_at"`
	ExpiresAt  *time.Time `json:"expires_at,omitempty"`
	LastUsedAt *time.Time `json:"last_used_at,omitempty"`
	RevokedAt  *time.Time `json:"revoked_at,omitempty"`
	Hash       []byte     `json:"-"`
}

// Reasons an API token cannot authenticate. Both are ErrNotFound too, so
// callers that only ask "usable or not" need not know them.
var (
	ErrTokenRevoked error = tokenError("API token revoked")
	ErrTokenExpired error = tokenError("API token expired")
)

type tokenError string

func (e tokenError) Error() string        { return string(e) }
func (e tokenError) Is(target error) bool { return target == ErrNotFound }

// Usable returns nil if the token may authenticate at now, else why not.
func (t APIToken) Usable(now time.Time) error {
	switch {
	case t.RevokedAt != nil:
		return ErrTokenRevoked
	case t.ExpiresAt != nil && !now.Before(*t.ExpiresAt):
		return fmt.Errorf("%w at %s", ErrTokenExpired, t.ExpiresAt.UTC().Format(time.RFC3339))
	}
	return nil
}

// ActingUser is who a request made with token t acts as: its owner, with
// the lower of the token's and the owner's current roles.
func ActingUser(t APIToken, owner User) User {
	owner.Role = auth.Lower(t.Role, owner.Role)
	return owner
}

// APITokenFilter selects tokens to list.
type APITokenFilter struct {
	UserID         int64 // 0: every user's
	IncludeRevoked bool
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
	// UpdateUser changes a user and ends what up.Ends() names, in one
	// transaction.
	UpdateUser(ctx context.Context, id int64, up UserUpdate) (User, error)
	CountUsers(ctx context.Context) (int, error)

	CreateSession(ctx context.Context, tokenHash []byte, userID int64, expires time.Time) error
	// SessionUser returns the user of an unexpired session.
	SessionUser(ctx context.Context, tokenHash []byte, now time.Time) (User, error)
	DeleteSession(ctx context.Context, tokenHash []byte) error

	// CreateAPIToken stores a token with its user's current role and no
	// expiry; IssueAPIToken is the general form.
	CreateAPIToken(ctx context.Context, userID int64, name string, tokenHash []byte) (int64, error)
	// IssueAPIToken stores t (UserID, Name, Hash, Role — "" for the
	// user's current role —, ExpiresAt) and returns it as stored.
	IssueAPIToken(ctx context.Context, t APIToken) (APIToken, error)
	// APITokenByHash returns a token, revoked and expired ones included,
	// and its user.
	APITokenByHash(ctx context.Context, tokenHash []byte) (APIToken, User, error)
	APITokenByID(ctx context.Context, id int64) (APIToken, error)
	// ListAPITokens returns tokens, newest first.
	ListAPITokens(ctx context.Context, f APITokenFilter) ([]APIToken, error)
	// RevokeAPIToken revokes a token at at; revoking it again keeps the
	// first time. It returns the token as stored.
	RevokeAPIToken(ctx context.Context, id int64, at time.Time) (APIToken, error)
	// TouchAPIToken records that a token was used at at (never moving
	// the time backwards).
	TouchAPIToken(ctx context.Context, id int64, at time.Time) error
	// APITokenUser returns the user a usable (unrevoked, unexpired) API
	// token acts as: ActingUser, with the role narrowed to the token's.
	APITokenUser(ctx context.Context, tokenHash []byte) (User, error)

	AppendAudit(ctx context.Context, e AuditEntry) error
	ListAudit(ctx context.Context, limit int) ([]AuditEntry, error)
}

// TokenUser implements Users.APITokenUser on top of APITokenByHash, so
// that every store applies the same rules.
func TokenUser(ctx context.Context, s interface {
	APITokenByHash(ctx context.Context, tokenHash []byte) (APIToken, User, error)
}, tokenHash []byte, now time.Time) (User, error) {
	t, u, err := s.APITokenByHash(ctx, tokenHash)
	if err == nil {
		err = t.Usable(now)
	}
	if err != nil {
		return User{}, err
	}
	return ActingUser(t, u), nil
}
