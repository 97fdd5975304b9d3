package store

import (
	"context"
	"encoding/json"
	"time"

	"github.com/radtrack/radtrack/rules"
)

// Fence is a stored geofence: its GeoJSON Feature is interpreted by the geo
// package, never by the store.
type Fence struct {
	ID        int64           `json:"id"`
	Name      string          `json:"name"`
	Kind      string          `json:"kind"`
	Feature   json.RawMessage `json:"feature"`
	SiteID    int64           `json:"site_id"` // applies to this site's subtree; 0 on create: the root
	CreatedAt time.Time       `json:"created_at"`
	UpdatedAt time.Time       `json:"updated_at"`
}

// AlarmFilter selects alarms; zero fields do not filter.
type AlarmFilter struct {
	States   []rules.State
	Severity []rules.Severity
	DeviceID int64
	From, To time.Time // first_seen in [From, To)
	// BBox [west, south, east, north] filters by peak position.
	BBox     *[4]float64
	Imported *bool
	// Unfiled selects alarms in no incident.
	Unfiled bool
	Limit   int
}

// AlarmEvent is one row of an alarm's audit trail.
type AlarmEvent struct {
	ID       int64           `json:"id"`
	AlarmID  int64           `json:"alarm_id"`
	Type     string          `json:"type"`
	Time     time.Time       `json:"time"`
	User     string          `json:"user,omitempty"`
	Comment  string          `json:"comment,omitempty"`
	Code     string          `json:"code,omitempty"`
	Snapshot json.RawMessage `json:"snapshot"`
}

// Alarms stores fences, rules, alarm episodes and their audit trail.
type Alarms interface {
	ListFences(ctx context.Context) ([]Fence, error)
	Fence(ctx context.Context, id int64) (Fence, error)
	CreateFence(ctx context.Context, f Fence) (Fence, error)
	UpdateFence(ctx context.Context, f Fence) (Fence, error)
	DeleteFence(ctx context.Context, id int64) error

	// SeedRules stores defaults once per installation: it does nothing if
	// rules were ever seeded before, even if all were deleted since.
	SeedRules(ctx context.Context, defaults []rules.Rule) (seeded bool, err error)
	ListRules(ctx context.Context) ([]rules.Rule, error)
	CreateRule(ctx context.Context, r rules.Rule) (rules.Rule, error)
	UpdateRule(ctx context.Context, r rules.Rule) (rules.Rule, error)
	DeleteRule(ctx context.Context, id int64) error
	// ConfigVersion returns a number that every change of fences or rules
	// moves, in the change's own transaction: fences and rules loaded
	// after reading version V are current while it still reads V.
	ConfigVersion(ctx context.Context) (int64, error)

	// RaiseAlarm stores an episode the rules engine raised. If an unresolved
	// episode with the same key exists (raised by another node), the new
	// one is merged into it and created is false.
	RaiseAlarm(ctx context.Context, ep rules.Episode, ev rules.Event) (id int64, created bool, err error)
	// UpdateAlarm records an open episode's progress (last seen, peak,
	// condition) and adds addSamples to its sample count — a delta, because
	// several nodes may count samples of the same episode; it never changes
	// the state.
	UpdateAlarm(ctx context.Context, ep rules.Episode, addSamples int) error
	// TransitionAlarm stores a state change made by a person, only if the
	// stored state is still from (ErrConflict otherwise), with its event.
	TransitionAlarm(ctx context.Context, ep rules.Episode, from rules.State, events []rules.Event) error
	// AppendAlarmEvent adds a row to an alarm's audit trail.
	AppendAlarmEvent(ctx context.Context, alarmID int64, ev rules.Event) error
	Alarm(ctx context.Context, id int64) (rules.Episode, error)
	ListAlarms(ctx context.Context, f AlarmFilter) ([]rules.Episode, error)
	AlarmEvents(ctx context.Context, alarmID int64) ([]AlarmEvent, error)
}
