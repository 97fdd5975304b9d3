package app

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/radtrack/radtrack/alarms"
	"github.com/radtrack/radtrack/auth"
	"github.com/radtrack/radtrack/live"
	"github.com/radtrack/radtrack/rules"
	"github.com/radtrack/radtrack/sample"
	"github.com/radtrack/radtrack/store"
)

// liveParts is the live push of a node: broker (in-process, or Redis
// across nodes), hub, and the adapters that feed it.
type liveParts struct {
	broker  live.Broker
	redis   *redis.Client // nil without REDIS_URL
	hub     *live.Hub
	pub     *alarmPublisher
	devices *deviceChanges // nil without REDIS_URL
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

// alarmPublisher hands stored alarm events to the live push. The hub needs
// them in commit order per alarm and a failed publish may be retried, so
// events go through one ordered queue with a retrying sender: a Redis
// outage delays pushes, it never reorders or drops them (they are in the
// database already and in every snapshot).
type alarmPublisher struct {
	log   *slog.Logger
	mu    sync.Mutex
	queue []live.AlarmEvent
	wake  chan struct{}
	hub   *live.Hub
}

// maxQueuedAlarmEvents bounds memory while the broker is unreachable; the
// oldest "updated" events are dropped first (the latest state follows).
const maxQueuedAlarmEvents = 100_000

func newAlarmPublisher(log *slog.Logger) *alarmPublisher {
	return &alarmPublisher{log: log, wake: make(chan struct{}, 1)}
}

// PublishAlarm implements alarms.Publisher: it queues and returns at once.
func (p *alarmPublisher) PublishAlarm(_ context.Context, ev rules.Event) error {
	payload, err := json.Marshal(ev.Episode)
	if err != nil {
		return fmt.Errorf("render alarm %d: %w", ev.AlarmID, err)
	}
	le := live.AlarmEvent{Type: string(ev.Type), AlarmID: ev.AlarmID, DeviceID: ev.Key.DeviceID, Time: ev.Time, Payload: payload}
	p.mu.Lock()
	if len(p.queue) >= maxQueuedAlarmEvents {
		p.dropOneUpdate()
	}
	p.queue = append(p.queue, le)
	p.mu.Unlock()
	select {
	case p.wake <- struct{}{}:
	default:
	}
	return nil
}

// dropOneUpdate removes the oldest "updated" event (never a raise, an end,
// an acknowledgement or a resolution) to stay within bounds.
func (p *alarmPublisher) dropOneUpdate() {
	for i, ev := range p.queue {
		if ev.Type == live.EventUpdated {
			p.queue = append(p.queue[:i], p.queue[i+1:]...)
			return
		}
	}
}

// run sends queued events in order until ctx ends, retrying with backoff.
func (p *alarmPublisher) run(ctx context.Context) {
	backoff := 100 * time.Millisecond
	for {
		p.mu.Lock()
		var next *live.AlarmEvent
		if len(p.queue) > 0 {
			next = &p.queue[0]
		}
		p.mu.Unlock()
		if next == nil {
			select {
			case <-ctx.Done():
				return
			case <-p.wake:
				continue
			}
		}
		pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		_, err := p.hub.PublishAlarm(pctx, *next)
		cancel()
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			p.log.Warn("alarm push delayed: live broker unavailable", "alarm", next.AlarmID, "type", next.Type, "queued", p.pending(), "err", err)
			select {
			case <-ctx.Done():
				return
			case <-time.After(backoff):
			}
			backoff = min(2*backoff, 5*time.Second)
			continue
		}
		backoff = 100 * time.Millisecond
		p.mu.Lock()
		p.queue = p.queue[1:]
		p.mu.Unlock()
	}
}

func (p *alarmPublisher) pending() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.queue)
}

// positionStage is the pipeline stage that puts every live sample with a
// fix on the map. Imported samples are history: they do not move vehicles.
// It runs after the rules, so a position carries whether its device has an
// open alarm on this node's engine (the one that evaluated this sample).
type positionStage struct {
	hub      *live.Hub
	hasAlarm func(deviceID int64) bool
}

func (s positionStage) Process(_ context.Context, dev store.Device, samples []sample.Sample) error {
	ps := make([]live.Position, 0, len(samples))
	alarmed := s.hasAlarm(dev.ID)
	for _, smp := range samples {
		if smp.Imported {
			continue
		}
		if p, ok := live.PositionFromSample(smp, dev.Name); ok {
			p.UID = dev.UID
			p.Alarm = alarmed
			ps = append(ps, p)
		}
	}
	if len(ps) > 0 {
		s.hub.PublishPositions(ps...)
	}
	return nil
}

// openAlarms renders every open live alarm for a viewer's snapshot: the
// stored ones and those raised while the database was unreachable. With
// the database away, the alarms this node's engine holds stand in, so a
// control room that reconnects during an outage still sees them.
func openAlarms(ctx context.Context, st store.Store, svc *alarms.Service, log *slog.Logger) ([]json.RawMessage, error) {
	imported := false
	list, err := st.ListAlarms(ctx, store.AlarmFilter{
		States: []rules.State{rules.StateRaised, rules.StateAcknowledged}, Imported: &imported,
	})
	if err != nil {
		log.Warn("open alarms for a snapshot from memory: database unavailable", "err", err)
		list = svc.OpenLive()
	} else {
		list = append(list, svc.Provisional()...)
	}
	out := make([]json.RawMessage, len(list))
	for i, a := range list {
		if out[i], err = json.Marshal(a); err != nil {
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

// followPeerResolutions applies acknowledgements and resolutions made on
// other nodes to this node's rules engine, so that a key resolved there is
// free here too and the next alarm of that device and rule is raised.
func (n *Node) followPeerResolutions(ctx context.Context) {
	after, err := n.live.broker.LastAlarmOffset(ctx)
	for err != nil && ctx.Err() == nil {
		time.Sleep(time.Second)
		after, err = n.live.broker.LastAlarmOffset(ctx)
	}
	sink := live.Sink{
		Positions: func([]live.Position) {},
		Resync:    func() {},
		Reset:     func(int64) {},
		Alarms: func(evs []live.AlarmEvent) {
			for _, ev := range evs {
				if ev.Type != live.EventResolved {
					continue
				}
				var ep rules.Episode
				if err := json.Unmarshal(ev.Payload, &ep); err != nil {
					n.log.Error("decode peer alarm event", "alarm", ev.AlarmID, "err", err)
					continue
				}
				n.Alarms.ForgetResolved(ep)
			}
		},
	}
	for ctx.Err() == nil {
		if err := n.live.broker.Run(ctx, after, sink); err != nil && ctx.Err() == nil {
			n.log.Error("follow alarm log", "err", err)
			time.Sleep(time.Second)
		}
	}
}
