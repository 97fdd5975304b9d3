package ingest

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/radtrack/radtrack/auth"
	"github.com/radtrack/radtrack/store"
)

// Device authentication errors. Listeners map them to their protocol's
// answers (HTTP 401/404, a closed TCP session).
var (
	ErrUnknownDevice = errors.New("unknown device")
	ErrBadCredential = errors.New("wrong or missing device credential")
	ErrRevoked       = errors.New("device revoked")
)

// Devices authenticates reporting devices for every listener. It caches
// lookups for a short time so that a vehicle posting every second does not
// cost a database query per request. A rotation or revocation goes through
// Changed, which forgets the device here and tells the other nodes of the
// cluster (Peers) to forget it too, so it takes effect at once everywhere;
// a node that missed the message (its link to the bus was down) honours it
// within the TTL. While the database is unreachable, expired entries keep
// being used, so known vehicles go on reporting into the spool.
type Devices struct {
	store store.Devices
	ttl   time.Duration
	now   func() time.Time
	peers Peers // nil: a single node

	mu      sync.Mutex
	byToken map[string]cachedDevice // key: token hash
	byUID   map[string]cachedDevice
}

type cachedDevice struct {
	dev     store.Device
	expires time.Time
}

// maxCachedDevices bounds each cache map; when full it is emptied, which
// costs one lookup per active device and cannot grow memory.
const maxCachedDevices = 100_000

// NewDevices returns an authenticator; ttl 0 disables caching.
func NewDevices(st store.Devices, ttl time.Duration) *Devices {
	return &Devices{store: st, ttl: ttl, now: time.Now, byToken: map[string]cachedDevice{}, byUID: map[string]cachedDevice{}}
}

// ByToken returns the active device owning a bearer token.
func (d *Devices) ByToken(ctx context.Context, token string) (store.Device, error) {
	if token == "" {
		return store.Device{}, ErrBadCredential
	}
	hash := auth.HashToken(token)
	dev, err := d.cached(ctx, d.byToken, string(hash), func(ctx context.Context) (store.Device, error) {
		return d.store.DeviceByTokenHash(ctx, hash)
	})
	if errors.Is(err, store.ErrNotFound) {
		return dev, ErrBadCredential
	}
	return active(dev, err)
}

// ByUIDAndKey authenticates a protocol that names the device by its own id
// (OsmAnd, bGeigie) and presents its token as a key. A device an admin has
// marked legacy-id-only needs no key.
func (d *Devices) ByUIDAndKey(ctx context.Context, uid, key string) (store.Device, error) {
	if key != "" {
		dev, err := d.ByToken(ctx, key)
		if err != nil {
			return dev, err
		}
		if subtle.ConstantTimeCompare([]byte(dev.UID), []byte(uid)) != 1 {
			return store.Device{}, fmt.Errorf("key belongs to another device: %w", ErrBadCredential)
		}
		return dev, nil
	}
	dev, err := d.ByUID(ctx, uid)
	if err != nil {
		return dev, err
	}
	if !dev.LegacyIDOnly {
		return store.Device{}, ErrBadCredential
	}
	return dev, nil
}

// ByUID returns an active device by its own id, without checking any
// credential: for callers that authenticated otherwise (a gateway user).
func (d *Devices) ByUID(ctx context.Context, uid string) (store.Device, error) {
	dev, err := d.cached(ctx, d.byUID, uid, func(ctx context.Context) (store.Device, error) {
		return d.store.DeviceByUID(ctx, uid)
	})
	if errors.Is(err, store.ErrNotFound) {
		return dev, ErrUnknownDevice
	}
	return active(dev, err)
}

// Peers carries credential changes to the other nodes of a cluster.
type Peers interface {
	PublishDeviceChange(ctx context.Context, deviceID int64) error
}

// SetPeers connects the cache to the other nodes (before it is used).
func (d *Devices) SetPeers(p Peers) { d.peers = p }

// Changed is called after a device's credentials or calibration changed
// (rotation, revocation, edit): the device is forgotten on this node at
// once and on the others as soon as they hear of it. A failure to tell
// them is returned for logging; the change itself is stored already.
func (d *Devices) Changed(ctx context.Context, deviceID int64) error {
	d.Forget(deviceID)
	if d.peers == nil {
		return nil
	}
	if err := d.peers.PublishDeviceChange(ctx, deviceID); err != nil {
		return fmt.Errorf("tell other nodes that device %d changed (they follow within %s): %w", deviceID, d.ttl, err)
	}
	return nil
}

// ForgetAll empties the cache: a node that may have missed change messages
// (its link to the other nodes was down) looks every device up again.
func (d *Devices) ForgetAll() {
	d.mu.Lock()
	defer d.mu.Unlock()
	clear(d.byToken)
	clear(d.byUID)
}

// Forget drops every cached entry of a device (after rotation, revocation
// or an edit of its calibration) on this node.
func (d *Devices) Forget(deviceID int64) {
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, m := range []map[string]cachedDevice{d.byToken, d.byUID} {
		for k, e := range m {
			if e.dev.ID == deviceID {
				delete(m, k)
			}
		}
	}
}

func active(dev store.Device, err error) (store.Device, error) {
	if err != nil {
		return store.Device{}, err
	}
	if !dev.Active() {
		return store.Device{}, ErrRevoked
	}
	return dev, nil
}

// cached looks key up in m, calling load on a miss or expiry. Misses are not
// cached, so a device registered a moment ago works at once.
func (d *Devices) cached(ctx context.Context, m map[string]cachedDevice, key string, load func(context.Context) (store.Device, error)) (store.Device, error) {
	if d.ttl <= 0 {
		return load(ctx)
	}
	now := d.now()
	d.mu.Lock()
	e, ok := m[key]
	d.mu.Unlock()
	if ok && now.Before(e.expires) {
		return e.dev, nil
	}
	dev, err := load(ctx)
	if err != nil {
		if ok && !errors.Is(err, store.ErrNotFound) {
			// The database cannot answer: a device seen a moment ago keeps
			// reporting (its samples are spooled), rather than every vehicle
			// being refused for the length of the outage.
			return e.dev, nil
		}
		return dev, err
	}
	d.mu.Lock()
	if len(m) >= maxCachedDevices {
		clear(m)
	}
	m[key] = cachedDevice{dev: dev, expires: now.Add(d.ttl)}
	d.mu.Unlock()
	return dev, nil
}
