package app

import (
	"context"
	"encoding/json"
	"log/slog"
	"time"

	"github.com/radtrack/radtrack/incidents"
	"github.com/radtrack/radtrack/live"
	"github.com/radtrack/radtrack/localize"
	"github.com/radtrack/radtrack/rules"
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
// viewer may see, for a snapshot: those still standing whose passes are
// all of vehicles the viewer sees (sees nil: every vehicle). The others
// the map asks of the REST route, which fits them for the viewer.
func openSources(ctx context.Context, st store.Store, log *slog.Logger, sees func(int64) bool) ([]json.RawMessage, error) {
	ctx, cancel := context.WithTimeout(ctx, openAlarmsTimeout)
	defer cancel()
	imported := false
	list, err := st.ListIncidents(ctx, store.IncidentFilter{
		States: []rules.State{rules.StateRaised, rules.StateAcknowledged}, Imported: &imported,
	})
	if err != nil {
		log.Warn("open incident sources for a snapshot: database unavailable", "err", err)
		return []json.RawMessage{}, nil
	}
	byID := make(map[int64]store.Incident, len(list))
	ids := make([]int64, 0, len(list))
	for _, inc := range list {
		if sees != nil {
			if _, ok := incidents.Visible(inc, sees); !ok {
				continue
			}
		}
		byID[inc.ID] = inc
		ids = append(ids, inc.ID)
	}
	stored, err := st.IncidentSourcesOf(ctx, ids)
	if err != nil {
		log.Warn("open incident sources for a snapshot: database unavailable", "err", err)
		return []json.RawMessage{}, nil
	}
	out := make([]json.RawMessage, 0, len(stored))
	for _, s := range stored {
		if _, ok := localize.Stored(s, byID[s.IncidentID], sees); ok {
			out = append(out, s.Estimate)
		}
	}
	return out, nil
}
