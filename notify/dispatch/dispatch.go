// Package dispatch routes incident events to people and systems and
// delivers them at least once: routing rules pick an escalation policy,
// policies are ordered steps with delays that stop on acknowledgement and
// restart on a re-alarm, and every delivery goes through a durable outbox
// (stored before its first attempt, retried with backoff, recorded with
// every attempt). Timers and the outbox live in the store, so a restart
// continues them, and on PostgreSQL several nodes share the work with each
// step planned and each delivery attempted by one node at a time.
//
// Input is notify.Event through Handle; the channels are notify's Senders.
package dispatch

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/radtrack/radtrack/notify"
	"github.com/radtrack/radtrack/store"
)

// Store is what the dispatcher needs from storage.
type Store interface {
	store.Notifications
	ListUsers(ctx context.Context) ([]store.User, error)
	ListSites(ctx context.Context) ([]store.Site, error)
}

// Config configures a Dispatcher. Channels left nil are not configured:
// deliveries through them fail for good with a clear error.
type Config struct {
	Store Store
	// Node names this process in leases and the audit trail.
	Node string
	// Push and Email are the shared channels (nil: not configured);
	// VAPIDPublicKey is what browsers subscribe to Push with.
	VAPIDPublicKey string
	Push           notify.Sender
	Email          notify.Sender
	// MQTT is the broker template (RADTRACK_MQTT_URL); each MQTT endpoint
	// gets a connection with its own Cluster. Empty URL: no broker.
	MQTT notify.MQTTConfig
	// Webhook builds a webhook endpoint's sender (nil: notify.NewWebhook).
	Webhook func(notify.WebhookConfig) (notify.Sender, error)
	// CAP configures CAP webhook bodies.
	CAP notify.CAPConfig

	// Poll is how often due escalations and deliveries are looked for
	// when nothing wakes the loop (default 1 s).
	Poll time.Duration
	// Lease is how long a claimed delivery is ours (default 60 s; must
	// exceed a channel's attempt timeout).
	Lease time.Duration
	// MaxAttempts before a transient failure becomes final (default 12).
	MaxAttempts int
	// Workers send in parallel (default 16).
	Workers int
	// NoDigests sends every delivery as its own message (pages to one
	// receiver are otherwise merged, see digest.go); the storm
	// benchmark's "before".
	NoDigests bool
	// Backoff is the first retry delay, doubled per attempt up to
	// MaxBackoff (defaults 5 s and 5 min), with ±20 % jitter.
	Backoff, MaxBackoff time.Duration

	Registerer prometheus.Registerer
	Log        *slog.Logger
	Now        func() time.Time
}

// storeTimeout bounds each call into the store (a hanging database is an
// outage: the pass ends and the next one tries again).
const storeTimeout = 30 * time.Second

// planBatch is how many escalations one planning transaction takes. In a
// storm a pass stores each incident's whole fan-out before any of it is
// sent, so a pass of fewer incidents starts sending sooner; a pass of
// more spends fewer commits and statements per delivery.
const planBatch = 20

// Dispatcher routes events and drains the outbox.
type Dispatcher struct {
	cfg  Config
	st   Store
	log  *slog.Logger
	now  func() time.Time
	m    *dispatchMetrics
	wake chan struct{}
	// planWake asks Run's planner for a pass: Handle stores a raise's
	// escalations and returns, so that in a storm the raises that come
	// while one pass stores its fan-out are planned together by the next
	// (one transaction for many incidents, not one each in sequence).
	planWake chan struct{}
	// updates holds each incident's latest update event not yet stored
	// (updMu guards it); updWake wakes Run's update writer.
	updMu   sync.Mutex
	updates map[int64]json.RawMessage
	updWake chan struct{}
	// planMu is held by the pass planning due steps on this node (the
	// planner's or a Tick's; planDue's callers take it); other nodes are
	// kept apart by the store's locks.
	planMu sync.Mutex

	mu       sync.Mutex
	webhooks map[int64]cachedSender
	mqtt     map[string]*notify.MQTT

	// running is set while Run drives the dispatcher: only then does
	// Handle plan a step due now and lease it to this node (a dispatcher
	// that only takes events must leave the sending to others).
	running atomic.Bool
	// fast holds deliveries this node planned and leased to itself, sent
	// from memory without claiming them back from the store; stopped is
	// the version at which each incident was acknowledged or resolved
	// here, so a queued page older than that is dropped (fastMu guards
	// both).
	fastMu  sync.Mutex
	fast    []job
	stopped map[int64]stopMark
	// paged: recipients paged from memory during an outage, by incident
	// (MarkPaged); last: the routing configuration last read.
	paged map[int64]pagedMark
	last  atomic.Pointer[snapshot]
	// changed is when (Unix ns) an admin last changed the configuration.
	changed atomic.Int64
}

// job is one outbox item to attempt: claimed, or planned and leased here
// with its pages still decoded (one delivery, or a stored digest's);
// paged: it went out from memory during an outage, only its record is
// left to store.
type job struct {
	it    store.OutboxItem
	pages []*notify.Delivery
	paged bool
}

type stopMark struct {
	version int64
	at      time.Time
}

type cachedSender struct {
	updated time.Time
	s       notify.Sender
}

// New checks cfg and returns a dispatcher; Run drives it.
func New(cfg Config) (*Dispatcher, error) {
	if cfg.Store == nil {
		return nil, errors.New("dispatch: store required")
	}
	if cfg.Node == "" {
		cfg.Node = "node-" + strconv.FormatUint(rand.Uint64()&0xffffff, 16)
	}
	if cfg.Poll <= 0 {
		cfg.Poll = time.Second
	}
	if cfg.Lease <= 0 {
		cfg.Lease = time.Minute
	}
	if cfg.MaxAttempts <= 0 {
		cfg.MaxAttempts = 12
	}
	if cfg.Workers <= 0 {
		cfg.Workers = 16
	}
	if cfg.Backoff <= 0 {
		cfg.Backoff = 5 * time.Second
	}
	if cfg.MaxBackoff <= 0 {
		cfg.MaxBackoff = 5 * time.Minute
	}
	if cfg.Webhook == nil {
		// One client for every webhook endpoint, keeping as many idle
		// connections per host as there are workers: many endpoints are
		// often one gateway, and http.DefaultTransport keeps only 2, so a
		// storm would open a TCP (and TLS) connection per delivery.
		tr := http.DefaultTransport.(*http.Transport).Clone()
		tr.MaxIdleConns, tr.MaxIdleConnsPerHost = 4*cfg.Workers, 2*cfg.Workers
		client := &http.Client{Transport: tr}
		cfg.Webhook = func(c notify.WebhookConfig) (notify.Sender, error) {
			if c.Client == nil {
				c.Client = client
			}
			return notify.NewWebhook(c)
		}
	}
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	m, err := newMetrics(cfg.Registerer)
	if err != nil {
		return nil, err
	}
	return &Dispatcher{cfg: cfg, st: cfg.Store, log: cfg.Log, now: cfg.Now, m: m, wake: make(chan struct{}, 1), planWake: make(chan struct{}, 1),
		updates: map[int64]json.RawMessage{}, updWake: make(chan struct{}, 1),
		webhooks: map[int64]cachedSender{}, mqtt: map[string]*notify.MQTT{}, stopped: map[int64]stopMark{}, paged: map[int64]pagedMark{}}, nil
}

// Node is the name this dispatcher claims work under.
func (d *Dispatcher) Node() string { return d.cfg.Node }

func (d *Dispatcher) poke() {
	select {
	case d.wake <- struct{}{}:
	default:
	}
}

// Handle takes one incident event: a raise or re-alarm starts (restarts)
// the escalation of every matching rule; an update refreshes the snapshot
// later steps send; an acknowledgement or resolution stops escalation,
// cancels paging deliveries not yet sent, and tells everyone already
// reached. It returns once the consequences are stored, but for two that
// Run's helpers take while it is going, so that the next event need not
// wait for them: a step due at once (T+0) is planned by its planner,
// leased to this node and sent from memory without waiting for the poll;
// an update is stored by its update writer.
func (d *Dispatcher) Handle(ctx context.Context, ev notify.Event) error {
	if !ev.Type.Valid() || ev.Incident.ID <= 0 || ev.Time.IsZero() {
		return fmt.Errorf("dispatch: invalid event %q for incident %d", ev.Type, ev.Incident.ID)
	}
	raw, err := json.Marshal(ev)
	if err != nil {
		return fmt.Errorf("dispatch: encode event: %w", err)
	}
	ctx, cancel := context.WithTimeout(ctx, storeTimeout)
	defer cancel()
	// No poke here: what is to be sent now is queued (queue pokes Run);
	// a later step or a retry is found by the next poll. A pass per
	// event (updates come with samples) would cost ingest.
	switch ev.Type {
	case notify.EventRaised, notify.EventRealarmed:
		due, err := d.start(ctx, ev, raw)
		if err != nil || !due || !d.running.Load() {
			return err
		}
		// The escalation is stored; the planner sends its first step now
		// (should that pass fail, the next poll plans it).
		d.askPlanner()
		return nil
	case notify.EventUpdated:
		if !d.running.Load() {
			return d.st.UpdateEscalationEvent(ctx, ev.Incident.ID, raw)
		}
		// Run's update writer stores it: the write waits while a planning
		// pass holds the escalation's row, and the events behind this one
		// (other incidents' raises, an acknowledgement) must not.
		d.updMu.Lock()
		d.updates[ev.Incident.ID] = raw // events of one incident come in order: the latest wins
		d.updMu.Unlock()
		select {
		case d.updWake <- struct{}{}:
		default:
		}
		return nil
	default: // acknowledged, resolved
		dropped := d.stop(ev.Incident.ID, ev.Incident.Version)
		n, err := d.st.StopEscalations(ctx, ev.Incident.ID)
		if err != nil {
			return err
		}
		d.m.cancelled.Add(float64(n))
		return d.inform(ctx, ev, dropped)
	}
}

// start stores the escalations ev starts; due tells whether a first
// step is due at once.
func (d *Dispatcher) start(ctx context.Context, ev notify.Event, raw json.RawMessage) (due bool, err error) {
	cfg, err := d.recent(ctx)
	if err != nil {
		return false, err
	}
	// Delays count from when the event reaches us, not from the sample's
	// time: a backlog replayed after a tunnel must not fire every step at
	// once.
	started := 0
	for _, r := range cfg.rules {
		if !r.spec.Matches(ev.Incident) {
			continue
		}
		pol, ok := cfg.policies[r.spec.Policy]
		if !ok {
			d.log.Warn("notification rule names a missing policy", "rule", r.name, "policy", r.spec.Policy)
			continue
		}
		if err := d.st.StartEscalation(ctx, store.Escalation{IncidentID: ev.Incident.ID, RuleID: r.id, PolicyID: r.spec.Policy,
			DueAt: d.now().Add(time.Duration(pol.Steps[0].DelayS) * time.Second), Active: true, Event: raw}); err != nil {
			return false, err
		}
		due = due || pol.Steps[0].DelayS == 0
		started++
	}
	if started == 0 {
		d.m.unrouted.Inc()
		d.log.Info("incident matches no notification rule", "incident", ev.Incident.ID, "severity", ev.Incident.Severity)
	}
	return due, nil
}

// inform sends a non-paging event (acknowledged, resolved) to every
// recipient the incident already reached, once each: those a page was
// sent to (alone or in a digest), and those a page may be on its way to
// (cancelled or dropped from a digest while a sender held its lease; not
// one of the pages this node just dropped from its queue, which never
// went).
func (d *Dispatcher) inform(ctx context.Context, ev notify.Event, dropped map[int64]bool) error {
	done, err := d.st.IncidentDeliveries(ctx, ev.Incident.ID)
	if err != nil {
		return err
	}
	seen := map[string]bool{}
	var (
		items []store.OutboxItem
		dls   []*notify.Delivery
	)
	evRaw, err := json.Marshal(ev)
	if err != nil {
		return fmt.Errorf("dispatch: encode event: %w", err)
	}
	now := d.now()
	for _, it := range done {
		paging := it.PagesIncident(ev.Incident.ID)
		withdrawn := it.State == store.DeliveryCancelled || !paging // after it was leased: the sender may not know
		inFlight := withdrawn && it.LeaseOwner != "" && it.LeaseUntil.After(now) && !dropped[it.ID]
		if !it.Pages || !(it.State == store.DeliverySent && paging) && !inFlight {
			continue
		}
		pages, err := incidentPages(it, ev.Incident.ID)
		if err != nil {
			return err
		}
		for _, dl := range pages {
			base, _, _ := strings.Cut(dl.Recipient.ID, "#")
			if seen[base] {
				continue
			}
			seen[base] = true
			dl.Recipient.ID = base
			endpoint := it.EndpointID
			if id, ok := strings.CutPrefix(base, "endpoint:"); ok {
				endpoint, _ = strconv.ParseInt(id, 10, 64) // a digest's page to another endpoint on the gateway
			}
			item, out, err := d.item(ev, evRaw, dl.Recipient, it.Channel, endpoint)
			if err != nil {
				return err
			}
			items, dls = append(items, item), append(dls, out)
		}
	}
	if !d.running.Load() {
		dls = nil // stored for whichever node runs
	}
	return d.enqueue(ctx, items, dls)
}

// enqueue stores items. With their deliveries (dls, one per item) it
// stores them leased to this node and queues them to be sent from
// memory; without, they wait in the outbox for a claim.
func (d *Dispatcher) enqueue(ctx context.Context, items []store.OutboxItem, dls []*notify.Delivery) error {
	if len(items) == 0 {
		return nil
	}
	if dls != nil {
		d.lease(items)
	}
	if _, err := d.st.EnqueueDeliveries(ctx, items); err != nil {
		return err
	}
	for _, it := range items {
		d.m.enqueued.WithLabelValues(it.Channel).Inc()
	}
	if dls != nil {
		d.queue(items, dls)
	}
	return nil
}

// lease marks items to be stored already claimed by this node. Their
// next attempt is when the lease runs out (only then may another node
// claim them), not now: a claim's scan of the due index then stops at the
// rows really due, instead of walking past a storm's tens of thousands of
// leased ones on every pass.
func (d *Dispatcher) lease(items []store.OutboxItem) {
	until := d.now().Add(d.cfg.Lease)
	for i := range items {
		items[i].LeaseOwner, items[i].LeaseUntil, items[i].Attempts, items[i].NextAttempt = d.cfg.Node, until, 1, until
	}
}

// queue hands stored, leased items to the senders; an item the store
// skipped (ID 0: its key was already stored) is someone else's.
func (d *Dispatcher) queue(items []store.OutboxItem, dls []*notify.Delivery) {
	jobs := make([]job, 0, len(items))
	for i, it := range items {
		if it.ID != 0 { // a paged mark is used by the item that was stored
			jobs = append(jobs, job{it: it, pages: []*notify.Delivery{dls[i]}, paged: it.Pages && d.takePaged(it)})
		}
	}
	d.queueJobs(jobs)
}

// queueJobs hands stored, leased jobs to the senders; a job whose item
// the store skipped (ID 0: its key was already stored) is someone else's.
func (d *Dispatcher) queueJobs(jobs []job) {
	jobs = slices.DeleteFunc(jobs, func(j job) bool { return j.it.ID == 0 })
	d.fastMu.Lock()
	d.fast = append(d.fast, jobs...)
	d.fastMu.Unlock()
	d.poke()
}

// takeFast empties the queue of leased deliveries.
func (d *Dispatcher) takeFast() []job {
	d.fastMu.Lock()
	defer d.fastMu.Unlock()
	out := d.fast
	d.fast = nil
	return out
}

// stop notes that the incident was acknowledged or resolved at version,
// and drops its queued pages (they are cancelled in the store too); it
// returns the outbox IDs of those it dropped.
func (d *Dispatcher) stop(incident, version int64) map[int64]bool {
	now := time.Now()
	dropped := map[int64]bool{}
	d.fastMu.Lock()
	defer d.fastMu.Unlock()
	for id, m := range d.stopped {
		if now.Sub(m.at) > 2*d.cfg.Lease {
			delete(d.stopped, id) // a leased page is never held longer
		}
	}
	if version > d.stopped[incident].version {
		d.stopped[incident] = stopMark{version: version, at: now}
	}
	kept := d.fast[:0]
	for _, j := range d.fast {
		pages := slices.DeleteFunc(slices.Clone(j.pages), func(p *notify.Delivery) bool { return d.pageStoppedLocked(*p) })
		if len(pages) < len(j.pages) {
			dropped[j.it.ID] = true // this node sends none of the incident's pages in it
		}
		if len(pages) > 0 {
			j.pages = pages
			kept = append(kept, j)
		}
	}
	clear(d.fast[len(kept):])
	d.fast = kept
	return dropped
}

// unstopped is pages without those overtaken by an acknowledgement or
// resolution this node handled.
func (d *Dispatcher) unstopped(pages []notify.Delivery) []notify.Delivery {
	d.fastMu.Lock()
	defer d.fastMu.Unlock()
	return slices.DeleteFunc(pages, d.pageStoppedLocked)
}

func (d *Dispatcher) pageStoppedLocked(dl notify.Delivery) bool {
	m, ok := d.stopped[dl.Event.Incident.ID]
	return ok && dl.Event.Type.Pages() && dl.Event.Incident.Version < m.version
}

// item is the outbox row of ev to r, and its delivery; with evRaw (ev
// encoded) the row's delivery is encoded too, without it is left to
// encode.
func (d *Dispatcher) item(ev notify.Event, evRaw []byte, r notify.Recipient, channel string, endpoint int64) (store.OutboxItem, *notify.Delivery, error) {
	dl := &notify.Delivery{Event: ev, Recipient: r}
	it := store.OutboxItem{Key: dl.Key(), IncidentID: ev.Incident.ID, Version: ev.Incident.Version, Channel: channel,
		EndpointID: endpoint, Recipient: r.ID, Pages: ev.Type.Pages(), NextAttempt: d.now()}
	if evRaw != nil {
		var err error
		if it.Delivery, err = encodeDelivery(evRaw, r); err != nil {
			return store.OutboxItem{}, nil, err
		}
	}
	return it, dl, nil
}

// encodeDelivery is a notify.Delivery's JSON from its event's (encoded
// once for all its recipients).
func encodeDelivery(evRaw []byte, r notify.Recipient) ([]byte, error) {
	rRaw, err := json.Marshal(r)
	if err != nil {
		return nil, fmt.Errorf("dispatch: encode recipient: %w", err)
	}
	raw := make([]byte, 0, len(evRaw)+len(rRaw)+25)
	raw = append(append(append(append(raw, `{"event":`...), evRaw...), `,"recipient":`...), rRaw...)
	return append(raw, '}'), nil
}

// Run plans due escalation steps and sends due deliveries until ctx ends.
func (d *Dispatcher) Run(ctx context.Context) error {
	d.running.Store(true)
	defer d.running.Store(false)
	var helpers sync.WaitGroup
	defer helpers.Wait()
	helpers.Go(func() { d.planOnWake(ctx) })
	helpers.Go(func() { d.writeUpdates(ctx) })
	t := time.NewTicker(d.cfg.Poll)
	defer t.Stop()
	for {
		d.refreshConfig(ctx)
		if _, err := d.Tick(ctx); err != nil && ctx.Err() == nil {
			d.m.errors.Inc()
			d.log.Error("notification dispatch", "err", err)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		case <-d.wake:
		}
	}
}

// writeUpdates stores the incidents' update events Handle left for it,
// until ctx ends (then what is left, for a few seconds at most).
func (d *Dispatcher) writeUpdates(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
			d.storeUpdates(fctx)
			cancel()
			return
		case <-d.updWake:
		}
		d.storeUpdates(ctx)
	}
}

// storeUpdates writes the pending update events. One that fails is kept
// for the next round unless a newer one came meanwhile. Then it asks for
// a planning pass: a pass that ran while an update held an escalation's
// row skipped it (SKIP LOCKED keeps nodes apart), and without a new pass
// a raise's first step would wait for the next poll.
func (d *Dispatcher) storeUpdates(ctx context.Context) {
	d.updMu.Lock()
	pending := d.updates
	d.updates = make(map[int64]json.RawMessage, len(pending))
	d.updMu.Unlock()
	if len(pending) == 0 {
		return
	}
	for id, raw := range pending {
		uctx, cancel := context.WithTimeout(ctx, storeTimeout)
		err := d.st.UpdateEscalationEvent(uctx, id, raw)
		cancel()
		if err != nil {
			d.m.errors.Inc()
			d.log.Warn("store an incident update for the steps to come (kept for the next round)", "incident", id, "err", err)
			d.updMu.Lock()
			if _, newer := d.updates[id]; !newer {
				d.updates[id] = raw
			}
			d.updMu.Unlock()
		}
	}
	d.askPlanner()
}

// askPlanner asks the planner for a pass; one asked for already and not
// begun will see what the caller stored.
func (d *Dispatcher) askPlanner() {
	select {
	case d.planWake <- struct{}{}:
	default:
	}
}

// planOnWake plans due steps whenever asked (askPlanner: a raise whose
// first step is due at once, an update stored), until ctx ends.
func (d *Dispatcher) planOnWake(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-d.planWake:
		}
		d.planMu.Lock()
		err := d.planDue(ctx)
		d.planMu.Unlock()
		if err != nil && ctx.Err() == nil {
			d.m.errors.Inc()
			d.log.Warn("plan the first steps at once (the next poll will)", "err", err)
		}
	}
}

// Close ends the MQTT connections.
func (d *Dispatcher) Close(ctx context.Context) {
	d.mu.Lock()
	defer d.mu.Unlock()
	for k, m := range d.mqtt {
		_ = m.Close(ctx)
		delete(d.mqtt, k)
	}
}

// Tick plans every due step and sends every due delivery once; it
// returns how many deliveries it attempted: pages, a stored digest's
// counted each (one claimed back from the outbox, once per incident it
// covers).
func (d *Dispatcher) Tick(ctx context.Context) (int, error) {
	// A pass the planner is making (a storm's raises) queues what it
	// plans for this drain: sending must not wait for it.
	if d.planMu.TryLock() {
		err := d.planDue(ctx)
		d.planMu.Unlock()
		if err != nil {
			return 0, err
		}
	}
	return d.drain(ctx)
}

// drain sends the deliveries this node planned (from memory) and claims
// and sends due ones from the outbox (retries, expired leases, other
// nodes' plans) until none is left (or 100 claims). Claiming and taking
// newly planned ones go on while earlier items are being sent, so one
// slow receiver does not hold back the next batch.
func (d *Dispatcher) drain(ctx context.Context) (int, error) {
	const claimBatch = 200
	docs := d.recentEndpoints()
	if docs == nil {
		dctx, cancel := context.WithTimeout(ctx, storeTimeout)
		var err error
		if docs, err = d.endpointDocs(dctx); err != nil {
			docs = nil // each attempt reads them again (and fails transiently if it cannot)
		}
		cancel()
	}
	work := make(chan batch, claimBatch)
	results := newOutcomes()
	ls := newLanes()
	var (
		workers  sync.WaitGroup
		inflight atomic.Int64 // batches handed to workers and not done
		idle     = make(chan struct{}, 1)
	)
	for range d.cfg.Workers {
		workers.Go(func() {
			for b := range work {
				d.sendLane(ctx, b, ls, docs, results)
				inflight.Add(-1)
				select {
				case idle <- struct{}{}:
				default:
				}
			}
		})
	}
	// send hands jobs to workers, those to one receiver together (one
	// message), unless a message to that receiver is on its way: then
	// they wait in its lane and go in the next digest.
	send := func(jobs []job) {
		if d.cfg.NoDigests {
			for _, j := range jobs {
				inflight.Add(1)
				work <- batch{jobs: []job{j}}
			}
			return
		}
		for _, b := range ls.group(jobs, docs) {
			if b.lane == "" || ls.admit(b.lane, b.jobs) {
				inflight.Add(1)
				work <- b
			}
		}
	}
	recorded := make(chan struct{})
	go func() {
		defer close(recorded)
		d.recordAll(ctx, results)
	}()
	total, claims := 0, 0
	var claimErr error
	// A pass takes newly planned pages while its sends are in flight
	// (so pages that queue behind a message to the same receiver join
	// its digest), for at most Poll: then it finishes what it has, and
	// Run plans due steps and starts the next pass.
	deadline := time.Now().Add(d.cfg.Poll)
	for {
		var fast []job
		if time.Now().Before(deadline) {
			fast = d.takeFast()
		}
		send(fast)
		for _, j := range fast {
			total += len(j.pages)
		}
		if claims < 100 && claimErr == nil {
			claims++
			cctx, cancel := context.WithTimeout(ctx, storeTimeout)
			items, err := d.st.ClaimDeliveries(cctx, d.cfg.Node, d.now(), d.cfg.Lease, claimBatch)
			cancel()
			if err != nil {
				claimErr = err
				continue
			}
			jobs := make([]job, len(items))
			for i, it := range items {
				jobs[i] = job{it: it}
			}
			send(jobs)
			for _, it := range items {
				total += max(len(it.Covers), 1) // a stored digest's pages, by incident
			}
			if len(items) < claimBatch {
				claims = 100 // the outbox is drained; keep taking planned ones
			}
			continue
		}
		if len(fast) > 0 {
			continue
		}
		wait := time.Until(deadline)
		if inflight.Load() == 0 || wait <= 0 {
			break
		}
		t := time.NewTimer(wait)
		select {
		case <-d.wake:
		case <-idle:
		case <-ctx.Done():
		case <-t.C:
		}
		t.Stop()
		if ctx.Err() != nil {
			break
		}
	}
	close(work)
	workers.Wait()
	results.close()
	<-recorded
	d.fastMu.Lock()
	left := len(d.fast) > 0
	d.fastMu.Unlock()
	if left {
		d.poke() // planned while this pass was finishing
	}
	return total, claimErr
}

// planDue turns every due escalation step into outbox deliveries. One
// step per escalation per pass; passes repeat so a node back from a long
// outage catches up on every step that came due meanwhile.
//
// The deliveries are stored leased to this node and queued to be sent
// from memory by the next drain: no claim round trip, and no other node
// takes them unless this one dies before finishing them (the lease runs
// out). The caller holds planMu; the routing configuration is read when
// a step is due (the copy in memory if recent).
func (d *Dispatcher) planDue(ctx context.Context) error {
	var (
		cfg     *snapshot
		planned []store.OutboxItem
		jobs    []job // jobs[i] sends planned[i]
	)
	plan := func(ctx context.Context, due []store.Escalation) ([]store.OutboxItem, []store.Escalation, error) {
		if cfg == nil {
			var err error
			if cfg, err = d.recent(ctx); err != nil {
				return nil, nil, err
			}
		}
		var (
			items []store.OutboxItem
			dls   []*notify.Delivery
			nexts = make([]store.Escalation, len(due))
		)
		for i, e := range due {
			its, ds, next, err := d.plan(cfg, e)
			if err != nil {
				return nil, nil, fmt.Errorf("incident %d rule %d step %d: %w", e.IncidentID, e.RuleID, e.Step, err)
			}
			if items == nil { // a storm's incidents fan out alike: room for the whole pass, not a doubling every few incidents
				items, dls = make([]store.OutboxItem, 0, len(its)*len(due)), make([]*notify.Delivery, 0, len(ds)*len(due))
			}
			items, dls, nexts[i] = append(items, its...), append(dls, ds...), next
		}
		var err error
		if planned, jobs, err = d.storedDigests(ctx, cfg, items, dls); err != nil {
			return nil, nil, err
		}
		d.lease(planned)
		return planned, nexts, nil
	}
	for range 50 {
		planned, jobs = nil, nil
		actx, cancel := context.WithTimeout(ctx, storeTimeout)
		n, err := d.st.AdvanceEscalations(actx, d.now(), planBatch, plan)
		cancel()
		if err != nil || n == 0 {
			return err
		}
		// Committed: the store set the ID of each item it stored.
		for i := range jobs {
			jobs[i].it = planned[i]
			if jobs[i].paged && (planned[i].ID == 0 || !d.takePaged(planned[i])) {
				jobs[i].paged = false // stored by someone else, or its mark used meanwhile
			}
			d.m.enqueued.WithLabelValues(jobs[i].it.Channel).Inc()
		}
		d.queueJobs(jobs)
	}
	return nil
}

// outcomes collects attempts' results for the recorder. Senders never
// wait for the store: a storm is sent as fast as the receivers take it,
// and the outcomes are recorded behind it in batches.
type outcomes struct {
	mu     sync.Mutex
	buf    []store.Finished
	closed bool
	more   chan struct{}
}

func newOutcomes() *outcomes { return &outcomes{more: make(chan struct{}, 1)} }

func (o *outcomes) add(f store.Finished) {
	o.mu.Lock()
	o.buf = append(o.buf, f)
	o.mu.Unlock()
	select {
	case o.more <- struct{}{}:
	default:
	}
}

func (o *outcomes) close() {
	o.mu.Lock()
	o.closed = true
	o.mu.Unlock()
	select {
	case o.more <- struct{}{}:
	default:
	}
}

// take waits for outcomes and returns up to max of them; none once
// closed and empty.
func (o *outcomes) take(max int) []store.Finished {
	for {
		o.mu.Lock()
		if n := min(len(o.buf), max); n > 0 {
			out := append([]store.Finished(nil), o.buf[:n]...)
			o.buf = o.buf[n:]
			o.mu.Unlock()
			return out
		}
		closed := o.closed
		o.mu.Unlock()
		if closed {
			return nil
		}
		<-o.more
	}
}

// recordAll records outcomes in batches as they come (one transaction
// per batch, not per delivery; the batch grows while the store is
// behind), so a crash re-sends at most the unrecorded ones — delivered
// again under the same idempotency keys.
func (d *Dispatcher) recordAll(ctx context.Context, results *outcomes) {
	for {
		batch := results.take(1000)
		if batch == nil {
			return
		}
		d.record(ctx, batch)
	}
}

// record stores outcomes even when ctx is ending: a delivery that went
// out must not be sent again after a restart.
func (d *Dispatcher) record(ctx context.Context, batch []store.Finished) {
	fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), storeTimeout)
	defer cancel()
	if err := d.st.FinishDeliveries(fctx, d.cfg.Node, batch); err != nil {
		d.m.errors.Inc()
		d.log.Error("record notification outcomes", "deliveries", len(batch), "err", err)
	}
}

// attempt sends one item, its pages (what is left of them to send), and
// returns its outcome. Several pages go as one digest when the item is a
// stored digest; should the receiver no longer take digests (an
// endpoint changed), one by one.
func (d *Dispatcher) attempt(ctx context.Context, j job, pages []notify.Delivery, docs map[int64]store.NotifyDoc) store.Finished {
	start := d.now()
	it := j.it
	if j.paged {
		d.m.delivered.WithLabelValues(it.Channel, "sent").Inc()
		a := store.DeliveryAttempt{OutboxID: it.ID, IncidentID: it.IncidentID, At: start, Node: d.cfg.Node,
			Channel: it.Channel, Recipient: it.Recipient, OK: true, Error: outageNote}
		return store.Finished{ID: it.ID, DeliveryResult: store.DeliveryResult{State: store.DeliverySent, NextAttempt: start, Attempt: a}}
	}
	s, err := d.sender(ctx, it.Channel, it.EndpointID, docs)
	if err == nil {
		sctx, cancel := context.WithTimeout(ctx, d.cfg.Lease)
		if ds, ok := s.(notify.DigestSender); ok && len(pages) > 1 && ds.MaxDigest() >= len(pages) {
			err = ds.SendDigest(sctx, notify.Digest{Deliveries: pages})
		} else {
			for _, dl := range pages {
				if err = s.Send(sctx, dl); err != nil {
					break
				}
			}
		}
		cancel()
	}
	note := ""
	if len(pages) > 1 {
		note = d.digestSent(it.Channel, notify.Digest{Deliveries: pages}, err)
	}
	return d.outcome(ctx, it, pages, err, start, note)
}

// deliveries are the pages the job carries, decoded from the outbox if
// need be; a stored digest's dropped ones are left out.
func (j job) deliveries() ([]notify.Delivery, error) {
	if j.pages == nil {
		all, err := j.stored()
		return slices.DeleteFunc(all, func(dl notify.Delivery) bool { return slices.Contains(j.it.Dropped, dl.Event.Incident.ID) }), err
	}
	out := make([]notify.Delivery, len(j.pages))
	for i, p := range j.pages {
		out[i] = *p
	}
	return out, nil
}

// incidentPages are the pages of incident it carries: its delivery, or
// those of a stored digest's pages that are the incident's.
func incidentPages(it store.OutboxItem, incident int64) ([]notify.Delivery, error) {
	pages, err := job{it: it}.stored()
	if err != nil {
		return nil, fmt.Errorf("dispatch: stored delivery %d: %w", it.ID, err)
	}
	return slices.DeleteFunc(pages, func(dl notify.Delivery) bool { return dl.Event.Incident.ID != incident }), nil
}

// stored decodes the item's pages: one delivery, or every page of a
// stored digest.
func (j job) stored() ([]notify.Delivery, error) {
	if len(j.it.Covers) > 0 {
		var sd storedDigest
		if err := json.Unmarshal(j.it.Delivery, &sd); err != nil {
			return nil, fmt.Errorf("%w: stored digest: %v", notify.ErrInvalid, err)
		}
		return sd.deliveries(j.it.Events)
	}
	var dl notify.Delivery
	if err := json.Unmarshal(j.it.Delivery, &dl); err != nil {
		return nil, fmt.Errorf("%w: stored delivery: %v", notify.ErrInvalid, err)
	}
	return []notify.Delivery{dl}, nil
}

// outcome turns the result of sending it (its pages; err, nil when
// accepted) into its new state and the attempt to record; note, if any,
// is recorded with a successful attempt.
func (d *Dispatcher) outcome(ctx context.Context, it store.OutboxItem, pages []notify.Delivery, err error, start time.Time, note string) store.Finished {
	now := d.now()
	a := store.DeliveryAttempt{OutboxID: it.ID, IncidentID: it.IncidentID, At: now, Node: d.cfg.Node,
		Channel: it.Channel, Recipient: it.Recipient, OK: err == nil}
	var ne *notify.Error
	if errors.As(err, &ne) {
		a.Status = ne.Status
	}
	res := store.DeliveryResult{Attempt: a, NextAttempt: now}
	switch {
	case err == nil:
		res.State = store.DeliverySent
		res.Attempt.Error = note
		d.m.delivered.WithLabelValues(it.Channel, "sent").Inc()
		for _, dl := range pages {
			if !dl.Event.Time.IsZero() {
				d.m.latency.WithLabelValues(it.Channel).Observe(now.Sub(dl.Event.Time).Seconds())
			}
		}
	case notify.IsPermanent(err) || it.Attempts >= d.cfg.MaxAttempts:
		res.State = store.DeliveryFailed
		d.m.delivered.WithLabelValues(it.Channel, "failed").Inc()
		d.log.Warn("notification failed for good", "key", it.Key, "channel", it.Channel, "recipient", it.Recipient,
			"attempts", it.Attempts, "err", err)
		if errors.Is(err, notify.ErrSubscriptionGone) {
			d.dropSubscription(ctx, it.Recipient)
		}
	default:
		res.State = store.DeliveryPending
		res.NextAttempt = now.Add(d.backoff(it.Attempts, err))
		d.m.delivered.WithLabelValues(it.Channel, "retry").Inc()
		d.log.Info("notification will be retried", "key", it.Key, "channel", it.Channel, "attempts", it.Attempts,
			"next", res.NextAttempt, "err", err)
	}
	if err != nil {
		res.Attempt.Error = truncate(err.Error(), 500)
	}
	d.m.attemptSeconds.WithLabelValues(it.Channel).Observe(now.Sub(start).Seconds())
	f := store.Finished{ID: it.ID, DeliveryResult: res}
	if it.Covers != nil && err == nil {
		f.Carried = []int64{}
		for _, dl := range pages {
			if !slices.Contains(f.Carried, dl.Event.Incident.ID) {
				f.Carried = append(f.Carried, dl.Event.Incident.ID)
			}
		}
	}
	return f
}

// backoff is the delay before attempt n+1: the receiver's Retry-After if
// it gave one, else Backoff·2^(n-1) up to MaxBackoff, ±20 %.
func (d *Dispatcher) backoff(n int, err error) time.Duration {
	if ra, ok := notify.RetryAfter(err); ok {
		return ra
	}
	b := d.cfg.Backoff
	for i := 1; i < n && b < d.cfg.MaxBackoff; i++ {
		b *= 2
	}
	b = min(b, d.cfg.MaxBackoff)
	return time.Duration(float64(b) * (0.8 + 0.4*rand.Float64()))
}

// dropSubscription deletes a push subscription the push service says is
// gone, so later steps do not try it again.
func (d *Dispatcher) dropSubscription(ctx context.Context, recipient string) {
	base, _, _ := strings.Cut(recipient, "#")
	id, err := strconv.ParseInt(strings.TrimPrefix(base, "push:"), 10, 64)
	if err != nil || !strings.HasPrefix(base, "push:") {
		return
	}
	if err := d.st.DeleteNotifyContact(ctx, 0, id); err != nil && !errors.Is(err, store.ErrNotFound) {
		d.log.Warn("delete gone push subscription", "contact", id, "err", err)
	}
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n]
}
