package app

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/radtrack/radtrack/alarms"
	"github.com/radtrack/radtrack/ingest"
	"github.com/radtrack/radtrack/live"
	"github.com/radtrack/radtrack/server"
	"github.com/radtrack/radtrack/store"
)

// clusterChanges keeps what a node caches from the database in step with
// changes made through any node: device credentials (rotation,
// revocation), fences and rules, and user credentials (logouts and API
// token revocations, which must hold on every node even while the
// database is away). A change is announced through the live
// hub (a Redis channel across nodes) and applied where the notice arrives,
// at once. Notices come at most once, so a node whose subscription was
// interrupted drops its whole credential cache and rechecks the config
// version, and every node checks the version every few seconds anyway: a
// missed fence or rule change costs at most that long; a missed device
// change at most the credential cache's TTL.
type clusterChanges struct {
	hub     *live.Hub
	store   store.Store
	alarms  *alarms.Service
	devices *ingest.Devices
	log     *slog.Logger
	every   time.Duration // config version check period
	check   chan struct{} // cap 1: check the config version now
	// server applies revoked user credentials; set once the API server
	// exists (notices that arrive before it are covered by its start-up,
	// which trusts nothing it has not looked up).
	server atomic.Pointer[server.Server]

	applied int64 // config version of the fences and rules in force; watchConfig only
}

func newClusterChanges(hub *live.Hub, every time.Duration, log *slog.Logger) *clusterChanges {
	if every <= 0 {
		every = 5 * time.Second
	}
	return &clusterChanges{hub: hub, every: every, log: log, check: make(chan struct{}, 1)}
}

// PublishDeviceChange implements ingest.Peers.
func (c *clusterChanges) PublishDeviceChange(ctx context.Context, deviceID int64) error {
	return c.hub.PublishChange(ctx, live.Change{Kind: live.ChangeDevice, ID: deviceID})
}

// PublishCredentialRevoked implements server.CredentialPeers.
func (c *clusterChanges) PublishCredentialRevoked(ctx context.Context, m server.CredentialRevoked) error {
	data, err := json.Marshal(m)
	if err != nil {
		return fmt.Errorf("encode credential revocation: %w", err)
	}
	return c.hub.PublishChange(ctx, live.Change{Kind: live.ChangeCredential, Data: data})
}

// onChange applies a notice (the hub's OnChange; it must not block).
func (c *clusterChanges) onChange(ch live.Change) {
	switch ch.Kind {
	case live.ChangeDevice:
		c.devices.Forget(ch.ID)
		if srv := c.server.Load(); srv != nil {
			srv.SitesChanged() // the device may have moved to another site
		}
	case live.ChangeConfig:
		c.checkSoon()
	case live.ChangeCredential:
		var m server.CredentialRevoked
		if err := json.Unmarshal(ch.Data, &m); err != nil {
			c.log.Warn("skip malformed credential revocation notice", "err", err)
			return
		}
		if srv := c.server.Load(); srv != nil {
			// Forgetting journals the revocation (an fsync): off the
			// hub's delivery goroutine.
			go func() {
				if err := srv.ForgetCredential(m); err != nil {
					c.log.Error("journal a credential revoked on another node", "err", err)
				}
			}()
		}
	}
}

// onResync: notices may have been lost (the hub's OnResync).
func (c *clusterChanges) onResync() {
	c.devices.ForgetAll()
	if srv := c.server.Load(); srv != nil {
		// A missed logout must not be honoured from memory.
		srv.ForgetAllCredentials()
	}
	c.checkSoon()
}

func (c *clusterChanges) checkSoon() {
	select {
	case c.check <- struct{}{}:
	default:
	}
}

// watchConfig reloads fences and rules whenever the config version moved,
// checking when told and every c.every, until ctx ends.
func (c *clusterChanges) watchConfig(ctx context.Context) {
	t := time.NewTicker(c.every)
	defer t.Stop()
	failing := false
	for {
		if err := c.checkConfig(ctx); err != nil && ctx.Err() == nil {
			if !failing {
				c.log.Warn("cannot check fences and rules for changes made through other nodes; retrying", "every", c.every, "err", err)
			}
			failing = true
		} else {
			failing = false
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-c.check:
		}
	}
}

// checkConfig reads the version before reloading: a change committed
// meanwhile is then in the reload, or moves the version again.
func (c *clusterChanges) checkConfig(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	v, err := c.store.ConfigVersion(ctx)
	if err != nil || v == c.applied {
		return err
	}
	if err := c.alarms.ReloadFences(ctx); err != nil {
		return err
	}
	if err := c.alarms.ReloadRules(ctx); err != nil {
		return err
	}
	if c.applied != 0 {
		c.log.Info("fences and rules reloaded", "config_version", v)
	}
	c.applied = v
	return nil
}
