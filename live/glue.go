package live

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"

	"github.com/radtrack/radtrack/incidents"
	"github.com/radtrack/radtrack/rules"
	"github.com/radtrack/radtrack/sample"
	"github.com/radtrack/radtrack/store"
)

// The glue between the ingest side of a node and its hub.

// AlarmPublisher hands every stored alarm event to the hub (it implements
// alarms.Publisher). It never waits for the broker: the hub keeps the
// events in order and delivers them (see PublishAlarm).
type AlarmPublisher struct{ Hub *Hub }

// PublishAlarm renders the episode as the REST API does and queues it.
func (p AlarmPublisher) PublishAlarm(_ context.Context, ev rules.Event) error {
	payload, err := json.Marshal(ev.Episode)
	if err != nil {
		return fmt.Errorf("render alarm %d: %w", ev.AlarmID, err)
	}
	p.Hub.PublishAlarm(AlarmEvent{Type: string(ev.Type), AlarmID: ev.AlarmID, DeviceID: ev.Key.DeviceID, Time: ev.Time, Payload: payload,
		// Swapping a provisional id for the stored one must not wait, nor
		// be replaced by a later update that does not carry it.
		Now:      ev.Episode.ProvisionalID != 0,
		Progress: ev.Type == rules.EventUpdated && !ev.NewPeak})
	return nil
}

// PositionStage is the pipeline stage that puts every live sample with a
// fix on the map. Imported samples are history: they do not move vehicles.
// It runs after the rules, so a position carries whether its device has an
// open alarm on this node's engine (the one that evaluated this sample).
type PositionStage struct {
	Hub      *Hub
	HasAlarm func(deviceID int64) bool
}

// Process implements the pipeline's stage; it never fails a sample.
func (s PositionStage) Process(_ context.Context, dev store.Device, samples []sample.Sample) error {
	ps := make([]Position, 0, len(samples))
	alarmed := s.HasAlarm(dev.ID)
	for _, smp := range samples {
		if smp.Imported {
			continue
		}
		if p, ok := PositionFromSample(smp, dev.Name); ok {
			p.UID = dev.UID
			p.Alarm = alarmed
			ps = append(ps, p)
		}
	}
	if len(ps) > 0 {
		s.Hub.PublishPositions(ps...)
	}
	return nil
}

// ResolvedEpisodes calls f with the episode of every "resolved" event in
// evs (events of the alarm log, e.g. from Config.OnAlarmEvents), so that a
// node can apply resolutions made on other nodes.
func ResolvedEpisodes(evs []AlarmEvent, f func(rules.Episode), onErr func(AlarmEvent, error)) {
	for _, ev := range evs {
		if ev.Type != EventResolved || ev.Kind != "" {
			continue
		}
		var ep rules.Episode
		if err := json.Unmarshal(ev.Payload, &ep); err != nil {
			onErr(ev, err)
			continue
		}
		f(ep)
	}
}

// IncidentPublisher pushes every incident event (incidents.Service.Subscribe)
// as an "incident" frame through the alarm log: same offsets, same
// never-dropped delivery, to every viewer who may see the device of the
// incident's peak.
type IncidentPublisher struct{ Hub *Hub }

// PublishIncident renders the incident as the REST API does and queues it.
// An event that changed some of a larger incident's alarms carries only
// those (partialIncident): an emergency's incident holds thousands of
// alarms, and a frame of all of them per filed alarm made every frame
// megabytes and the feed quadratic. Partial frames are never coalesced, as
// a later one does not hold an earlier one's alarms.
func (p IncidentPublisher) PublishIncident(_ context.Context, ev incidents.Event) error {
	inc := ev.Incident
	var (
		payload []byte
		err     error
		partial = ev.Changed != nil && len(ev.Changed) < len(inc.Alarms)
	)
	if partial {
		payload, err = json.Marshal(partialIncident{inc, ev.Changed})
	} else {
		payload, err = json.Marshal(inc)
	}
	if err != nil {
		return fmt.Errorf("render incident %d: %w", inc.ID, err)
	}
	p.Hub.PublishAlarm(AlarmEvent{Kind: KindIncident, Type: string(ev.Type), AlarmID: inc.ID,
		DeviceID: inc.PeakDeviceID, Time: ev.Time, Payload: payload, Now: partial})
	return nil
}

// partialIncident renders an incident without its alarms ("alarms" null),
// with the alarms in changed as "changed_alarms" and the number it has as
// "alarm_count" (live/PROTOCOL.md, revision 2026-12d). A client that does
// not know the revision sees an incident without alarms and shows them as
// lone alarms, none hidden.
type partialIncident struct {
	inc     store.Incident
	changed []int64
}

func (p partialIncident) MarshalJSON() ([]byte, error) {
	want := make(map[int64]bool, len(p.changed))
	for _, id := range p.changed {
		want[id] = true
	}
	changed := make([]rules.Episode, 0, len(p.changed))
	for _, a := range p.inc.Alarms {
		if want[a.ID] {
			changed = append(changed, a)
		}
	}
	inc := p.inc
	inc.Alarms = nil
	b, err := json.Marshal(inc)
	if err != nil {
		return nil, err
	}
	list, err := json.Marshal(changed)
	if err != nil {
		return nil, err
	}
	b = append(b[:len(b)-1], `,"changed_alarms":`...)
	b = append(b, list...)
	b = append(b, `,"alarm_count":`...)
	b = strconv.AppendInt(b, int64(len(p.inc.Alarms)), 10)
	return append(b, '}'), nil
}
