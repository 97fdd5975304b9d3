package dispatch

import (
	"context"
	"fmt"
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
// the sender's MaxDigest. Pages overtaken by an acknowledgement here are
// dropped (the store cancelled them).
func (d *Dispatcher) sendBatch(ctx context.Context, jobs []job, docs map[int64]store.NotifyDoc, results *outcomes) {
	live := jobs[:0:0]
	for _, j := range jobs {
		if d.isStopped(j.it) {
			d.m.cancelled.Inc()
			continue
		}
		live = append(live, j)
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
		for _, j := range live {
			results.add(d.attempt(ctx, j, docs))
		}
		return
	}
	for len(live) > 0 {
		n := min(len(live), ds.MaxDigest())
		d.sendDigest(ctx, ds, live[:n], docs, results)
		live = live[n:]
	}
}

// sendDigest sends jobs as one message; each covered outbox row gets
// the attempt's outcome, its own idempotency key kept.
func (d *Dispatcher) sendDigest(ctx context.Context, ds notify.DigestSender, jobs []job, docs map[int64]store.NotifyDoc, results *outcomes) {
	if len(jobs) == 1 {
		results.add(d.attempt(ctx, jobs[0], docs))
		return
	}
	start := d.now()
	var (
		g    notify.Digest
		sent []job
	)
	for _, j := range jobs {
		dl, err := j.delivery()
		if err != nil {
			results.add(d.outcome(ctx, j.it, dl, err, start, ""))
			continue
		}
		g.Deliveries = append(g.Deliveries, dl)
		sent = append(sent, j)
	}
	if len(sent) == 0 {
		return
	}
	sctx, cancel := context.WithTimeout(ctx, d.cfg.Lease)
	err := ds.SendDigest(sctx, g)
	cancel()
	channel := sent[0].it.Channel
	note := fmt.Sprintf("in a digest of %d (%s)", len(sent), g.Key())
	if err == nil {
		d.m.digests.WithLabelValues(channel).Inc()
		d.m.digested.WithLabelValues(channel).Add(float64(len(sent)))
	}
	for i, j := range sent {
		results.add(d.outcome(ctx, j.it, g.Deliveries[i], err, start, note))
	}
}
