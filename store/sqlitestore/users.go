package sqlitestore

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"time"

	"github.com/radtrack/radtrack/store"
)

const userColumns = `u.id, u.username, u.role, u.password_hash, u.disabled_at, u.created_at, u.updated_at, u.site_id`

// userReturning is userColumns for RETURNING, which SQLite does not let
// name the table's alias.
const userReturning = `id, username, role, password_hash, disabled_at, created_at, updated_at, site_id`

func scanUser(row scanner) (store.User, error) {
	var (
		u                store.User
		disabled         sql.NullInt64
		created, updated int64
	)
	if err := row.Scan(&u.ID, &u.Username, &u.Role, &u.PasswordHash, &disabled, &created, &updated, &u.SiteID); err != nil {
		return u, err
	}
	u.DisabledAt, u.CreatedAt, u.UpdatedAt = timePtr(disabled), fromMicros(created), fromMicros(updated)
	return u, nil
}

// CreateUser stores a new user.
func (s *Store) CreateUser(ctx context.Context, u store.User) (store.User, error) {
	now := micros(time.Now())
	created, err := scanUser(s.w.QueryRowContext(ctx, `INSERT INTO users (username, password_hash, role, created_at, updated_at, site_id)
		VALUES (?, ?, ?, ?, ?, ?) RETURNING `+userReturning, u.Username, u.PasswordHash, u.Role, now, now, siteOrRoot(u.SiteID)))
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
	u, err := scanUser(s.r.QueryRowContext(ctx, `SELECT `+userColumns+` FROM users u WHERE u.username = ?`, username))
	if err != nil {
		return store.User{}, fmt.Errorf("user %q: %w", username, notFound(err))
	}
	return u, nil
}

// UserByID finds a user by id.
func (s *Store) UserByID(ctx context.Context, id int64) (store.User, error) {
	u, err := scanUser(s.r.QueryRowContext(ctx, `SELECT `+userColumns+` FROM users u WHERE u.id = ?`, id))
	if err != nil {
		return store.User{}, fmt.Errorf("user %d: %w", id, notFound(err))
	}
	return u, nil
}

// ListUsers returns every user, oldest first.
func (s *Store) ListUsers(ctx context.Context) ([]store.User, error) {
	users, err := queryAll(ctx, s.r, scanUser, `SELECT `+userColumns+` FROM users u ORDER BY u.id`)
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
	var u store.User
	now := micros(time.Now())
	err := s.writeTx(ctx, fmt.Sprintf("update user %d", id), func(tx *sql.Tx) error {
		var err error
		u, err = scanUser(tx.QueryRowContext(ctx, `UPDATE users SET
				role = COALESCE(?2, role),
				password_hash = COALESCE(?3, password_hash),
				disabled_at = CASE WHEN ?4 IS NULL THEN disabled_at
				                   WHEN ?4 THEN COALESCE(disabled_at, ?5) ELSE NULL END,
				updated_at = ?5
			WHERE id = ?1 RETURNING `+userReturning, id, up.Role, up.PasswordHash, disabled, now))
		if err != nil {
			return fmt.Errorf("update user %d: %w", id, notFound(err))
		}
		ends := up.Ends()
		if ends.Sessions {
			if _, err := tx.ExecContext(ctx, `DELETE FROM sessions WHERE user_id = ?`, id); err != nil {
				return fmt.Errorf("end sessions of user %d: %w", id, err)
			}
		}
		if ends.AllTokens || len(ends.TokenRoles) > 0 {
			roles, _ := json.Marshal(ends.TokenRoles)
			if _, err := tx.ExecContext(ctx, `UPDATE api_tokens SET revoked_at = ?2
				WHERE user_id = ?1 AND revoked_at IS NULL AND (?3 OR role IN (SELECT value FROM json_each(?4)))`,
				id, now, ends.AllTokens, string(roles)); err != nil {
				return fmt.Errorf("revoke API tokens of user %d: %w", id, err)
			}
		}
		return nil
	})
	if err != nil {
		return store.User{}, err
	}
	return u, nil
}

// CountUsers returns how many users exist.
func (s *Store) CountUsers(ctx context.Context) (int, error) {
	var n int
	if err := s.r.QueryRowContext(ctx, `SELECT count(*) FROM users`).Scan(&n); err != nil {
		return 0, fmt.Errorf("count users: %w", err)
	}
	return n, nil
}

// CreateSession stores a login session.
func (s *Store) CreateSession(ctx context.Context, tokenHash []byte, userID int64, expires time.Time) error {
	now := micros(time.Now())
	return s.writeTx(ctx, fmt.Sprintf("create session for user %d", userID), func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO sessions (token_hash, user_id, created_at, expires_at) VALUES (?, ?, ?, ?)`,
			tokenHash, userID, now, micros(expires)); err != nil {
			return fmt.Errorf("create session for user %d: %w", userID, err)
		}
		// Expired sessions are swept opportunistically: logins are rare.
		if _, err := tx.ExecContext(ctx, `DELETE FROM sessions WHERE expires_at < ?`, now); err != nil {
			return fmt.Errorf("sweep sessions: %w", err)
		}
		return nil
	})
}

// SessionUser returns the user of an unexpired session.
func (s *Store) SessionUser(ctx context.Context, tokenHash []byte, now time.Time) (store.User, error) {
	u, err := scanUser(s.r.QueryRowContext(ctx, `SELECT `+userColumns+` FROM sessions s JOIN users u ON u.id = s.user_id
		WHERE s.token_hash = ? AND s.expires_at > ?`, tokenHash, micros(now)))
	if err != nil {
		return store.User{}, fmt.Errorf("session: %w", notFound(err))
	}
	return u, nil
}

// DeleteSession ends a session (logout).
func (s *Store) DeleteSession(ctx context.Context, tokenHash []byte) error {
	if _, err := s.w.ExecContext(ctx, `DELETE FROM sessions WHERE token_hash = ?`, tokenHash); err != nil {
		return fmt.Errorf("delete session: %w", err)
	}
	return nil
}

const tokenColumns = `t.id, t.user_id, u.username, t.name, t.role, t.created_at, t.expires_at, t.last_used_at, t.revoked_at, t.token_hash`

func scanToken(row scanner) (store.APIToken, error) {
	t, _, err := scanTokenAndUser(row, false)
	return t, err
}

// scanTokenAndUser scans tokenColumns, then userColumns if withUser.
func scanTokenAndUser(row scanner, withUser bool) (store.APIToken, store.User, error) {
	var (
		t                          store.APIToken
		created                    int64
		expires, lastUsed, revoked sql.NullInt64
		u                          store.User
		disabled                   sql.NullInt64
		uCreated, uUpdated         int64
	)
	dest := []any{&t.ID, &t.UserID, &t.Username, &t.Name, &t.Role, &created, &expires, &lastUsed, &revoked, &t.Hash}
	if withUser {
		dest = append(dest, &u.ID, &u.Username, &u.Role, &u.PasswordHash, &disabled, &uCreated, &uUpdated, &u.SiteID)
	}
	if err := row.Scan(dest...); err != nil {
		return t, u, err
	}
	t.CreatedAt, t.ExpiresAt, t.LastUsedAt, t.RevokedAt = fromMicros(created), timePtr(expires), timePtr(lastUsed), timePtr(revoked)
	if withUser {
		u.DisabledAt, u.CreatedAt, u.UpdatedAt = timePtr(disabled), fromMicros(uCreated), fromMicros(uUpdated)
	}
	return t, u, nil
}

// CreateAPIToken stores a token with its user's current role and no expiry.
func (s *Store) CreateAPIToken(ctx context.Context, userID int64, name string, tokenHash []byte) (int64, error) {
	t, err := s.IssueAPIToken(ctx, store.APIToken{UserID: userID, Name: name, Hash: tokenHash})
	return t.ID, err
}

// IssueAPIToken stores a token; an empty role is the user's current role.
func (s *Store) IssueAPIToken(ctx context.Context, t store.APIToken) (store.APIToken, error) {
	var created store.APIToken
	err := s.writeTx(ctx, fmt.Sprintf("create API token for user %d", t.UserID), func(tx *sql.Tx) error {
		var id int64
		err := tx.QueryRowContext(ctx, `INSERT INTO api_tokens (user_id, name, token_hash, role, expires_at, created_at)
			SELECT u.id, ?2, ?3, COALESCE(NULLIF(?4, ''), u.role), ?5, ?6 FROM users u WHERE u.id = ?1 RETURNING id`,
			t.UserID, t.Name, t.Hash, t.Role, nullTimePtr(t.ExpiresAt), micros(time.Now())).Scan(&id)
		if err != nil {
			return fmt.Errorf("create API token for user %d: %w", t.UserID, notFound(err))
		}
		created, err = scanToken(tx.QueryRowContext(ctx, `SELECT `+tokenColumns+` FROM api_tokens t JOIN users u ON u.id = t.user_id WHERE t.id = ?`, id))
		return err
	})
	if err != nil {
		return store.APIToken{}, err
	}
	return created, nil
}

// APITokenByHash returns a token (revoked and expired ones included) and
// its user.
func (s *Store) APITokenByHash(ctx context.Context, tokenHash []byte) (store.APIToken, store.User, error) {
	t, u, err := scanTokenAndUser(s.r.QueryRowContext(ctx, `SELECT `+tokenColumns+`, `+userColumns+`
		FROM api_tokens t JOIN users u ON u.id = t.user_id WHERE t.token_hash = ?`, tokenHash), true)
	if err != nil {
		return store.APIToken{}, store.User{}, fmt.Errorf("API token: %w", notFound(err))
	}
	return t, u, nil
}

// APITokenByID returns a token, revoked and expired ones included.
func (s *Store) APITokenByID(ctx context.Context, id int64) (store.APIToken, error) {
	t, err := scanToken(s.r.QueryRowContext(ctx, `SELECT `+tokenColumns+` FROM api_tokens t JOIN users u ON u.id = t.user_id WHERE t.id = ?`, id))
	if err != nil {
		return store.APIToken{}, fmt.Errorf("API token %d: %w", id, notFound(err))
	}
	return t, nil
}

// ListAPITokens returns tokens, newest first.
func (s *Store) ListAPITokens(ctx context.Context, f store.APITokenFilter) ([]store.APIToken, error) {
	out, err := queryAll(ctx, s.r, scanToken, `SELECT `+tokenColumns+` FROM api_tokens t JOIN users u ON u.id = t.user_id
		WHERE (?1 = 0 OR t.user_id = ?1) AND (?2 OR t.revoked_at IS NULL) ORDER BY t.id DESC`, f.UserID, f.IncludeRevoked)
	if err != nil {
		return nil, fmt.Errorf("list API tokens: %w", err)
	}
	return out, nil
}

// RevokeAPIToken revokes a token; a second revocation keeps the first time.
func (s *Store) RevokeAPIToken(ctx context.Context, id int64, at time.Time) (store.APIToken, error) {
	var t store.APIToken
	err := s.writeTx(ctx, fmt.Sprintf("revoke API token %d", id), func(tx *sql.Tx) error {
		if err := rowsAffected(tx.ExecContext(ctx, `UPDATE api_tokens SET revoked_at = COALESCE(revoked_at, ?2) WHERE id = ?1`, id, micros(at))); err != nil {
			return fmt.Errorf("revoke API token %d: %w", id, err)
		}
		var err error
		t, err = scanToken(tx.QueryRowContext(ctx, `SELECT `+tokenColumns+` FROM api_tokens t JOIN users u ON u.id = t.user_id WHERE t.id = ?`, id))
		return err
	})
	if err != nil {
		return store.APIToken{}, err
	}
	return t, nil
}

// TouchAPIToken records a use of the token.
func (s *Store) TouchAPIToken(ctx context.Context, id int64, at time.Time) error {
	if _, err := s.w.ExecContext(ctx, `UPDATE api_tokens SET last_used_at = ?2
		WHERE id = ?1 AND (last_used_at IS NULL OR last_used_at < ?2)`, id, micros(at)); err != nil {
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
	if _, err := s.w.ExecContext(ctx, `INSERT INTO audit_log (time, user_id, username, action, target, details) VALUES (?, ?, ?, ?, ?, ?)`,
		micros(time.Now()), e.UserID, e.Username, e.Action, e.Target, jsonText(e.Details)); err != nil {
		return fmt.Errorf("append audit %s: %w", e.Action, err)
	}
	return nil
}

// ListAudit returns the newest audit entries first.
func (s *Store) ListAudit(ctx context.Context, limit int) ([]store.AuditEntry, error) {
	if limit <= 0 || limit > 10_000 {
		limit = 10_000
	}
	out, err := queryAll(ctx, s.r, func(row scanner) (store.AuditEntry, error) {
		var (
			e       store.AuditEntry
			t       int64
			details sql.NullString
		)
		err := row.Scan(&e.ID, &t, &e.UserID, &e.Username, &e.Action, &e.Target, &details)
		e.Time, e.Details = fromMicros(t), rawJSON(details)
		return e, err
	}, `SELECT id, time, user_id, username, action, target, details FROM audit_log ORDER BY id DESC LIMIT ?`, limit)
	if err != nil {
		return nil, fmt.Errorf("list audit: %w", err)
	}
	return out, nil
}
