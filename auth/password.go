package auth

import (
	"errors"
	"fmt"

	"golang.org/x/crypto/bcrypt"
)

// Roles, from least to most allowed. Each role may do everything the ones
// before it may.
const (
	RoleViewer   = "viewer"   // sees the map, vehicles and alarms
	RoleOperator = "operator" // also acknowledges/resolves alarms, edits fences and rules
	RoleAdmin    = "admin"    // also manages devices and users
)

var roleRank = map[string]int{RoleViewer: 1, RoleOperator: 2, RoleAdmin: 3}

// ValidRole reports whether role is one of the three roles.
func ValidRole(role string) bool { return roleRank[role] > 0 }

// Allows reports whether a user with role may act as need.
func Allows(role, need string) bool { return roleRank[role] > 0 && roleRank[role] >= roleRank[need] }

// Lower returns the less allowed of two roles, "" if either is not a role.
func Lower(a, b string) string {
	if !ValidRole(a) || !ValidRole(b) {
		return ""
	}
	if roleRank[a] <= roleRank[b] {
		return a
	}
	return b
}

// RolesAbove lists the roles allowed more than role, least first (all of
// them if role is not a role).
func RolesAbove(role string) []string {
	var out []string
	for _, r := range []string{RoleViewer, RoleOperator, RoleAdmin} {
		if roleRank[r] > roleRank[role] {
			out = append(out, r)
		}
	}
	return out
}

// MinPasswordLength is the shortest password accepted.
const MinPasswordLength = 10

// DefaultBcryptCost is bcrypt's cost for new passwords (~50–100 ms here).
const DefaultBcryptCost = 11

// HashPassword returns the bcrypt hash of a new password.
func HashPassword(password string, cost int) (string, error) {
	if len(password) < MinPasswordLength {
		return "", fmt.Errorf("password must have at least %d characters", MinPasswordLength)
	}
	if len(password) > 72 {
		return "", errors.New("password must have at most 72 bytes (bcrypt's limit)")
	}
	h, err := bcrypt.GenerateFromPassword([]byte(password), cost)
	if err != nil {
		return "", fmt.Errorf("hash password: %w", err)
	}
	return string(h), nil
}

// CheckPassword reports whether password matches the stored hash.
func CheckPassword(hash, password string) bool {
	return bcrypt.CompareHashAndPassword([]byte(hash), []byte(password)) == nil
}
