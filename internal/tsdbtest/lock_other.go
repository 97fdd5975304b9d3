//go:build !unix

package tsdbtest

// lockFile is a no-op where flock is unavailable; concurrent first runs may
// then both run "npm ci".
func lockFile(string) (func(), error) { return func() {}, nil }
