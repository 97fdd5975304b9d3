package app

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"os"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/radtrack/radtrack/alarms"
	"github.com/radtrack/radtrack/notify"
	"github.com/radtrack/radtrack/notify/dispatch"
	"github.com/radtrack/radtrack/rules"
	"github.com/radtrack/radtrack/store"
)

// NotifyConfig configures incident notifications (README "Notification
// routing and escalation"). Webhook endpoints need nothing here; each
// other channel is on when its settings are given.
type NotifyConfig struct {
	// Off disables the dispatcher and the notification API.
	Off bool
	// MQTTURL is the broker (RADTRACK_MQTT_URL); "" disables MQTT.
	MQTTURL string
	// SMTP is the mail server; Host "" disables e-mail.
	SMTP notify.EmailConfig
	// VAPIDFile holds the Web Push key pair, created on first start
	// ("" or "off" disables Web Push; radtrack serve defaults it to
	// DATA/vapid.json). VAPIDSubject is the contact push services may use
	// (mailto: or https:; default mailto:radtrack@localhost).
	VAPIDFile, VAPIDSubject string
	// CAPSender names this system in CAP webhook bodies.
	CAPSender string
}

// notifier feeds the node's alarm events to the dispatcher. It stands in
// for the incident hook until incidents land: every alarm is an incident
// of its own (id = alarm id).
type notifier struct {
	cfg   NotifyConfig
	log   *slog.Logger
	next  alarms.Publisher
	d     *dispatch.Dispatcher
	st    store.Store
	queue chan rules.Event
	// dropped counts update events not queued because the queue was full
	// (raises, acknowledgements and resolutions wait instead).
	dropped prometheus.Counter
	wg      sync.WaitGroup
}

func newNotifier(cfg NotifyConfig, log *slog.Logger) *notifier {
	return &notifier{cfg: cfg, log: log, queue: make(chan rules.Event, 4096)}
}

// wrap returns the publisher the alarm service gets: next (the live push)
// first, then the notification queue.
func (n *notifier) wrap(next alarms.Publisher) alarms.Publisher {
	n.next = next
	return n
}

// PublishAlarm implements alarms.Publisher. The dispatcher's store writes
// run on the notifier's goroutine, off the ingest path.
func (n *notifier) PublishAlarm(ctx context.Context, ev rules.Event) error {
	var err error
	if n.next != nil {
		err = n.next.PublishAlarm(ctx, ev)
	}
	if n.d == nil || ev.Imported {
		return err
	}
	if ev.Type == rules.EventUpdated || ev.Type == rules.EventConditionEnded {
		select {
		case n.queue <- ev:
		default:
			n.dropped.Inc()
		}
		return err
	}
	select {
	case n.queue <- ev:
	case <-ctx.Done():
		err = errors.Join(err, fmt.Errorf("notify alarm %d %s: %w", ev.AlarmID, ev.Type, ctx.Err()))
	}
	return err
}

// open builds the dispatcher on the core's store.
func (n *notifier) open(core *Core) error {
	if n.cfg.Off {
		return nil
	}
	// The notification tables are the SQL store's own: wrappers in front
	// of Core.Store need not carry their methods, so take the store itself
	// (the dispatcher bounds each of its calls with a deadline).
	var raw any = core.Store
	if core.PG != nil {
		raw = core.PG
	}
	st, ok := raw.(dispatch.Store)
	if !ok {
		n.log.Warn("notifications off: the store keeps no notification tables")
		return nil
	}
	host, _ := os.Hostname()
	dc := dispatch.Config{Store: st, Node: host + "-" + strconv.Itoa(os.Getpid()) + "-" + strconv.FormatUint(rand.Uint64()&0xffff, 16), Log: n.log, Registerer: core.Metrics.Registry,
		MQTT: notify.MQTTConfig{URL: n.cfg.MQTTURL, Logger: n.log}, CAP: notify.CAPConfig{Sender: n.cfg.CAPSender}}
	if n.cfg.SMTP.Host != "" {
		e, err := notify.NewEmail(n.cfg.SMTP)
		if err != nil {
			return fmt.Errorf("notify: SMTP settings: %w", err)
		}
		dc.Email = e
	}
	if path := n.cfg.VAPIDFile; path != "" && path != "off" {
		keys, err := notify.LoadOrCreateVAPID(path)
		if err != nil {
			return fmt.Errorf("notify: VAPID keys: %w", err)
		}
		push, err := notify.NewWebPush(notify.WebPushConfig{Keys: keys, Subject: cmp.Or(n.cfg.VAPIDSubject, "mailto:radtrack@localhost")})
		if err != nil {
			return fmt.Errorf("notify: web push: %w", err)
		}
		dc.Push, dc.VAPIDPublicKey = push, keys.Public
	}
	d, err := dispatch.New(dc)
	if err != nil {
		return err
	}
	n.dropped = prometheus.NewCounter(prometheus.CounterOpts{Name: "radtrack_notify_dropped_updates_total",
		Help: "Alarm update events not passed to notifications because the queue was full."})
	if err := core.Metrics.Registry.Register(n.dropped); err != nil {
		return fmt.Errorf("notify: register metrics: %w", err)
	}
	n.d, n.st = d, core.Store
	return nil
}

// dispatcher is nil when notifications are off.
func (n *notifier) dispatcher() *dispatch.Dispatcher { return n.d }

// run drives the dispatcher and the event queue until ctx ends.
func (n *notifier) run(ctx context.Context) {
	if n.d == nil {
		return
	}
	n.wg.Go(func() { _ = n.d.Run(ctx) })
	n.wg.Go(func() {
		for {
			select {
			case <-ctx.Done():
				return
			case ev := <-n.queue:
				n.handle(ctx, ev)
			}
		}
	})
	<-ctx.Done()
	n.wg.Wait()
	n.d.Close(context.Background())
}

func (n *notifier) handle(ctx context.Context, ev rules.Event) {
	if ev.AlarmID <= 0 {
		return // journaled during a database outage: no stored id to notify under yet
	}
	hctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := n.d.Handle(hctx, alarmEvent(hctx, n.st, ev)); err != nil {
		n.log.Error("notify alarm event", "alarm", ev.AlarmID, "type", ev.Type, "err", err)
	}
}

// eventType maps an alarm event to an incident event type. An alarm
// raised while the database was away is notified when the journal drain
// stores it: the drain republishes its raise as an update carrying the
// provisional id (viewers saw it already), but nobody was notified yet,
// so for notifications it is the raise.
func eventType(ev rules.Event) notify.EventType {
	switch ev.Type {
	case rules.EventRaised:
		return notify.EventRaised
	case rules.EventAcknowledged:
		return notify.EventAcknowledged
	case rules.EventResolved:
		return notify.EventResolved
	}
	if ev.Episode.ProvisionalID != 0 && ev.Episode.State == rules.StateRaised {
		return notify.EventRaised
	}
	return notify.EventUpdated
}

// alarmEvent is an alarm event as an incident event. The version is the
// event time in microseconds (a raise: the first sample's time, so a
// raise seen again — a journal drain — has the same idempotency keys):
// increasing per alarm, the same on every node, so keys agree across
// nodes.
func alarmEvent(ctx context.Context, st store.Store, ev rules.Event) notify.Event {
	ep := ev.Episode
	typ := eventType(ev)
	version := ev.Time.UnixMicro()
	if typ == notify.EventRaised && !ep.FirstSeen.IsZero() {
		version = ep.FirstSeen.UnixMicro()
	}
	v := notify.Vehicle{ID: ep.DeviceID}
	if dev, err := st.DeviceByID(ctx, ep.DeviceID); err == nil {
		v.UID, v.Name, v.Group = dev.UID, dev.Name, dev.Group
	}
	inc := notify.Incident{ID: ev.AlarmID, Version: version, State: ep.State, Severity: ep.Severity,
		Title: ep.RuleName + ": " + v.Label(), Rules: []string{ep.RuleName}, Vehicles: []notify.Vehicle{v},
		Peak:      notify.Peak{Time: ep.PeakTime, LonLat: [2]float64{ep.PeakLon, ep.PeakLat}, GPSValid: ep.PeakGPSValid},
		FirstSeen: ep.FirstSeen, LastSeen: ep.LastSeen, AckedBy: ep.AckedBy, AckedAt: ep.AckedAt,
		ResolvedBy: ep.ResolvedBy, ResolvedAt: ep.ResolvedAt, Adjudication: ep.Code}
	if ep.PeakDose > 0 {
		d := ep.PeakDose
		inc.Peak.DoseUSvh = &d
	}
	if ep.FenceID != 0 {
		inc.Fence = &notify.Fence{ID: ep.FenceID}
	}
	out := notify.Event{Type: typ, Time: ev.Time, Incident: inc}
	if typ != notify.EventRaised {
		out.History = []notify.EventRef{{Version: ep.FirstSeen.UnixMicro(), Type: notify.EventRaised, Time: ep.FirstSeen}}
	}
	return out
}
