// Package incidentevent turns incident events into notification events:
// one mapping for the dispatcher's pages and the CAP feed.
package incidentevent

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/radtrack/radtrack/incidents"
	"github.com/radtrack/radtrack/localize"
	"github.com/radtrack/radtrack/notify"
	"github.com/radtrack/radtrack/rules"
	"github.com/radtrack/radtrack/store"
)

// Lookup names the vehicles and the fence of an incident.
type Lookup interface {
	DeviceByID(ctx context.Context, id int64) (store.Device, error)
	Fence(ctx context.Context, id int64) (store.Fence, error)
}

// SourceLookup, when a Lookup has it, adds the incident's latest source
// estimate (its CAP area). The store has it.
type SourceLookup interface {
	IncidentSource(ctx context.Context, incidentID int64) (store.IncidentSource, error)
}

// types maps incident events to notification events.
var types = map[incidents.EventType]notify.EventType{
	incidents.EventRaised:       notify.EventRaised,
	incidents.EventRealarm:      notify.EventRealarmed,
	incidents.EventUpdated:      notify.EventUpdated,
	incidents.EventAcknowledged: notify.EventAcknowledged,
	incidents.EventResolved:     notify.EventResolved,
}

// Of is an incident event as a notification. The version is
// the event time in microseconds (a raise: the incident's first sample, so
// a raise seen again has the same idempotency keys): increasing per
// incident and the same on every node.
func Of(ctx context.Context, st Lookup, ev incidents.Event) notify.Event {
	inc := ev.Incident
	typ := types[ev.Type]
	version := ev.Time.UnixMicro()
	if typ == notify.EventRaised && !inc.FirstSeen.IsZero() {
		version = inc.FirstSeen.UnixMicro()
	}
	out := notify.Incident{ID: inc.ID, Version: version, State: inc.State, Severity: inc.Severity,
		Peak:      notify.Peak{Time: inc.PeakTime, LonLat: [2]float64{inc.PeakLon, inc.PeakLat}, GPSValid: inc.PeakGPSValid},
		FirstSeen: inc.FirstSeen, LastSeen: inc.LastSeen, AckedBy: inc.AckedBy, AckedAt: inc.AckedAt,
		ResolvedBy: inc.ResolvedBy, ResolvedAt: inc.ResolvedAt, Adjudication: inc.Code}
	if !math.IsNaN(inc.PeakDose) && inc.PeakDose > 0 {
		d := inc.PeakDose
		out.Peak.DoseUSvh = &d
	}
	// Alarms are newest first; list rules and vehicles oldest first.
	seenDevice := map[int64]bool{}
	for i := len(inc.Alarms) - 1; i >= 0; i-- {
		ep := inc.Alarms[i]
		if !slices.Contains(out.Rules, ep.RuleName) {
			out.Rules = append(out.Rules, ep.RuleName)
		}
		if !seenDevice[ep.DeviceID] {
			seenDevice[ep.DeviceID] = true
			v := notify.Vehicle{ID: ep.DeviceID}
			if dev, err := st.DeviceByID(ctx, ep.DeviceID); err == nil {
				v.UID, v.Name, v.Group, v.SiteID = dev.UID, dev.Name, dev.Group, dev.SiteID
			}
			out.Vehicles = append(out.Vehicles, v)
		}
		if out.Fence == nil && ep.FenceID != 0 {
			out.Fence = fenceOf(ctx, st, ep.FenceID)
		}
	}
	if sl, ok := st.(SourceLookup); ok {
		out.Source = sourceOf(ctx, sl, inc.ID)
	}
	out.Title = strings.Join(out.Rules, ", ")
	if len(out.Vehicles) > 0 {
		out.Title += ": " + out.Vehicles[0].Label()
		if len(out.Vehicles) > 1 {
			out.Title += fmt.Sprintf(" and %d more", len(out.Vehicles)-1)
		}
	}
	n := notify.Event{Type: typ, Time: ev.Time, Incident: out}
	if typ != notify.EventRaised {
		n.History = []notify.EventRef{{Version: inc.FirstSeen.UnixMicro(), Type: notify.EventRaised, Time: inc.FirstSeen}}
	}
	return n
}

// Latest is an incident's present state as the event that made it: a
// resolved incident as its resolution (CAP Cancel), an acknowledged one as
// its acknowledgement, a re-alarmed one as its re-alarm (both CAP Update),
// else its raise (CAP Alert).
func Latest(ctx context.Context, st Lookup, inc store.Incident) notify.Event {
	ev := incidents.Event{Type: incidents.EventRaised, Incident: inc, Time: inc.FirstSeen}
	switch {
	case inc.State == rules.StateResolved:
		ev.Type, ev.Time = incidents.EventResolved, inc.ResolvedAt
	case inc.State == rules.StateAcknowledged:
		ev.Type, ev.Time = incidents.EventAcknowledged, inc.AckedAt
	case !inc.RealarmedAt.IsZero():
		ev.Type, ev.Time = incidents.EventRealarm, inc.RealarmedAt
	}
	if ev.Time.IsZero() {
		ev.Time = inc.LastSeen
	}
	return Of(ctx, st, ev)
}

// fenceOf is the fence with its name and geometry (for the CAP area); a
// fence that cannot be read keeps its id only, and CAP says so.
func fenceOf(ctx context.Context, st Lookup, id int64) *notify.Fence {
	f := &notify.Fence{ID: id}
	sf, err := st.Fence(ctx, id)
	if err != nil {
		return f
	}
	f.Name = sf.Name
	var feature struct {
		Geometry json.RawMessage `json:"geometry"`
	}
	if json.Unmarshal(sf.Feature, &feature) == nil {
		f.Geometry = feature.Geometry
	}
	return f
}

// sourceOf is the incident's stored source estimate with its ellipse, nil
// when there is none (not fitted yet, nothing to fit, or unreadable: a
// missing estimate must not stop an alarm).
func sourceOf(ctx context.Context, st SourceLookup, id int64) *notify.Source {
	stored, err := st.IncidentSource(ctx, id)
	if err != nil {
		return nil
	}
	var est localize.IncidentSource
	if json.Unmarshal(stored.Estimate, &est) != nil || est.Ellipse == nil || len(est.Ring) < 4 {
		return nil
	}
	return &notify.Source{LonLat: [2]float64{est.Lon, est.Lat}, Ring: est.Ring, Ambiguous: est.Ambiguous}
}
