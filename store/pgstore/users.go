package pgstore

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/radtrack/radtrack/sample"
	"github.com/radtrack/radtrack/store"
)

const userColumns = `u.id, u.username, u.role, u.password_hash, u.disabled_at, u.created_at, u.updated_at, u.site_id`

func scanUser(row pgx.Row) (store.User, error) {
	var u store.User
	err := row.Scan(&u.ID, &u.Username, &u.Role, &u.PasswordHash, &u.DisabledAt, &u.CreatedAt, &u.UpdatedAt, &u.SiteID)
	return u, err
}

// CreateUser stores a new user.
func (s *Store) CreateUser(ctx context.Context, u store.User) (store.User, error) {
	created, err := scanUser(s.pool.QueryRow(ctx, `INSERT INTO users AS u (username, password_hash, role, site_id)
		VALUES ($1, $2, $3, $4) RETURNING `+userColumns, u.Username, u.PasswordHash, u.Role, siteOrRoot(u.SiteID)))
	if isUniqueViolation(err) {
		return store.User{}, fmt.Errorf("user %q: %w", u.Username, store.ErrConflict)
	}
	if err != nil {
		return store.User{}, fmt.Errorf("create user %q: %w", u.Username, err)
	}
	return created, nil
}

// UserByUsername finds a user by login name.
func (s *Store) UserByUsername(ctx context.Context, username string) (store.User, error) {
	if sample.CheckText("username", username) != nil {
		// No stored name can hold it; asking would only make the server refuse it.
		return store.User{}, fmt.Errorf("user %q: %w", username, store.ErrNotFound)
	}
	u, err := scanUser(s.pool.QueryRow(ctx, `SELECT `+userColumns+` FROM users u WHERE u.username = $1`, username))
	if err != nil {
		return store.User{}, fmt.Errorf("user %q: %w", username, notFound(err))
	}
	return u, nil
}

// UserByID finds a user by id.
func (s *Store) UserByID(ctx context.Context, id int64) (store.User, error) {
	u, err := scanUser(s.pool.QueryRow(ctx, `SELECT `+userColumns+` FROM users u WHERE u.id = $1`, id))
	if err != nil {
		return store.User{}, fmt.Errorf("user %d: %w", id, notFound(err))
	}
	return u, nil
}

// ListUsers returns every user, oldest first.
func (s *Store) ListUsers(ctx context.Context) ([]store.User, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+userColumns+` FROM users u ORDER BY u.id`)
	if err != nil {
		return nil, fmt.Errorf("list users: %w", err)
	}
	users, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (store.User, error) { return scanUser(r) })
	if err != nil {
		return nil, fmt.Errorf("list users: %w", err)
	}
	return users, nil
}

// UpdateUser changes role, password or disabled state, and ends the
// sessions and API tokens up.Ends() names in the same transaction.
func (s *Store) UpdateUser(ctx context.Context, id int64, up store.UserUpdate) (store.User, error) {
	var disabled any
	if up.Disabled != nil {
		disabled = *up.Disabled
	}
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		return store.User{}, fmt.Errorf("update user %d: %w", id, err)
	}
	defer tx.Rollback(ctx) //nolint:errcheck // no-op after commit
	u, err := scanUser(tx.QueryRow(ctx, `UPDATE users AS u SET
			role = COALESCE($2, role),
			password_hash = COALESCE($3, password_hash),
			disabled_at = CASE WHEN $4::boolean IS NULL THEN disabled_at
			                   WHEN $4::boolean THEN COALESCE(disabled_at, now()) ELSE NULL END,
			updated_at = now()
		WHERE u.id = $1 RETURNING `+userColumns, id, up.Role, up.PasswordHash, disabled))
	if err != nil {
		return store.User{}, fmt.Errorf("update user %d: %w", id, notFound(err))
	}
	ends := up.Ends()
	if ends.Sessions {
		if _, err := tx.Exec(ctx, `DELETE FROM sessions WHERE user_id = $1`, id); err != nil {
			return store.User{}, fmt.Errorf("end sessions of user %d: %w", id, err)
		}
	}
	if ends.AllTokens || len(ends.TokenRoles) > 0 {
		if _, err := tx.Exec(ctx, `UPDATE api_tokens SET revoked_at = now()
			WHERE user_id = $1 AND revoked_at IS NULL AND ($2 OR role = ANY($3))`, id, ends.AllTokens, ends.TokenRoles); err != nil {
			return store.User{}, fmt.Errorf("revoke API tokens of user %d: %w", id, err)
		}
	}
	if err := tx.Commit(ctx); err != nil {
		return store.User{}, fmt.Errorf("update user %d: %w", id, err)
	}
	return u, nil
}

// CountUsers returns how many users exist.
func (s *Store) CountUsers(ctx context.Context) (int, error) {
	var n int
	if err := s.pool.QueryRow(ctx, `SELECT count(*) FROM users`).Scan(&n); err != nil {
		return 0, fmt.Errorf("count users: %w", err)
	}
	return n, nil
}

// CreateSession stores a login session.
func (s *Store) CreateSession(ctx context.Context, tokenHash []byte, userID int64, expires time.Time) error {
	if _, err := s.pool.Exec(ctx, `INSERT INTO sessions (token_hash, user_id, expires_at) VALUES ($1, $2, $3)`,
		tokenHash, userID, expires); err != nil {
		return fmt.Errorf("create session for user %d: %w", userID, err)
	}
	// Expired sessions are swept opportunistically: logins are rare.
	if _, err := s.pool.Exec(ctx, `DELETE FROM sessions WHERE expires_at < now()`); err != nil {
		return fmt.Errorf("sweep sessions: %w", err)
	}
	return nil
}

// SessionUser returns the active user of an unexpired session.
func (s *Store) SessionUser(ctx context.Context, tokenHash []byte, now time.Time) (store.User, error) {
	u, err := scanUser(s.pool.QueryRow(ctx, `SELECT `+userColumns+` FROM sessions s JOIN users u ON u.id = s.user_id
		WHERE s.token_hash = $1 AND s.expires_at > $2`, tokenHash, now))
	if err != nil {
		return store.User{}, fmt.Errorf("session: %w", notFound(err))
	}
	return u, nil
}

// DeleteSession ends a session (logout).
func (s *Store) DeleteSession(ctx context.Context, tokenHash []byte) error {
	if _, err := s.pool.Exec(ctx, `DELETE FROM sessions WHERE token_hash = $1`, tokenHash); err != nil {
		return fmt.Errorf("delete session: %w", err)
	}
	return nil
}

const tokenColumns = `t.id, t.user_id, u.username, t.name, t.role, t.created_at, t.expires_at, t.last_used_at, t.revoked_at, t.token_hash`

func scanToken(row pgx.Row) (store.APIToken, error) {
	var t store.APIToken
	err := row.Scan(&t.ID, &t.UserID, &t.Username, &t.Name, &t.Role, &t.CreatedAt, &t.ExpiresAt, &t.LastUsedAt, &t.RevokedAt, &t.Hash)
	return t, err
}

// CreateAPIToken stores a token with its user's current role and no expiry.
func (s *Store) CreateAPIToken(ctx context.Context, userID int64, name string, tokenHash []byte) (int64, error) {
	t, err := s.IssueAPIToken(ctx, store.APIToken{UserID: userID, Name: name, Hash: tokenHash})
	return t.ID, err
}

// IssueAPIToken stores a token; an empty role is the user's current role.
func (s *Store) IssueAPIToken(ctx context.Context, t store.APIToken) (store.APIToken, error) {
	created, err := scanToken(s.pool.QueryRow(ctx, `WITH t AS (
			INSERT INTO api_tokens (user_id, name, token_hash, role, expires_at)
			SELECT u.id, $2, $3, COALESCE(NULLIF($4, ''), u.role), $5 FROM users u WHERE u.id = $1
			RETURNING *)
		SELECT `+tokenColumns+` FROM t JOIN users u ON u.id = t.user_id`,
		t.UserID, t.Name, t.Hash, t.Role, t.ExpiresAt))
	if err != nil {
		return store.APIToken{}, fmt.Errorf("create API token for user %d: %w", t.UserID, notFound(err))
	}
	return created, nil
}

// APITokenByHash returns a token (revoked and expired ones included) and
// its user.
func (s *Store) APITokenByHash(ctx context.Context, tokenHash []byte) (store.APIToken, store.User, error) {
	var (
		t store.APIToken
		u store.User
	)
	err := s.pool.QueryRow(ctx, `SELECT `+tokenColumns+`, `+userColumns+` FROM api_tokens t JOIN users u ON u.id = t.user_id
		WHERE t.token_hash = $1`, tokenHash).Scan(
		&t.ID, &t.UserID, &t.Username, &t.Name, &t.Role, &t.CreatedAt, &t.ExpiresAt, &t.LastUsedAt, &t.RevokedAt, &t.Hash,
		&u.ID, &u.Username, &u.Role, &u.PasswordHash, &u.DisabledAt, &u.CreatedAt, &u.UpdatedAt, &u.SiteID)
	if err != nil {
		return store.APIToken{}, store.User{}, fmt.Errorf("API token: %w", notFound(err))
	}
	return t, u, nil
}

// APITokenByID returns a token, revoked and expired ones included.
func (s *Store) APITokenByID(ctx context.Context, id int64) (store.APIToken, error) {
	t, err := scanToken(s.pool.QueryRow(ctx, `SELECT `+tokenColumns+` FROM api_tokens t JOIN users u ON u.id = t.user_id WHERE t.id = $1`, id))
	if err != nil {
		return store.APIToken{}, fmt.Errorf("API token %d: %w", id, notFound(err))
	}
	return t, nil
}

// ListAPITokens returns tokens, newest first.
func (s *Store) ListAPITokens(ctx context.Context, f store.APITokenFilter) ([]store.APIToken, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+tokenColumns+` FROM api_tokens t JOIN users u ON u.id = t.user_id
		WHERE ($1 = 0 OR t.user_id = $1) AND ($2 OR t.revoked_at IS NULL) ORDER BY t.id DESC`, f.UserID, f.IncludeRevoked)
	if err != nil {
		return nil, fmt.Errorf("list API tokens: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (store.APIToken, error) { return scanToken(r) })
	if err != nil {
		return nil, fmt.Errorf("list API tokens: %w", err)
	}
	return out, nil
}

// RevokeAPIToken revokes a token; a second revocation keeps the first time.
func (s *Store) RevokeAPIToken(ctx context.Context, id int64, at time.Time) (store.APIToken, error) {
	t, err := scanToken(s.pool.QueryRow(ctx, `WITH t AS (
			UPDATE api_tokens SET revoked_at = COALESCE(revoked_at, $2) WHERE id = $1 RETURNING *)
		SELECT `+tokenColumns+` FROM t JOIN users u ON u.id = t.user_id`, id, at))
	if err != nil {
		return store.APIToken{}, fmt.Errorf("revoke API token %d: %w", id, notFound(err))
	}
	return t, nil
}

// TouchAPIToken records a use of the token.
func (s *Store) TouchAPIToken(ctx context.Context, id int64, at time.Time) error {
	if _, err := s.pool.Exec(ctx, `UPDATE api_tokens SET last_used_at = $2
		WHERE id = $1 AND (last_used_at IS NULL OR last_used_at < $2)`, id, at); err != nil {
		return fmt.Errorf("record use of API token %d: %w", id, err)
	}
	return nil
}

// APITokenUser returns the user a usable API token acts as.
func (s *Store) APITokenUser(ctx context.Context, tokenHash []byte) (store.User, error) {
	return store.TokenUser(ctx, s, tokenHash, time.Now())
}

// AppendAudit records an action.
func (s *Store) AppendAudit(ctx context.Context, e store.AuditEntry) error {
	var details any
	if len(e.Details) > 0 {
		details = e.Details
	}
	if _, err := s.pool.Exec(ctx, `INSERT INTO audit_log (user_id, username, action, target, details) VALUES ($1, $2, $3, $4, $5)`,
		e.UserID, e.Username, e.Action, e.Target, details); err != nil {
		return fmt.Errorf("append audit %s: %w", e.Action, err)
	}
	return nil
}

// ListAudit returns the newest audit entries first.
func (s *Store) ListAudit(ctx context.Context, limit int) ([]store.AuditEntry, error) {
	if limit <= 0 || limit > 10_000 {
		limit = 10_000
	}
	rows, err := s.pool.Query(ctx, `SELECT id, time, user_id, username, action, target, details FROM audit_log ORDER BY id DESC LIMIT $1`, limit)
	if err != nil {
		return nil, fmt.Errorf("list audit: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (store.AuditEntry, error) {
		var e store.AuditEntry
		err := r.Scan(&e.ID, &e.Time, &e.UserID, &e.Username, &e.Action, &e.Target, &e.Details)
		return e, err
	})
	if err != nil {
		return nil, fmt.Errorf("list audit: %w", err)
	}
	return out, nil
}
