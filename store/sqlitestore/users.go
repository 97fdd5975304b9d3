package sqlitestore

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/radtrack/radtrack/store"
)

const userColumns = `u.id, u.username, u.role, u.password_hash, u.disabled_at, u.created_at, u.updated_at`

// userReturning is userColumns for RETURNING, which SQLite does not let
// name the table's alias.
const userReturning = `id, username, role, password_hash, disabled_at, created_at, updated_at`

func scanUser(row scanner) (store.User, error) {
	var (
		u                store.User
		disabled         sql.NullInt64
		created, updated int64
	)
	if err := row.Scan(&u.ID, &u.Username, &u.Role, &u.PasswordHash, &disabled, &created, &updated); err != nil {
		return u, err
	}
	u.DisabledAt, u.CreatedAt, u.UpdatedAt = timePtr(disabled), fromMicros(created), fromMicros(updated)
	return u, nil
}

// CreateUser stores a new user.
func (s *Store) CreateUser(ctx context.Context, u store.User) (store.User, error) {
	now := micros(time.Now())
	created, err := scanUser(s.w.QueryRowContext(ctx, `INSERT INTO users (username, password_hash, role, created_at, updated_at)
		VALUES (?, ?, ?, ?, ?) RETURNING `+userReturning, u.Username, u.PasswordHash, u.Role, now, now))
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

// UpdateUser changes role, password or disabled state. Disabling a user or
// changing the password ends the user's sessions.
func (s *Store) UpdateUser(ctx context.Context, id int64, up store.UserUpdate) (store.User, error) {
	var disabled any
	if up.Disabled != nil {
		disabled = *up.Disabled
	}
	var u store.User
	err := s.writeTx(ctx, fmt.Sprintf("update user %d", id), func(tx *sql.Tx) error {
		var err error
		u, err = scanUser(tx.QueryRowContext(ctx, `UPDATE users SET
				role = COALESCE(?2, role),
				password_hash = COALESCE(?3, password_hash),
				disabled_at = CASE WHEN ?4 IS NULL THEN disabled_at
				                   WHEN ?4 THEN COALESCE(disabled_at, ?5) ELSE NULL END,
				updated_at = ?5
			WHERE id = ?1 RETURNING `+userReturning, id, up.Role, up.PasswordHash, disabled, micros(time.Now())))
		if err != nil {
			return fmt.Errorf("update user %d: %w", id, notFound(err))
		}
		if up.PasswordHash != nil || (up.Disabled != nil && *up.Disabled) {
			if _, err := tx.ExecContext(ctx, `DELETE FROM sessions WHERE user_id = ?`, id); err != nil {
				return fmt.Errorf("end sessions of user %d: %w", id, err)
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

// CreateAPIToken stores a user's API token.
func (s *Store) CreateAPIToken(ctx context.Context, userID int64, name string, tokenHash []byte) (int64, error) {
	var id int64
	if err := s.w.QueryRowContext(ctx, `INSERT INTO api_tokens (user_id, name, token_hash, created_at) VALUES (?, ?, ?, ?) RETURNING id`,
		userID, name, tokenHash, micros(time.Now())).Scan(&id); err != nil {
		return 0, fmt.Errorf("create API token for user %d: %w", userID, err)
	}
	return id, nil
}

// APITokenUser returns the user of an unrevoked API token.
func (s *Store) APITokenUser(ctx context.Context, tokenHash []byte) (store.User, error) {
	u, err := scanUser(s.r.QueryRowContext(ctx, `SELECT `+userColumns+` FROM api_tokens t JOIN users u ON u.id = t.user_id
		WHERE t.token_hash = ? AND t.revoked_at IS NULL`, tokenHash))
	if err != nil {
		return store.User{}, fmt.Errorf("API token: %w", notFound(err))
	}
	return u, nil
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
