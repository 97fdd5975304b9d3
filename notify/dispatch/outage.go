package dispatch

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/radtrack/radtrack/notify"
	"github.com/radtrack/radtrack/store"
)

// Paging while the database is away (issue 14: "during a database outage,
// alarms from the alarm journal still notify"). An alarm raised during an
// outage is journaled on local disk and has no incident yet; the caller
// hands it to PageFromMemory, which sends the first step (T+0) of every
// matching rule from the routing configuration last read, straight to
// the channels, with nothing stored. When the database is back and the
// alarm's incident is raised, the caller names the recipients already
// paged (MarkPaged): their T+0 deliveries are stored as sent, with an
// attempt saying so, instead of paging them a second time. Later steps
// (T+3 min …) need the store's timers and start when it is back.

// configRefresh is how often Run reads the routing configuration even
// when nothing is due, so that an outage finds a recent copy in memory.
const configRefresh = 10 * time.Second

// outageNote is the attempt recorded for a T+0 delivery that went out
// from memory during an outage.
const outageNote = "sent from memory during a database outage (alarm journal); not sent again"

// ErrNoConfig means no routing configuration has been read since start:
// nothing can be paged from memory.
var ErrNoConfig = errors.New("dispatch: no routing configuration in memory (the database was never reached)")

// Paged is the outcome of PageFromMemory.
type Paged struct {
	// Recipients reached (recipient IDs, as the store's outbox names them).
	Recipients []string
	// Failed recipients and why; they get their page from the outbox
	// once the database is back.
	Failed map[string]error
}

// PageFromMemory sends the T+0 step of every rule ev matches, from the
// routing configuration last read and without the store. ev must be a
// raise or re-alarm; its incident id and version make the idempotency
// keys (see MarkPaged for how the later, stored raise avoids a repeat).
// Recipients in skip (reached for an earlier alarm of the same incident
// to be) are left out.
func (d *Dispatcher) PageFromMemory(ctx context.Context, ev notify.Event, skip map[string]bool) (Paged, error) {
	if !ev.Type.Pages() || ev.Incident.ID <= 0 || ev.Time.IsZero() {
		return Paged{}, fmt.Errorf("dispatch: page from memory: invalid event %q for incident %d", ev.Type, ev.Incident.ID)
	}
	cfg := d.last.Load()
	if cfg == nil {
		return Paged{}, ErrNoConfig
	}
	raw, err := json.Marshal(ev)
	if err != nil {
		return Paged{}, fmt.Errorf("dispatch: encode event: %w", err)
	}
	var jobs []job
	seen := map[string]bool{}
	for _, r := range cfg.rules {
		pol, ok := cfg.policies[r.spec.Policy]
		if !r.spec.Matches(ev.Incident) || !ok || pol.Steps[0].DelayS != 0 {
			continue
		}
		items, dls, _, err := d.plan(cfg, store.Escalation{IncidentID: ev.Incident.ID, RuleID: r.id, PolicyID: r.spec.Policy, Active: true, Event: raw})
		if err != nil {
			return Paged{}, err
		}
		for i, it := range items {
			if !seen[it.Recipient] && !skip[it.Recipient] {
				seen[it.Recipient] = true
				jobs = append(jobs, job{it: it, pages: []*notify.Delivery{dls[i]}})
			}
		}
	}
	docs := cfg.docs()
	out := Paged{Failed: map[string]error{}}
	var mu sync.Mutex
	sem := make(chan struct{}, d.cfg.Workers)
	var wg sync.WaitGroup
	for _, j := range jobs {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			err := d.sendNow(ctx, j, docs)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				out.Failed[j.it.Recipient] = err
				return
			}
			out.Recipients = append(out.Recipients, j.it.Recipient)
		})
	}
	wg.Wait()
	return out, nil
}

// sendNow attempts one delivery, and once more after a second on a
// transient failure: there is no outbox to retry it later.
func (d *Dispatcher) sendNow(ctx context.Context, j job, docs map[int64]store.NotifyDoc) error {
	s, err := d.sender(ctx, j.it.Channel, j.it.EndpointID, docs)
	if err != nil {
		return err
	}
	for try := 0; ; try++ {
		sctx, cancel := context.WithTimeout(ctx, d.cfg.Lease)
		err = s.Send(sctx, *j.pages[0])
		cancel()
		if err == nil {
			d.m.delivered.WithLabelValues(j.it.Channel, "sent").Inc()
			d.m.latency.WithLabelValues(j.it.Channel).Observe(d.now().Sub(j.pages[0].Event.Time).Seconds())
			return nil
		}
		if try > 0 || notify.IsPermanent(err) {
			d.m.delivered.WithLabelValues(j.it.Channel, "failed").Inc()
			return err
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(time.Second):
		}
	}
}

// MarkPaged notes the recipients PageFromMemory reached for an alarm that
// is now part of incident: when the incident's T+0 step is planned, their
// deliveries are recorded as sent rather than sent again. Call it before
// Handle for the incident's raise.
func (d *Dispatcher) MarkPaged(incident int64, recipients []string) {
	if len(recipients) == 0 {
		return
	}
	d.fastMu.Lock()
	defer d.fastMu.Unlock()
	now := time.Now()
	for id, p := range d.paged {
		if now.Sub(p.at) > time.Hour {
			delete(d.paged, id) // the raise it waited for never came here
		}
	}
	p := d.paged[incident]
	if p.recipients == nil {
		p.recipients = map[string]bool{}
	}
	p.at = now
	for _, r := range recipients {
		p.recipients[r] = true
	}
	d.paged[incident] = p
}

type pagedMark struct {
	recipients map[string]bool
	at         time.Time
}

// isPaged tells whether the T+0 delivery it was paged from memory
// already, leaving the mark for takePaged.
func (d *Dispatcher) isPaged(it store.OutboxItem) bool {
	d.fastMu.Lock()
	defer d.fastMu.Unlock()
	p, ok := d.paged[it.IncidentID]
	return ok && p.recipients[it.Recipient]
}

// takePaged tells whether the T+0 delivery it was paged from memory
// already; each mark is used once.
func (d *Dispatcher) takePaged(it store.OutboxItem) bool {
	d.fastMu.Lock()
	defer d.fastMu.Unlock()
	p, ok := d.paged[it.IncidentID]
	if !ok || !p.recipients[it.Recipient] {
		return false
	}
	delete(p.recipients, it.Recipient)
	if len(p.recipients) == 0 {
		delete(d.paged, it.IncidentID)
	}
	return true
}

// recentConfig is how old a routing configuration read may be and still
// route an event: in a storm the configuration (every endpoint, user and
// contact) is read once a second rather than once per incident. An
// admin's change makes it stale at once (configChanging).
const recentConfig = time.Second

// recent returns the configuration last read if it is recent and no
// admin change may have come after it, else reads it.
func (d *Dispatcher) recent(ctx context.Context) (*snapshot, error) {
	if s := d.last.Load(); s != nil && time.Since(s.at) < recentConfig && s.at.UnixNano() > d.changed.Load()+int64(time.Second) {
		return s, nil
	}
	return d.load(ctx)
}

// recentEndpoints returns the endpoint documents of the configuration
// last read if it is recent (nil if not): a pass need not read them again.
func (d *Dispatcher) recentEndpoints() map[int64]store.NotifyDoc {
	s := d.last.Load()
	if s == nil || time.Since(s.at) >= recentConfig || s.at.UnixNano() <= d.changed.Load()+int64(time.Second) {
		return nil
	}
	docs := make(map[int64]store.NotifyDoc, len(s.endpoints))
	for id, ep := range s.endpoints {
		docs[id] = ep.doc
	}
	return docs
}

// configChanging notes that an admin is about to change the routing
// configuration (CheckDoc, CheckDelete come just before the write).
func (d *Dispatcher) configChanging() { d.changed.Store(time.Now().UnixNano()) }

// refreshConfig reads the routing configuration when the copy in memory
// is older than configRefresh, or was read before an admin's change had
// surely been written (a second after its check); a failure keeps the
// old copy.
func (d *Dispatcher) refreshConfig(ctx context.Context) {
	s := d.last.Load()
	if s != nil && time.Since(s.at) < configRefresh && s.at.UnixNano() > d.changed.Load()+int64(time.Second) {
		return
	}
	lctx, cancel := context.WithTimeout(ctx, storeTimeout)
	defer cancel()
	if _, err := d.load(lctx); err != nil && ctx.Err() == nil {
		d.log.Debug("read routing configuration", "err", err)
	}
}
