package deadline

import (
	"context"

	"github.com/radtrack/radtrack/rules"
	"github.com/radtrack/radtrack/store"
)

// Re-alarms and the filing of alarms into incidents are on the alarm's
// path (Hot); listing incidents is a read for people (Query).

func (x *Store) RealarmAlarm(ctx context.Context, alarmID int64, ev rules.Event) (err error) {
	var end func(*error)
	if ctx, end, err = x.begin(ctx, kindHot); err != nil {
		return
	}
	defer end(&err)
	return x.s.RealarmAlarm(ctx, alarmID, ev)
}

func (x *Store) SaveIncident(ctx context.Context, inc store.Incident, addAlarms ...int64) (_ int64, err error) {
	var end func(*error)
	if ctx, end, err = x.begin(ctx, kindHot); err != nil {
		return
	}
	defer end(&err)
	return x.s.SaveIncident(ctx, inc, addAlarms...)
}

func (x *Store) Incident(ctx context.Context, id int64) (_ store.Incident, err error) {
	var end func(*error)
	if ctx, end, err = x.begin(ctx, kindHot); err != nil {
		return
	}
	defer end(&err)
	return x.s.Incident(ctx, id)
}

func (x *Store) AlarmIncident(ctx context.Context, alarmID int64) (_ int64, err error) {
	var end func(*error)
	if ctx, end, err = x.begin(ctx, kindHot); err != nil {
		return
	}
	defer end(&err)
	return x.s.AlarmIncident(ctx, alarmID)
}

func (x *Store) ListIncidents(ctx context.Context, f store.IncidentFilter) (_ []store.Incident, err error) {
	var end func(*error)
	if ctx, end, err = x.begin(ctx, kindQuery); err != nil {
		return
	}
	defer end(&err)
	return x.s.ListIncidents(ctx, f)
}
