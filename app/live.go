package app

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/radtrack/radtrack/alarms"
	"github.com/radtrack/radtrack/auth"
	"github.com/radtrack/radtrack/incidents"
	"github.com/radtrack/radtrack/live"
	"github.com/radtrack/radtrack/rules"
	"github.com/radtrack/radtrack/store"
)

// liveParts is the live push of a node: broker (in-process, or Redis
// across nodes), hub, and what follows the cluster's changes through it.
type liveParts struct {
	broker  live.Broker
	redis   *redis.Client // nil without REDIS_URL
	hub     *live.Hub
	cluster *clusterChanges
}

// newBroker picks Redis when configured, the in-process broker otherwise.
func newBroker(cfg Config, log *slog.Logger) (live.Broker, *redis.Client, error) {
	if cfg.RedisURL == "" {
		return live.NewMemoryBroker(100_000), nil, nil
	}
	opt, err := redis.ParseURL(cfg.RedisURL)
	if err != nil {
		return nil, nil, fmt.Errorf("parse REDIS_URL: %w", err)
	}
	// The hub's deadlines (appends, publishes) must bound the socket wait,
	// not only go-redis's 3 s read timeout: a hanging Redis otherwise holds
	// each call that long whatever its context says.
	opt.ContextTimeoutEnabled = true
	rdb := redis.NewClient(opt)
	return live.NewRedisBroker(rdb, live.RedisConfig{Prefix: redisPrefix(cfg), Logger: log}), rdb, nil
}

// redisPrefix is the key and channel prefix shared by a cluster's nodes.
func redisPrefix(cfg Config) string {
	if cfg.RedisPrefix == "" {
		return "radtrack:live"
	}
	return cfg.RedisPrefix
}

// openAlarmsTimeout bounds the database's part of a viewer's snapshot.
const openAlarmsTimeout = 2 * time.Second

// openAlarms renders every open live alarm for a viewer's snapshot: the
// stored ones and those raised while the database was unreachable. With
// the database away, the alarms this node's engine holds stand in, so a
// control room that reconnects during an outage still sees them.
// sees, when not nil, keeps the alarms of the devices the viewer may see
// (their site subtree).
func openAlarms(ctx context.Context, st store.Store, svc *alarms.Service, log *slog.Logger, sees func(int64) bool) ([]json.RawMessage, error) {
	imported := false
	// A control room must not wait on a hanging database for its map:
	// the engine's memory stands in after openAlarmsTimeout.
	lctx, cancel := context.WithTimeout(ctx, openAlarmsTimeout)
	list, err := st.ListAlarms(lctx, store.AlarmFilter{
		States: []rules.State{rules.StateRaised, rules.StateAcknowledged}, Imported: &imported,
	})
	cancel()
	if err != nil {
		log.Warn("open alarms for a snapshot from memory: database unavailable", "err", err)
		list = svc.OpenLive()
	} else {
		list = append(list, svc.Provisional()...)
	}
	if sees != nil {
		list = slices.DeleteFunc(list, func(ep rules.Episode) bool { return !sees(ep.DeviceID) })
	}
	out := make([]json.RawMessage, len(list))
	for i, a := range list {
		if out[i], err = json.Marshal(a); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// openIncidents renders every unresolved live incident for a snapshot.
// With the database away the snapshot carries none (the alarms stand in):
// the map shows their alarms as they come.
// With sees, an incident is in the snapshot as REST shows it
// (incidents.Visible).
func openIncidents(ctx context.Context, st store.Store, log *slog.Logger, sees func(int64) bool) ([]json.RawMessage, error) {
	imported := false
	list, err := st.ListIncidents(ctx, store.IncidentFilter{
		States: []rules.State{rules.StateRaised, rules.StateAcknowledged}, Imported: &imported,
	})
	if err != nil {
		log.Warn("open incidents for a snapshot: database unavailable", "err", err)
		return []json.RawMessage{}, nil
	}
	if sees != nil {
		visible := list[:0]
		for _, inc := range list {
			if inc, ok := incidents.Visible(inc, sees); ok {
				visible = append(visible, inc)
			}
		}
		list = visible
	}
	out := make([]json.RawMessage, len(list))
	for i, inc := range list {
		if out[i], err = json.Marshal(inc); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// ackFromSocket acknowledges an alarm for a viewer, with the same
// permission check and audit entry as the REST route.
func (n *Node) ackFromSocket(ctx context.Context, v live.Viewer, alarmID int64, comment string) error {
	if !auth.Allows(v.Role, auth.RoleOperator) {
		return errors.New("your role may not acknowledge alarms")
	}
	if v.Devices != nil {
		// Outside the viewer's sites the alarm does not exist for them.
		var device int64
		if alarmID > 0 {
			ep, err := n.Store.Alarm(ctx, alarmID)
			if err != nil {
				return err
			}
			device = ep.DeviceID
		} else {
			for _, ep := range n.Alarms.OpenLive() {
				if ep.ID == alarmID {
					device = ep.DeviceID
				}
			}
		}
		if !v.Devices(device) {
			return fmt.Errorf("alarm %d: %w", alarmID, store.ErrNotFound)
		}
	}
	if _, err := n.Alarms.Acknowledge(ctx, alarmID, v.Name, comment); err != nil {
		return err
	}
	uid := v.UserID
	details, _ := json.Marshal(map[string]string{"comment": comment, "via": "websocket"})
	if err := n.Store.AppendAudit(context.WithoutCancel(ctx), store.AuditEntry{
		UserID: &uid, Username: v.Name, Action: "alarm.acknowledge", Target: fmt.Sprintf("alarm/%d", alarmID), Details: details,
	}); err != nil {
		n.log.Error("audit websocket acknowledgement", "err", err)
	}
	return nil
}
