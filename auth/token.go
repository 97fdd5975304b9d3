// Package auth holds RadTrack's credential logic: tokens, password hashing
// and roles. No I/O.
package auth

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
)

// Token prefixes make each kind recognisable in logs and secret scanners.
const (
	DeviceTokenPrefix  = "rtd_"
	APITokenPrefix     = "rtu_"
	SessionTokenPrefix = "rts_"
)

// NewDeviceToken returns a fresh random device token and the hash to store.
func NewDeviceToken() (token string, hash []byte, err error) { return newToken(DeviceTokenPrefix) }

// NewAPIToken returns a fresh user API token (for integrations).
func NewAPIToken() (token string, hash []byte, err error) { return newToken(APITokenPrefix) }

// NewSessionToken returns a fresh browser session token.
func NewSessionToken() (token string, hash []byte, err error) { return newToken(SessionTokenPrefix) }

// newToken makes a random 256-bit token. That much entropy makes a fast
// hash safe for storage: there is nothing to brute-force.
func newToken(prefix string) (token string, hash []byte, err error) {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", nil, fmt.Errorf("read random token: %w", err)
	}
	token = prefix + base64.RawURLEncoding.EncodeToString(b[:])
	return token, HashToken(token), nil
}

// HashToken is the stored form of a token.
func HashToken(token string) []byte {
	h := sha256.Sum256([]byte(token))
	return h[:]
}
