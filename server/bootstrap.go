package server

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"fmt"

	"github.com/radtrack/radtrack/auth"
	"github.com/radtrack/radtrack/store"
)

// EnsureAdmin creates the first admin when the store has no user at all,
// with a random password that the caller prints once. It returns
// created=false when users exist.
func EnsureAdmin(ctx context.Context, st store.Users, username string, bcryptCost int) (password string, created bool, err error) {
	n, err := st.CountUsers(ctx)
	if err != nil || n > 0 {
		return "", false, err
	}
	var b [15]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", false, fmt.Errorf("generate admin password: %w", err)
	}
	password = base64.RawURLEncoding.EncodeToString(b[:])
	hash, err := auth.HashPassword(password, bcryptCost)
	if err != nil {
		return "", false, err
	}
	if _, err := st.CreateUser(ctx, store.User{Username: username, Role: auth.RoleAdmin, PasswordHash: hash}); err != nil {
		return "", false, fmt.Errorf("create first admin: %w", err)
	}
	if err := st.AppendAudit(ctx, store.AuditEntry{Action: "user.create", Target: "user/" + username, Details: []byte(`{"role":"admin","bootstrap":true}`)}); err != nil {
		return "", false, err
	}
	return password, true, nil
}
