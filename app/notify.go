package app

import (
	"cmp"
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"os"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/radtrack/radtrack/incidents"
	"github.com/radtrack/radtrack/notify"
	"github.com/radtrack/radtrack/notify/dispatch"
	"github.com/radtrack/radtrack/notify/incidentevent"
	"github.com/radtrack/radtrack/rules"
	"github.com/radtrack/radtrack/store"
	"github.com/radtrack/radtrack/store/pgstore"
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

// notifier feeds the node's incident events to the dispatcher, off the
// path that raised them: a queue and a goroutine of its own.
type notifier struct {
	cfg   NotifyConfig
	db    pgstore.Config // the database, for the dispatcher's own pool
	ownDB *pgstore.Store // that pool (nil on the embedded store)
	log   *slog.Logger
	d     *dispatch.Dispatcher
	email *notify.Email // its SMTP sessions are closed after the dispatcher
	st    store.Store
	queue chan queued
	// outage remembers whom alarms raised during a database outage were
	// paged to from memory (see notify_outage.go).
	outage outagePages
	// dropped counts update events not queued because the queue was full
	// (raises, re-alarms, acknowledgements and resolutions wait instead).
	dropped prometheus.Counter
	wg      sync.WaitGroup
}

func newNotifier(cfg NotifyConfig, db pgstore.Config, log *slog.Logger) *notifier {
	return &notifier{cfg: cfg, db: db, log: log, queue: make(chan queued, 4096), outage: newOutagePages()}
}

// notifyDBConns is the dispatcher's own PostgreSQL pool: a storm's
// outbox writes never take the connections ingest commits through.
const notifyDBConns = 4

// queued is one entry of the notifier's queue: an incident event, or an
// alarm raised while the database is away (journaled, provisional id).
// One queue keeps them in the order they happened, so a page from memory
// is sent before the raise of the incident the alarm later joins.
type queued struct {
	inc   incidents.Event
	alarm *rules.Event
}

// publish is the incidents service's subscriber. Updates never page, so a
// full queue drops them rather than hold up the alarm path; every other
// event waits for room.
func (n *notifier) publish(ctx context.Context, ev incidents.Event) {
	if n.d == nil || ev.Incident.Imported {
		return
	}
	if ev.Type == incidents.EventUpdated {
		select {
		case n.queue <- queued{inc: ev}:
		default:
			n.dropped.Inc()
		}
		return
	}
	select {
	case n.queue <- queued{inc: ev}:
	case <-ctx.Done():
		n.log.Error("notify incident event not queued", "incident", ev.Incident.ID, "type", ev.Type, "err", ctx.Err())
	}
}

// open builds the dispatcher on the core's store.
func (n *notifier) open(core *Core) (err error) {
	if n.cfg.Off {
		return nil
	}
	// The notification tables are the SQL store's own: wrappers in front
	// of Core.Store need not carry their methods, so take the store itself
	// (the dispatcher bounds each of its calls with a deadline).
	var raw any = core.Store
	if core.PG != nil {
		// The same database through a pool of its own (the core store
		// migrated it already; this one connects lazily).
		cfg := n.db
		cfg.MaxConns = notifyDBConns
		own, err := pgstore.OpenUnmigrated(cfg, core.PG.Timescale())
		if err != nil {
			return fmt.Errorf("notify: database pool: %w", err)
		}
		raw, n.ownDB = own, own
		defer func() {
			if err != nil {
				own.Close()
				n.ownDB = nil
			}
		}()
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
		dc.Email, n.email = e, e
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
	core.Incidents.Subscribe(n.publish)
	core.notifyTap.n.Store(n)
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
		u := newUpdateGate(updateEvery)
		t := time.NewTicker(updateEvery / 4)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case q := <-n.queue:
				switch {
				case q.alarm != nil:
					n.pageOutage(ctx, *q.alarm)
				case u.admit(q.inc, time.Now()):
					n.handle(ctx, q.inc)
				}
			case now := <-t.C:
				for _, ev := range u.due(now) {
					n.handle(ctx, ev)
				}
			}
		}
	})
	<-ctx.Done()
	n.wg.Wait()
	n.d.Close(context.Background())
	if n.email != nil {
		n.email.Close()
	}
	if n.ownDB != nil {
		n.ownDB.Close()
	}
}

func (n *notifier) handle(ctx context.Context, ev incidents.Event) {
	hctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if ev.Type == incidents.EventRaised || ev.Type == incidents.EventRealarm {
		// Recipients paged from memory for one of its alarms during an
		// outage are not paged again.
		n.d.MarkPaged(ev.Incident.ID, n.outage.pagedFor(ev.Incident.Alarms))
	}
	if err := n.d.Handle(hctx, incidentevent.Of(hctx, n.st, ev)); err != nil {
		n.log.Error("notify incident event", "incident", ev.Incident.ID, "type", ev.Type, "err", err)
	}
}

// updateEvery is how often at most one incident's updates reach the
// dispatcher. An update never pages; it only refreshes the snapshot later
// steps send, and each one costs store reads (vehicles, fence) and a
// write, on the database ingest uses. An incident grows with every hot
// sample: passing each on cost ingest several per cent.
const updateEvery = time.Second

// updateGate lets through at most one update per incident per period;
// a held update is replaced by a newer one and passed on when the period
// ends, and dropped when a raise, re-alarm, acknowledgement or resolution
// of the incident overtakes it (that event carries the newer snapshot).
type updateGate struct {
	every   time.Duration
	last    map[int64]time.Time       // when an update of the incident last went through
	pending map[int64]incidents.Event // the newest held update, by incident
}

func newUpdateGate(every time.Duration) *updateGate {
	return &updateGate{every: every, last: map[int64]time.Time{}, pending: map[int64]incidents.Event{}}
}

// admit tells whether ev goes to the dispatcher now; a held update goes
// later through due.
func (g *updateGate) admit(ev incidents.Event, now time.Time) bool {
	id := ev.Incident.ID
	if ev.Type != incidents.EventUpdated {
		delete(g.pending, id)
		return true
	}
	if now.Sub(g.last[id]) < g.every {
		g.pending[id] = ev
		return false
	}
	g.last[id] = now
	return true
}

// due returns the held updates whose period has ended (and forgets
// incidents quiet for a while).
func (g *updateGate) due(now time.Time) []incidents.Event {
	var out []incidents.Event
	for id, ev := range g.pending {
		if now.Sub(g.last[id]) >= g.every {
			out = append(out, ev)
			g.last[id] = now
			delete(g.pending, id)
		}
	}
	for id, at := range g.last {
		if _, held := g.pending[id]; !held && now.Sub(at) > time.Minute {
			delete(g.last, id)
		}
	}
	return out
}
