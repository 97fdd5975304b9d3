package app

import (
	"context"
	"encoding/json"
	"log/slog"
	"time"

	"github.com/radtrack/radtrack/incidents"
	"github.com/radtrack/radtrack/live"
	"github.com/radtrack/radtrack/localize"
	"github.com/radtrack/radtrack/store"
)

// The source estimates of incidents (issue #20 item 3): a background
// estimator per node refits the incidents this node files as their alarms
// progress, stores each estimate and pushes it as a live "source" frame.

// startSources subscribes the node's estimator to its incident events and
// returns it (Run starts it).
func (n *Node) startSources() *localize.Estimator {
	est := localize.NewEstimator(n.Store, localize.EstimatorConfig{
		Log: n.log,
		Publish: func(_ context.Context, inc store.Incident, estimate json.RawMessage) {
			n.live.hub.PublishAlarm(live.AlarmEvent{Kind: live.KindSource, Type: live.EventUpdated,
				AlarmID: inc.ID, DeviceID: inc.PeakDeviceID, Time: time.Now(), Payload: estimate})
		},
	})
	n.Incidents.Subscribe(func(_ context.Context, ev incidents.Event) { est.Note(ev.Incident) })
	return est
}

// openSources lists the stored estimates of the unresolved incidents a
// viewer may see, for a snapshot: those still standing (fitted through the
// incident's last_seen) whose passes are all of vehicles the viewer sees
// (sees nil: every vehicle). The others the map asks of the REST route,
// which fits them for the viewer. One query, without the incidents'
// alarms (an emergency's incident holds thousands).
func openSources(ctx context.Context, st store.Store, log *slog.Logger, sees func(int64) bool) ([]json.RawMessage, error) {
	ctx, cancel := context.WithTimeout(ctx, openAlarmsTimeout)
	defer cancel()
	list, err := st.OpenIncidentSources(ctx)
	if err != nil {
		log.Warn("open incident sources for a snapshot: database unavailable", "err", err)
		return []json.RawMessage{}, nil
	}
	out := make([]json.RawMessage, 0, len(list))
	for _, s := range list {
		if sees != nil {
			// An incident is one site's: who sees its peak's vehicle sees it.
			if !sees(s.PeakDeviceID) {
				continue
			}
			if _, ok := localize.InScope(s.IncidentSource, sees); !ok {
				continue
			}
		}
		out = append(out, s.Estimate)
	}
	return out, nil
}
