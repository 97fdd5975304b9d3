// Package auth holds RadTrack's credentials logic: device tokens now, users
// and roles later. No I/O.
package auth

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
)

// tokenPrefix marks RadTrack device tokens so they are recognisable in logs
// and secret scanners.
const tokenPrefix = "rtd_"

// NewDeviceToken returns a fresh random device token and the hash to store.
// 256 random bits make a fast hash safe: there is nothing to brute-force.
func NewDeviceToken() (token string, hash []byte, err error) {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", nil, fmt.Errorf("read random token: %w", err)
	}
	token = tokenPrefix + base64.RawURLEncoding.EncodeToString(b[:])
	return token, HashToken(token), nil
}

// HashToken is the stored form of a token.
func HashToken(token string) []byte {
	h := sha256.Sum256([]byte(token))
	return h[:]
}
