package app

import (
	"context"
	"time"

	"github.com/radtrack/radtrack/internal/snapshot"
	"github.com/radtrack/radtrack/live"
)

// snapshotTimeout bounds taking one snapshot.
const snapshotTimeout = 30 * time.Second

// runSnapshots keeps the local snapshot current: at once, after every
// change the node hears of, and every SnapshotEvery, while the database
// answers. A node that started degraded first migrates the database when
// it answers again.
func (n *Node) runSnapshots(ctx context.Context) {
	every := n.cfg.SnapshotEvery
	if every <= 0 {
		every = time.Minute
	}
	t := time.NewTicker(every)
	defer t.Stop()
	failing := false
	for {
		if err := n.refreshSnapshot(ctx); err != nil && ctx.Err() == nil {
			if !failing {
				n.log.Warn("local snapshot not refreshed: database unavailable; the last one stays in use", "err", err)
			}
			failing = true
		} else if err == nil {
			failing = false
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-n.snapshotNow:
		}
	}
}

func (n *Node) refreshSnapshot(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, snapshotTimeout)
	defer cancel()
	if n.degraded.Load() {
		if err := n.PG.Migrate(ctx, n.cfg.DB); err != nil {
			return err
		}
		n.degraded.Store(false)
		n.log.Warn("database answers again: migrated; leaving degraded mode")
	}
	s, err := snapshot.Take(ctx, n.snapshots.Store, n.PG.Pool(), n.PG.Timescale(), time.Now())
	if err != nil {
		return err
	}
	if err := snapshot.Write(n.snapshotPath, s); err != nil {
		n.log.Error("write local snapshot", "path", n.snapshotPath, "err", err)
		return err
	}
	n.snapshots.Use(s)
	return nil
}

// snapshotChanged reacts to a change notice: a device whose credentials
// changed is no longer answered from the snapshot, and a fresh snapshot
// is taken soon.
func (n *Node) snapshotChanged(c live.Change) {
	if n.snapshots == nil {
		return
	}
	if c.Kind == live.ChangeDevice {
		n.snapshots.ForgetDevice(c.ID)
	}
	select {
	case n.snapshotNow <- struct{}{}:
	default:
	}
}
