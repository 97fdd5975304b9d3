package app

import (
	"context"
	"math"
	"sync"
	"sync/atomic"
	"time"

	"github.com/radtrack/radtrack/incidents"
	"github.com/radtrack/radtrack/notify"
	"github.com/radtrack/radtrack/rules"
)

// Alarms raised while the database is away are journaled under
// provisional (negative) ids and have no incident until the database
// returns. The notifier pages them from memory at once (the T+0 step of
// the matching rules, dispatch.PageFromMemory) and remembers whom it
// reached; when the journal is stored and the alarm joins an incident,
// those recipients' T+0 deliveries are recorded instead of sent again
// (dispatch.MarkPaged). Alarms of one vehicle within the incidents window
// page once, as the incident they will form would.

// alarmTap is an alarm publisher placed before incidents: the alarm
// publishers are fixed when the core opens, before the notifier exists.
type alarmTap struct{ n atomic.Pointer[notifier] }

func (t *alarmTap) PublishAlarm(ctx context.Context, ev rules.Event) error {
	if n := t.n.Load(); n != nil {
		n.alarm(ctx, ev)
	}
	return nil
}

// outageWindow groups a vehicle's provisional alarms into one page (the
// incidents' default window).
const outageWindow = 10 * time.Minute

// outagePages is what was paged from memory, by alarm id (provisional,
// and stored once the journal drain says which).
type outagePages struct {
	mu       sync.Mutex
	byDevice map[int64]*outageGroup
	byAlarm  map[int64]*outageGroup
}

type outageGroup struct {
	incident int64 // the provisional incident id its pages carry
	first    time.Time
	paged    map[string]bool
}

func newOutagePages() outagePages {
	return outagePages{byDevice: map[int64]*outageGroup{}, byAlarm: map[int64]*outageGroup{}}
}

// alarm sees every alarm event before incidents does. A provisional raise
// is queued to be paged; the event that stores a provisional alarm links
// its stored id to what was paged.
func (n *notifier) alarm(ctx context.Context, ev rules.Event) {
	if n.d == nil || ev.Imported || incidents.IsHealth(ev.Episode) {
		return
	}
	if ev.AlarmID > 0 && ev.Episode.ProvisionalID < 0 {
		n.outage.link(ev.Episode.ProvisionalID, ev.AlarmID)
		return
	}
	if ev.AlarmID >= 0 || (ev.Type != rules.EventRaised && ev.Type != rules.EventRealarm) {
		return
	}
	select {
	case n.queue <- queued{alarm: &ev}:
	case <-ctx.Done():
		n.log.Error("alarm raised during a database outage not queued for notification", "alarm", ev.AlarmID, "err", ctx.Err())
	}
}

func (o *outagePages) link(provisional, stored int64) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if g, ok := o.byAlarm[provisional]; ok {
		o.byAlarm[stored] = g
		delete(o.byAlarm, provisional)
	}
}

// group returns the vehicle's open group for an alarm first seen at t,
// starting one (incident: the provisional id its pages carry) if none.
func (o *outagePages) group(alarm, device int64, t time.Time) *outageGroup {
	o.mu.Lock()
	defer o.mu.Unlock()
	g, ok := o.byDevice[device]
	if !ok || t.Sub(g.first) > outageWindow || g.first.Sub(t) > outageWindow {
		g = &outageGroup{incident: -alarm, first: t, paged: map[string]bool{}}
		o.byDevice[device] = g
	}
	o.byAlarm[alarm] = g
	return g
}

// pagedFor returns (once) the recipients paged from memory for any of
// the alarms.
func (o *outagePages) pagedFor(alarms []rules.Episode) []string {
	o.mu.Lock()
	defer o.mu.Unlock()
	seen := map[string]bool{}
	var out []string
	for _, a := range alarms {
		g, ok := o.byAlarm[a.ID]
		if !ok {
			continue
		}
		delete(o.byAlarm, a.ID)
		for r := range g.paged {
			if !seen[r] {
				seen[r] = true
				out = append(out, r)
			}
		}
	}
	return out
}

// pageOutage pages a provisional alarm from memory to those its vehicle's
// group has not reached yet.
func (n *notifier) pageOutage(ctx context.Context, ev rules.Event) {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	g := n.outage.group(ev.AlarmID, ev.Key.DeviceID, ev.Episode.FirstSeen)
	n.outage.mu.Lock()
	already := make(map[string]bool, len(g.paged))
	for r := range g.paged {
		already[r] = true
	}
	n.outage.mu.Unlock()
	paged, err := n.d.PageFromMemory(ctx, provisionalEvent(ctx, n, ev, g.incident), already)
	if err != nil {
		n.log.Error("page an alarm raised during a database outage", "alarm", ev.AlarmID, "err", err)
		return
	}
	n.outage.mu.Lock()
	for _, r := range paged.Recipients {
		g.paged[r] = true
	}
	n.outage.mu.Unlock()
	for r, err := range paged.Failed {
		n.log.Warn("page from memory failed; the outbox sends it when the database is back", "alarm", ev.AlarmID, "recipient", r, "err", err)
	}
	n.log.Warn("database unavailable: alarm paged from memory", "alarm", ev.AlarmID, "recipients", len(paged.Recipients), "failed", len(paged.Failed))
}

// provisionalEvent is the page of an alarm with no incident yet: it
// carries the group's provisional incident id (a large number no stored
// incident has) and says in its title that the incident follows.
func provisionalEvent(ctx context.Context, n *notifier, ev rules.Event, incident int64) notify.Event {
	ep := ev.Episode
	out := notify.Incident{ID: incident, Version: ep.FirstSeen.UnixMicro(), State: rules.StateRaised, Severity: ep.Severity,
		Rules: []string{ep.RuleName}, FirstSeen: ep.FirstSeen, LastSeen: ep.LastSeen,
		Peak: notify.Peak{Time: ep.PeakTime, LonLat: [2]float64{ep.PeakLon, ep.PeakLat}, GPSValid: ep.PeakGPSValid}}
	if !math.IsNaN(ep.PeakDose) && ep.PeakDose > 0 {
		d := ep.PeakDose
		out.Peak.DoseUSvh = &d
	}
	v := notify.Vehicle{ID: ep.DeviceID}
	dctx, cancel := context.WithTimeout(ctx, 2*time.Second) // a snapshot answers during an outage, or nothing does
	if dev, err := n.st.DeviceByID(dctx, ep.DeviceID); err == nil {
		v.UID, v.Name, v.Group = dev.UID, dev.Name, dev.Group
	}
	cancel()
	out.Vehicles = []notify.Vehicle{v}
	out.Title = ep.RuleName + ": " + v.Label() + " (database unreachable: provisional alarm, incident to follow)"
	if out.Version <= 0 {
		out.Version = ev.Time.UnixMicro()
	}
	return notify.Event{Type: notify.EventRaised, Time: ev.Time, Incident: out}
}
