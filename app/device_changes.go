package app

import (
	"context"
	"fmt"
	"log/slog"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/radtrack/radtrack/ingest"
)

// deviceChanges carries device credential changes (rotation, revocation)
// between the nodes of a cluster over a Redis Pub/Sub channel, so that a
// device revoked through one node is refused by every node at once.
// Pub/Sub delivers at most once: a node whose subscription was interrupted
// empties its whole credential cache when it subscribes again, and the
// cache's TTL bounds what any missed message could cost.
type deviceChanges struct {
	rdb     *redis.Client
	channel string
}

func newDeviceChanges(rdb *redis.Client, prefix string) *deviceChanges {
	return &deviceChanges{rdb: rdb, channel: prefix + ":devices"}
}

// PublishDeviceChange implements ingest.Peers.
func (c *deviceChanges) PublishDeviceChange(ctx context.Context, deviceID int64) error {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	if err := c.rdb.Publish(ctx, c.channel, strconv.FormatInt(deviceID, 10)).Err(); err != nil {
		return fmt.Errorf("publish device change: %w", err)
	}
	return nil
}

// follow applies the changes other nodes publish (and this node's own,
// harmlessly) to devices until ctx ends.
func (c *deviceChanges) follow(ctx context.Context, devices *ingest.Devices, log *slog.Logger) {
	sub := c.rdb.Subscribe(ctx, c.channel)
	// Receive blocks in a socket read that ctx does not interrupt; closing
	// the subscription does.
	stop := context.AfterFunc(ctx, func() { sub.Close() })
	defer stop()
	defer sub.Close()
	for {
		msg, err := sub.Receive(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			// go-redis reconnects and subscribes again on the next Receive.
			log.Warn("device change subscription interrupted", "err", err)
			select {
			case <-ctx.Done():
				return
			case <-time.After(time.Second):
			}
			continue
		}
		switch m := msg.(type) {
		case *redis.Subscription:
			// (Re)subscribed: changes made while we were away are lost.
			devices.ForgetAll()
		case *redis.Message:
			id, err := strconv.ParseInt(m.Payload, 10, 64)
			if err != nil {
				log.Warn("ignore malformed device change", "payload", m.Payload)
				continue
			}
			devices.Forget(id)
		}
	}
}
