package dispatch

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/radtrack/radtrack/notify"
	"github.com/radtrack/radtrack/store"
)

// Digests. In a storm a person would get a phone buzz per incident, and
// a gateway a request per endpoint per incident. So during a drain the
// pages to one receiver go through a lane: the first goes at once, and
// the pages that queue behind it while it is on its way go as one
// message (notify.Digest) when it is done. Only pages merge (an
// acknowledgement or resolution is its own message), and only through
// senders that can carry several (MQTT and CAP webhooks never merge).

// laneKey names the receiver a job goes to, "" for a job that never
// merges: a user's push subscription or e-mail address (by contact), an
// e-mail endpoint by address, and JSON webhook endpoints by URL and
// secret (several endpoints on one gateway get one request with a
// recipient list).
func laneKey(j job, docs map[int64]store.NotifyDoc) string {
	it := j.it
	if !it.Pages || j.paged {
		return ""
	}
	if it.EndpointID == 0 {
		switch it.Channel {
		case ChannelPush, ChannelEmail:
			base, _, _ := strings.Cut(it.Recipient, "#") // a reminder goes to the same contact
			return it.Channel + "\x00" + base
		}
		return ""
	}
	doc, ok := docs[it.EndpointID]
	if !ok {
		return ""
	}
	spec, err := DecodeSpec[EndpointSpec](doc.Spec)
	if err != nil || spec.Disabled {
		return ""
	}
	switch {
	case spec.Kind == KindWebhook && (spec.Format == "" || spec.Format == string(notify.WebhookJSON)):
		return "webhook\x00" + spec.URL + "\x00" + spec.Secret
	case spec.Kind == KindEmail:
		return "email\x00" + strings.ToLower(spec.Address)
	}
	return ""
}

// lanes tracks, for one drain, the receivers a message is on its way to
// and the pages queued behind it.
type lanes struct {
	mu   sync.Mutex
	busy map[string][]job
}

func newLanes() *lanes { return &lanes{busy: map[string][]job{}} }

// group splits jobs into batches by receiver, in order of first
// appearance; a job that never merges is a batch of its own.
func (l *lanes) group(jobs []job, docs map[int64]store.NotifyDoc) []batch {
	var (
		out []batch
		at  = map[string]int{}
	)
	for _, j := range jobs {
		key := laneKey(j, docs)
		if i, ok := at[key]; ok && key != "" {
			out[i].jobs = append(out[i].jobs, j)
			continue
		}
		if key != "" {
			at[key] = len(out)
		}
		out = append(out, batch{lane: key, jobs: []job{j}})
	}
	return out
}

// admit tells whether jobs go now (their lane was free, and is busy
// now) or were queued behind the message in flight.
func (l *lanes) admit(key string, jobs []job) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if q, ok := l.busy[key]; ok {
		l.busy[key] = append(q, jobs...)
		return false
	}
	l.busy[key] = nil
	return true
}

// next is called when the lane's message is done: what queued meanwhile
// (the lane stays busy with it), or nil and the lane is free.
func (l *lanes) next(key string) []job {
	l.mu.Lock()
	defer l.mu.Unlock()
	q := l.busy[key]
	if len(q) == 0 {
		delete(l.busy, key)
		return nil
	}
	l.busy[key] = nil
	return q
}

// batch is what a worker sends: one job, or the jobs that queued in a
// lane.
type batch struct {
	lane string
	jobs []job
}

// sendLane sends b and then, while its lane has pages queued, those as
// digests; every outcome goes to results.
func (d *Dispatcher) sendLane(ctx context.Context, b batch, l *lanes, docs map[int64]store.NotifyDoc, results *outcomes) {
	for jobs := b.jobs; len(jobs) > 0; {
		d.sendBatch(ctx, jobs, docs, results)
		if b.lane == "" {
			return
		}
		jobs = l.next(b.lane)
	}
}

// sendBatch sends jobs to one receiver: alone, or as digests of at most
// the sender's MaxDigest pages (a stored digest's pages stay together).
// Pages overtaken by an acknowledgement here are dropped (the store
// cancelled them).
func (d *Dispatcher) sendBatch(ctx context.Context, jobs []job, docs map[int64]store.NotifyDoc, results *outcomes) {
	var (
		live  []job
		pages [][]notify.Delivery // live[i]'s
		total int
	)
	for _, j := range jobs {
		ps, err := j.deliveries()
		if err != nil {
			results.add(d.outcome(ctx, j.it, nil, err, d.now(), ""))
			continue
		}
		if ps = d.unstopped(ps); len(ps) == 0 {
			d.m.cancelled.Inc()
			continue
		}
		live, pages, total = append(live, j), append(pages, ps), total+len(ps)
	}
	if len(live) == 0 {
		return
	}
	var ds notify.DigestSender
	if len(live) > 1 {
		if s, err := d.sender(ctx, live[0].it.Channel, live[0].it.EndpointID, docs); err == nil {
			if g, ok := s.(notify.DigestSender); ok && g.MaxDigest() > 1 {
				ds = g
			}
		}
	}
	if ds == nil {
		for i, j := range live {
			results.add(d.attempt(ctx, j, pages[i], docs))
		}
		return
	}
	for len(live) > 0 {
		n, size := 1, len(pages[0])
		for n < len(live) && size+len(pages[n]) <= ds.MaxDigest() {
			size += len(pages[n])
			n++
		}
		d.sendDigest(ctx, ds, live[:n], pages[:n], docs, results)
		live, pages = live[n:], pages[n:]
	}
}

// sendDigest sends jobs' pages as one message; each job's outbox row gets
// the attempt's outcome, every page's idempotency key kept.
func (d *Dispatcher) sendDigest(ctx context.Context, ds notify.DigestSender, jobs []job, pages [][]notify.Delivery, docs map[int64]store.NotifyDoc, results *outcomes) {
	if len(jobs) == 1 {
		results.add(d.attempt(ctx, jobs[0], pages[0], docs))
		return
	}
	start := d.now()
	var g notify.Digest
	for _, ps := range pages {
		g.Deliveries = append(g.Deliveries, ps...)
	}
	sctx, cancel := context.WithTimeout(ctx, d.cfg.Lease)
	err := ds.SendDigest(sctx, g)
	cancel()
	note := d.digestSent(jobs[0].it.Channel, g, err)
	for i, j := range jobs {
		results.add(d.outcome(ctx, j.it, pages[i], err, start, note))
	}
}

// digestSent counts a digest that went (err nil) in the metrics and
// returns the note its attempts record.
func (d *Dispatcher) digestSent(channel string, g notify.Digest, err error) string {
	if err == nil {
		d.m.digests.WithLabelValues(channel).Inc()
		d.m.digested.WithLabelValues(channel).Add(float64(len(g.Deliveries)))
	}
	return fmt.Sprintf("in a digest of %d (%s)", len(g.Deliveries), g.Key())
}

// storedDigests turns a planning pass's deliveries (items, and dls, one
// per item) into the outbox items to store, encoded, and their jobs
// (jobs[i] sends out[i]): the pages to one receiver that takes digests become one item,
// a stored digest of at most the sender's MaxDigest pages. In a storm a
// receiver then costs one row, one outcome and one attempt per pass, not
// one per incident. A page the outage path already sent from memory
// stays on its own: only its record is left to store (its mark is taken
// once the pass is stored, so a pass that fails leaves it).
func (d *Dispatcher) storedDigests(ctx context.Context, cfg *snapshot, items []store.OutboxItem, dls []*notify.Delivery) ([]store.OutboxItem, []job, error) {
	docs := cfg.docs()
	var (
		codes eventCodes
		out   []store.OutboxItem
		jobs  []job
		lanes = map[string][]int{} // lane → indices into items, in order
		order []string
	)
	seen := make(map[string]bool, len(items))
	endpointLanes := map[int64]string{} // an endpoint's spec decoded once a pass, not once a page
	laneOf := func(it store.OutboxItem) string {
		if it.EndpointID == 0 || !it.Pages {
			return laneKey(job{it: it}, docs)
		}
		key, ok := endpointLanes[it.EndpointID]
		if !ok {
			key = laneKey(job{it: it}, docs)
			endpointLanes[it.EndpointID] = key
		}
		return key
	}
	for i, it := range items {
		if seen[it.Key] {
			continue // two rules paging one receiver about one incident: once
		}
		seen[it.Key] = true
		paged := it.Pages && d.isPaged(it) // taken once the pass is stored
		key := ""
		if !d.cfg.NoDigests && !paged {
			key = laneOf(it)
		}
		if key == "" {
			one, j, err := digestItem(items, dls, []int{i}, &codes)
			if err != nil {
				return nil, nil, err
			}
			j.paged = paged
			out, jobs = append(out, one), append(jobs, j)
			continue
		}
		if _, ok := lanes[key]; !ok {
			order = append(order, key)
		}
		lanes[key] = append(lanes[key], i)
	}
	// The receivers with the most pages first: they are queued to be sent
	// in this order, and in a storm a gateway's one request carries the
	// pages of all its endpoints (600 a pass), a phone's digest 20.
	slices.SortStableFunc(order, func(a, b string) int { return len(lanes[b]) - len(lanes[a]) })
	for _, key := range order {
		idx := lanes[key]
		first := items[idx[0]]
		most := 1
		if s, err := d.sender(ctx, first.Channel, first.EndpointID, docs); err == nil {
			if g, ok := s.(notify.DigestSender); ok {
				most = max(g.MaxDigest(), 1)
			}
		}
		for len(idx) > 0 {
			n := min(len(idx), most)
			it, j, err := digestItem(items, dls, idx[:n], &codes)
			if err != nil {
				return nil, nil, err
			}
			out, jobs = append(out, it), append(jobs, j)
			idx = idx[n:]
		}
	}
	return out, jobs, nil
}

// digestItem is the outbox item of the pages items[idx] (to one
// receiver): one of them alone, or a stored digest. codes encodes each
// event once a pass.
func digestItem(items []store.OutboxItem, dls []*notify.Delivery, idx []int, codes *eventCodes) (store.OutboxItem, job, error) {
	first := items[idx[0]]
	if len(idx) == 1 {
		dl := dls[idx[0]]
		ev, _, err := codes.code(dl.Event)
		if err == nil {
			first.Delivery, err = encodeDelivery(ev.JSON, dl.Recipient)
		}
		return first, job{it: first, pages: []*notify.Delivery{dl}}, err
	}
	var (
		g          notify.Digest
		row        storedDigest
		pages      = make([]*notify.Delivery, len(idx))
		events     = map[int]int{}              // pass-wide event number → index in first.Events
		recipients = map[notify.Recipient]int{} // → index in row.Recipients
	)
	for k, i := range idx {
		dl := dls[i]
		pages[k] = dl
		g.Deliveries = append(g.Deliveries, *dl)
		ev, n, err := codes.code(dl.Event)
		if err != nil {
			return first, job{}, err
		}
		e, ok := events[n]
		if !ok {
			e = len(first.Events)
			events[n] = e
			first.Events = append(first.Events, ev)
		}
		r, ok := recipients[dl.Recipient]
		if !ok {
			r = len(row.Recipients)
			recipients[dl.Recipient] = r
			row.Recipients = append(row.Recipients, dl.Recipient)
		}
		row.Pages = append(row.Pages, storedPage{Event: e, Recipient: json.RawMessage(strconv.Itoa(r))})
		if !slices.Contains(first.Covers, dl.Event.Incident.ID) {
			first.Covers = append(first.Covers, dl.Event.Incident.ID)
		}
	}
	raw, err := json.Marshal(row)
	if err != nil {
		return first, job{}, fmt.Errorf("dispatch: encode stored digest: %w", err)
	}
	first.Key, first.Delivery = g.Key(), raw
	return first, job{it: first, pages: pages}, nil
}

// eventCodes encodes each event of a planning pass once, however many
// pages carry it, and names it by a hash of its JSON: the key under which
// the store keeps it once for every row that pages it.
type eventCodes struct {
	index map[eventID]int
	coded []store.OutboxEvent
}

type eventID struct {
	incident int64
	ref      notify.EventRef
	at       int64
}

// code is ev encoded and its number in the pass.
func (c *eventCodes) code(ev notify.Event) (store.OutboxEvent, int, error) {
	id := eventID{ev.Incident.ID, ev.Ref(), ev.Time.UnixNano()}
	if n, ok := c.index[id]; ok {
		return c.coded[n], n, nil
	}
	raw, err := json.Marshal(ev)
	if err != nil {
		return store.OutboxEvent{}, 0, fmt.Errorf("dispatch: encode event: %w", err)
	}
	if c.index == nil {
		c.index = map[eventID]int{}
	}
	sum := sha256.Sum256(raw)
	c.index[id] = len(c.coded)
	c.coded = append(c.coded, store.OutboxEvent{Key: base64.RawURLEncoding.EncodeToString(sum[:16]), JSON: raw})
	return c.coded[len(c.coded)-1], len(c.coded) - 1, nil
}

// storedDigest is a stored digest's row: its pages, each naming its
// event (an index into the row's OutboxItem.Events) and its recipient
// (an index into Recipients: a phone's row names one recipient, however
// many pages). Rows stored before migration 0019 hold their events
// (Events) and each page's recipient inline; they are read as stored.
type storedDigest struct {
	Events     []notify.Event     `json:"events,omitempty"`
	Recipients []notify.Recipient `json:"recipients,omitempty"`
	Pages      []storedPage       `json:"pages"`
}

type storedPage struct {
	Event     int             `json:"event"`
	Recipient json.RawMessage `json:"recipient"` // an index into Recipients, or (before 0019) the recipient
}

// deliveries are the digest's pages; stored names the events of a row
// that does not hold them.
func (sd storedDigest) deliveries(stored []store.OutboxEvent) ([]notify.Delivery, error) {
	events := sd.Events
	if events == nil {
		events = make([]notify.Event, len(stored))
		for i, e := range stored {
			if err := json.Unmarshal(e.JSON, &events[i]); err != nil {
				return nil, fmt.Errorf("%w: stored digest event %s: %v", notify.ErrInvalid, e.Key, err)
			}
		}
	}
	out := make([]notify.Delivery, len(sd.Pages))
	for i, p := range sd.Pages {
		if p.Event < 0 || p.Event >= len(events) {
			return nil, fmt.Errorf("%w: stored digest page %d names event %d of %d", notify.ErrInvalid, i, p.Event, len(events))
		}
		out[i].Event = events[p.Event]
		if r, err := strconv.Atoi(string(p.Recipient)); err == nil {
			if r < 0 || r >= len(sd.Recipients) {
				return nil, fmt.Errorf("%w: stored digest page %d names recipient %d of %d", notify.ErrInvalid, i, r, len(sd.Recipients))
			}
			out[i].Recipient = sd.Recipients[r]
		} else if err := json.Unmarshal(p.Recipient, &out[i].Recipient); err != nil {
			return nil, fmt.Errorf("%w: stored digest page %d recipient: %v", notify.ErrInvalid, i, err)
		}
	}
	return out, nil
}
