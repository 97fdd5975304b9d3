package ratelimit

import "sync"

// Conns caps how many connections one key (a client IP) holds open at
// once, so a single host cannot take every socket (file descriptor) of a
// listener. Memory is bounded by the open connections themselves: a key
// is dropped when its last connection closes.
type Conns struct {
	max int

	mu   sync.Mutex
	open map[string]int
}

// NewConns returns a counter allowing max connections per key; max <= 0
// allows any number (and still counts, for Open).
func NewConns(max int) *Conns {
	return &Conns{max: max, open: map[string]int{}}
}

// Acquire takes a connection slot for key, or reports false when key
// already holds the maximum. Every true must be paired with one Release.
func (c *Conns) Acquire(key string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.max > 0 && c.open[key] >= c.max {
		return false
	}
	c.open[key]++
	return true
}

// Release gives back a slot taken by Acquire.
func (c *Conns) Release(key string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if n := c.open[key]; n > 1 {
		c.open[key] = n - 1
	} else {
		delete(c.open, key)
	}
}

// Open returns how many connections key holds.
func (c *Conns) Open(key string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.open[key]
}
