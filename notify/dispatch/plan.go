package dispatch

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/radtrack/radtrack/notify"
	"github.com/radtrack/radtrack/rules"
	"github.com/radtrack/radtrack/store"
)

type ruleEntry struct {
	id   int64
	name string
	spec RuleSpec
}

type endpointEntry struct {
	doc  store.NotifyDoc
	spec EndpointSpec
}

// snapshot is the routing configuration read once per pass.
type snapshot struct {
	at        time.Time // when it was read
	rules     []ruleEntry
	policies  map[int64]PolicySpec
	endpoints map[int64]endpointEntry
	users     []store.User
	contacts  map[int64][]store.NotifyContact    // by user
	subs      map[int64]*notify.PushSubscription // push contacts' subscriptions, decoded once, by contact
	sites     *store.SiteTree
}

// load reads the configuration. A document that no longer validates is
// skipped with a warning rather than stopping every other notification.
func (d *Dispatcher) load(ctx context.Context) (*snapshot, error) {
	s := &snapshot{at: time.Now(), policies: map[int64]PolicySpec{}, endpoints: map[int64]endpointEntry{}, contacts: map[int64][]store.NotifyContact{}}
	docs, err := d.st.ListNotifyDocs(ctx, store.NotifyPolicy)
	if err != nil {
		return nil, err
	}
	for _, doc := range docs {
		p, err := DecodeSpec[PolicySpec](doc.Spec)
		if err == nil {
			err = p.Check()
		}
		if err != nil {
			d.log.Warn("skipping invalid escalation policy", "policy", doc.Name, "err", err)
			continue
		}
		s.policies[doc.ID] = p
	}
	if docs, err = d.st.ListNotifyDocs(ctx, store.NotifyRule); err != nil {
		return nil, err
	}
	for _, doc := range docs {
		r, err := DecodeSpec[RuleSpec](doc.Spec)
		if err == nil {
			err = r.Check()
		}
		if err != nil {
			d.log.Warn("skipping invalid notification rule", "rule", doc.Name, "err", err)
			continue
		}
		s.rules = append(s.rules, ruleEntry{id: doc.ID, name: doc.Name, spec: r})
	}
	if docs, err = d.st.ListNotifyDocs(ctx, store.NotifyEndpoint); err != nil {
		return nil, err
	}
	for _, doc := range docs {
		e, err := DecodeSpec[EndpointSpec](doc.Spec)
		if err == nil {
			err = e.Check()
		}
		if err != nil {
			d.log.Warn("skipping invalid notification endpoint", "endpoint", doc.Name, "err", err)
			continue
		}
		s.endpoints[doc.ID] = endpointEntry{doc: doc, spec: e}
	}
	if s.users, err = d.st.ListUsers(ctx); err != nil {
		return nil, err
	}
	sites, err := d.st.ListSites(ctx)
	if err != nil {
		return nil, err
	}
	s.sites = store.NewSiteTree(sites)
	contacts, err := d.st.ListNotifyContacts(ctx, 0)
	if err != nil {
		return nil, err
	}
	s.subs = map[int64]*notify.PushSubscription{}
	for _, c := range contacts {
		if c.Kind == store.ContactPush {
			var sub notify.PushSubscription
			if err := json.Unmarshal(c.Spec, &sub); err != nil {
				d.log.Warn("skipping push subscription that does not decode", "user", c.UserID, "contact", c.ID, "err", err)
				continue
			}
			s.subs[c.ID] = &sub
		}
		s.contacts[c.UserID] = append(s.contacts[c.UserID], c)
	}
	d.last.Store(s) // for paging from memory during an outage
	return s, nil
}

// plan turns a due escalation step into deliveries (outbox items and,
// one per item, the delivery itself) and the next step.
func (d *Dispatcher) plan(cfg *snapshot, e store.Escalation) ([]store.OutboxItem, []*notify.Delivery, store.Escalation, error) {
	next := e
	next.Active = false
	var ev notify.Event
	if err := json.Unmarshal(e.Event, &ev); err != nil {
		d.log.Error("escalation with an unreadable event stopped", "incident", e.IncidentID, "err", err)
		return nil, nil, next, nil
	}
	if ev.Incident.State == rules.StateAcknowledged || ev.Incident.State == rules.StateResolved {
		return nil, nil, next, nil // someone took charge: nothing more pages
	}
	pol, ok := cfg.policies[e.PolicyID]
	if !ok || e.Step >= len(pol.Steps) {
		d.log.Warn("escalation policy gone or changed, escalation stopped", "incident", e.IncidentID, "policy", e.PolicyID)
		return nil, nil, next, nil
	}
	// A step re-pages with the latest snapshot: an update in between
	// must not make a reminder silent.
	if !ev.Type.Pages() {
		ev.Type = notify.EventRaised
		for _, h := range ev.History {
			if h.Type == notify.EventRealarmed {
				ev.Type = notify.EventRealarmed
			}
		}
	}
	step := pol.Steps[e.Step]
	suffix := ""
	if e.Step > 0 || e.Cycle > 0 {
		// Each step and cycle is its own delivery to a recipient (a
		// reminder), so its idempotency key differs from the first page.
		suffix = fmt.Sprintf("#s%dc%d", e.Step, e.Cycle)
	}
	var (
		items []store.OutboxItem
		dls   []*notify.Delivery
	)
	// The items are not encoded here: a pass stores most of a storm's
	// pages in digests (storedDigests encodes what it stores).
	add := func(r notify.Recipient, channel string, endpoint int64) error {
		r.ID += suffix
		it, dl, err := d.item(ev, nil, r, channel, endpoint)
		if err != nil {
			return err
		}
		items, dls = append(items, it), append(dls, dl)
		return nil
	}
	channels := step.Channels
	if len(channels) == 0 {
		channels = []string{ChannelPush}
	}
	for _, u := range cfg.users {
		if !u.Active() || (!slices.Contains(step.Roles, u.Role) && !slices.Contains(step.Users, u.ID)) ||
			!cfg.reaches(u, ev.Incident.Vehicles) {
			continue
		}
		for _, c := range cfg.contacts[u.ID] {
			if !slices.Contains(channels, c.Kind) {
				continue
			}
			r := notify.Recipient{ID: c.Kind + ":" + strconv.FormatInt(c.ID, 10), Name: u.Username}
			switch c.Kind {
			case store.ContactPush:
				if r.Push = cfg.subs[c.ID]; r.Push == nil {
					continue // did not decode
				}
			case store.ContactEmail:
				r.Email = c.Value
			}
			if err := add(r, c.Kind, 0); err != nil {
				return nil, nil, e, err
			}
		}
	}
	for _, id := range step.Endpoints {
		ep, ok := cfg.endpoints[id]
		if !ok || ep.spec.Disabled {
			continue
		}
		r := notify.Recipient{ID: "endpoint:" + strconv.FormatInt(id, 10), Name: ep.doc.Name, Email: ep.spec.Address}
		if err := add(r, ep.spec.Kind, id); err != nil {
			return nil, nil, e, err
		}
	}
	d.m.steps.Inc()
	if len(items) == 0 {
		d.log.Warn("escalation step reaches nobody (no users with contacts, no endpoints)",
			"incident", e.IncidentID, "policy", e.PolicyID, "step", e.Step)
	}
	// The next step is due relative to this one's due time, so a late
	// pass (a restart) does not shift the whole timeline.
	next.Active = true
	if e.Step+1 < len(pol.Steps) {
		next.Step = e.Step + 1
		next.DueAt = e.DueAt.Add(time.Duration(pol.Steps[e.Step+1].DelayS-step.DelayS) * time.Second)
	} else if e.Cycle < pol.Repeat {
		next.Step, next.Cycle = 0, e.Cycle+1
		next.DueAt = e.DueAt.Add(time.Duration(pol.period()-step.DelayS+pol.Steps[0].DelayS) * time.Second)
	} else {
		next.Active = false
	}
	return items, dls, next, nil
}

// errNotConfigured marks a channel this node has no configuration for.
var errNotConfigured = errors.New("channel not configured")

// sender returns the channel for an outbox item; docs are the endpoint
// documents by id (nil: read them now).
func (d *Dispatcher) sender(ctx context.Context, channel string, endpoint int64, docs map[int64]store.NotifyDoc) (notify.Sender, error) {
	switch channel {
	case ChannelPush:
		if d.cfg.Push == nil {
			return nil, &notify.Error{Permanent: true, Err: fmt.Errorf("web push: %w (no VAPID keys)", errNotConfigured)}
		}
		return d.cfg.Push, nil
	case ChannelEmail:
		if d.cfg.Email == nil {
			return nil, &notify.Error{Permanent: true, Err: fmt.Errorf("e-mail: %w (no SMTP server)", errNotConfigured)}
		}
		return d.cfg.Email, nil
	}
	if docs == nil {
		var err error
		if docs, err = d.endpointDocs(ctx); err != nil {
			return nil, err
		}
	}
	ep, err := endpointOf(docs, endpoint)
	if err != nil {
		return nil, err
	}
	return d.endpointSender(ctx, ep)
}

// endpointDocs reads every endpoint document, by id.
func (d *Dispatcher) endpointDocs(ctx context.Context) (map[int64]store.NotifyDoc, error) {
	docs, err := d.st.ListNotifyDocs(ctx, store.NotifyEndpoint)
	if err != nil {
		return nil, err // transient: the store will come back
	}
	out := make(map[int64]store.NotifyDoc, len(docs))
	for _, doc := range docs {
		out[doc.ID] = doc
	}
	return out, nil
}

func (d *Dispatcher) endpoint(ctx context.Context, id int64) (endpointEntry, error) {
	docs, err := d.endpointDocs(ctx)
	if err != nil {
		return endpointEntry{}, err
	}
	return endpointOf(docs, id)
}

func endpointOf(docs map[int64]store.NotifyDoc, id int64) (endpointEntry, error) {
	if doc, ok := docs[id]; ok {
		spec, err := DecodeSpec[EndpointSpec](doc.Spec)
		if err == nil {
			err = spec.Check()
		}
		if err != nil {
			return endpointEntry{}, &notify.Error{Permanent: true, Err: fmt.Errorf("endpoint %q: %w", doc.Name, err)}
		}
		if spec.Disabled {
			return endpointEntry{}, &notify.Error{Permanent: true, Err: fmt.Errorf("endpoint %q is disabled", doc.Name)}
		}
		return endpointEntry{doc: doc, spec: spec}, nil
	}
	return endpointEntry{}, &notify.Error{Permanent: true, Err: fmt.Errorf("endpoint %d was deleted", id)}
}

// endpointSender builds (and caches until the endpoint changes) the
// sender of one endpoint.
func (d *Dispatcher) endpointSender(ctx context.Context, ep endpointEntry) (notify.Sender, error) {
	switch ep.spec.Kind {
	case KindEmail:
		if d.cfg.Email == nil {
			return nil, &notify.Error{Permanent: true, Err: fmt.Errorf("e-mail: %w (no SMTP server)", errNotConfigured)}
		}
		return d.cfg.Email, nil
	case KindMQTT:
		return d.mqttSender(ctx, ep.spec.Cluster)
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if c, ok := d.webhooks[ep.doc.ID]; ok && c.updated.Equal(ep.doc.UpdatedAt) {
		return c.s, nil
	}
	s, err := d.cfg.Webhook(notify.WebhookConfig{URL: ep.spec.URL, Secret: []byte(ep.spec.Secret),
		Format: notify.WebhookFormat(ep.spec.Format), CAP: d.cfg.CAP})
	if err != nil {
		return nil, &notify.Error{Permanent: true, Err: fmt.Errorf("endpoint %q: %w", ep.doc.Name, err)}
	}
	d.webhooks[ep.doc.ID] = cachedSender{updated: ep.doc.UpdatedAt, s: s}
	return s, nil
}

func (d *Dispatcher) mqttSender(ctx context.Context, cluster string) (notify.Sender, error) {
	if d.cfg.MQTT.URL == "" {
		return nil, &notify.Error{Permanent: true, Err: fmt.Errorf("mqtt: %w (RADTRACK_MQTT_URL unset)", errNotConfigured)}
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if m, ok := d.mqtt[cluster]; ok {
		return m, nil
	}
	cfg := d.cfg.MQTT
	cfg.Cluster = cluster
	if cfg.ClientID == "" {
		cfg.ClientID = "radtrack-" + cluster + "-" + d.cfg.Node
	}
	// The connection outlives this attempt: it is closed by Close.
	m, err := notify.NewMQTT(context.WithoutCancel(ctx), cfg)
	if err != nil {
		return nil, &notify.Error{Permanent: true, Err: err}
	}
	d.mqtt[cluster] = m
	return m, nil
}

// docs are the endpoint documents by id.
func (s *snapshot) docs() map[int64]store.NotifyDoc {
	docs := make(map[int64]store.NotifyDoc, len(s.endpoints))
	for id, ep := range s.endpoints {
		docs[id] = ep.doc
	}
	return docs
}

// reaches reports whether user u may be paged about an incident of these
// vehicles: users of the root site about every incident, others only when
// a vehicle of the incident is in their site's subtree (a sub-centre's
// operators never learn of another sub-centre's alarms).
func (s *snapshot) reaches(u store.User, vehicles []notify.Vehicle) bool {
	if u.SiteID == 0 || u.SiteID == store.RootSiteID || s.sites == nil {
		return true
	}
	for _, v := range vehicles {
		site := v.SiteID
		if site == 0 {
			site = store.RootSiteID
		}
		if s.sites.Within(site, u.SiteID) {
			return true
		}
	}
	return false
}
