package server

import (
	"context"
	"sync"
	"time"

	"github.com/radtrack/radtrack/store"
)

// deviceCache remembers token → device for a short time so that a vehicle
// posting every second does not cost a database lookup per request. A
// revocation or rotation made through this server drops the entry at once;
// one made elsewhere takes effect within the TTL.
type deviceCache struct {
	ttl     time.Duration
	lookup  func(ctx context.Context, tokenHash []byte) (store.Device, error)
	now     func() time.Time
	mu      sync.Mutex
	entries map[string]cachedDevice
}

type cachedDevice struct {
	dev     store.Device
	expires time.Time
}

// maxCachedDevices bounds the cache; when full it is simply emptied, which
// costs one lookup per active device and cannot grow memory.
const maxCachedDevices = 100_000

func newDeviceCache(ttl time.Duration, lookup func(context.Context, []byte) (store.Device, error)) *deviceCache {
	return &deviceCache{ttl: ttl, lookup: lookup, now: time.Now, entries: map[string]cachedDevice{}}
}

// get returns the device owning tokenHash. Unknown tokens are not cached,
// so a device registered a moment ago works at once.
func (c *deviceCache) get(ctx context.Context, tokenHash []byte) (store.Device, error) {
	if c.ttl <= 0 {
		return c.lookup(ctx, tokenHash)
	}
	key := string(tokenHash)
	now := c.now()
	c.mu.Lock()
	e, ok := c.entries[key]
	c.mu.Unlock()
	if ok && now.Before(e.expires) {
		return e.dev, nil
	}
	dev, err := c.lookup(ctx, tokenHash)
	if err != nil {
		return dev, err
	}
	c.mu.Lock()
	if len(c.entries) >= maxCachedDevices {
		clear(c.entries)
	}
	c.entries[key] = cachedDevice{dev: dev, expires: now.Add(c.ttl)}
	c.mu.Unlock()
	return dev, nil
}

// forget drops every cached token of a device.
func (c *deviceCache) forget(deviceID int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for k, e := range c.entries {
		if e.dev.ID == deviceID {
			delete(c.entries, k)
		}
	}
}
