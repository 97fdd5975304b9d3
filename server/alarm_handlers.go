package server

import (
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/radtrack/radtrack/alarms"
	"github.com/radtrack/radtrack/auth"
	"github.com/radtrack/radtrack/export"
	"github.com/radtrack/radtrack/rules"
	"github.com/radtrack/radtrack/store"
)

// parseAlarmFilter reads GET /api/v1/alarms query parameters:
// state=open|raised|acknowledged|resolved (comma list; open = raised +
// acknowledged), severity=…, device=ID, from/to=RFC 3339 (first seen),
// bbox=west,south,east,north (peak position), imported=true|false, limit=N.
func parseAlarmFilter(q url.Values) (store.AlarmFilter, string, string) {
	var f store.AlarmFilter
	for _, st := range splitList(q.Get("state")) {
		switch st {
		case "open":
			f.States = append(f.States, rules.StateRaised, rules.StateAcknowledged)
		case string(rules.StateRaised), string(rules.StateAcknowledged), string(rules.StateResolved):
			f.States = append(f.States, rules.State(st))
		default:
			return f, "state", "must be open, raised, acknowledged or resolved"
		}
	}
	for _, sev := range splitList(q.Get("severity")) {
		switch rules.Severity(sev) {
		case rules.SeverityInfo, rules.SeverityNotice, rules.SeverityWarning, rules.SeverityAlarm, rules.SeverityCritical:
		default:
			return f, "severity", "must be info, notice, warning, alarm or critical"
		}
		f.Severity = append(f.Severity, rules.Severity(sev))
	}
	if v := q.Get("device"); v != "" {
		id, err := strconv.ParseInt(v, 10, 64)
		if err != nil || id <= 0 {
			return f, "device", "must be a device id"
		}
		f.DeviceID = id
	}
	for name, dst := range map[string]*time.Time{"from": &f.From, "to": &f.To} {
		if v := q.Get(name); v != "" {
			t, err := time.Parse(time.RFC3339, v)
			if err != nil {
				return f, name, "must be an RFC 3339 time"
			}
			*dst = t
		}
	}
	if v := q.Get("bbox"); v != "" {
		b, ok := parseBBox(v)
		if !ok {
			return f, "bbox", "must be west,south,east,north in degrees"
		}
		f.BBox = &b
	}
	if v := q.Get("imported"); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return f, "imported", "must be true or false"
		}
		f.Imported = &b
	}
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n <= 0 {
			return f, "limit", "must be a positive integer"
		}
		f.Limit = n
	}
	return f, "", ""
}

func splitList(v string) []string {
	if v == "" {
		return nil
	}
	return strings.Split(v, ",")
}

func parseBBox(v string) ([4]float64, bool) {
	var b [4]float64
	parts := strings.Split(v, ",")
	if len(parts) != 4 {
		return b, false
	}
	for i, p := range parts {
		f, err := strconv.ParseFloat(strings.TrimSpace(p), 64)
		if err != nil {
			return b, false
		}
		b[i] = f
	}
	return b, b[0] >= -180 && b[2] <= 180 && b[1] >= -90 && b[3] <= 90 && b[0] <= b[2] && b[1] <= b[3]
}

// handleListAlarms is GET /api/v1/alarms: unresolved first, most severe
// first, then newest.
func (s *Server) handleListAlarms(w http.ResponseWriter, r *http.Request, u store.User) {
	f, field, msg := parseAlarmFilter(r.URL.Query())
	if field != "" {
		writeError(w, http.StatusBadRequest, field, msg)
		return
	}
	format, err := export.Negotiate(r.URL.Query().Get("format"), r.Header.Get("Accept"), export.AlarmFormats...)
	if err != nil {
		writeError(w, http.StatusBadRequest, "format", "must be "+export.Names(export.AlarmFormats...))
		return
	}
	if format != export.JSON {
		s.streamAlarms(w, r, u, format, f)
		return
	}
	sc, ok := s.requestScope(w, r, u)
	if !ok {
		return
	}
	list, err := s.store.ListAlarms(r.Context(), f)
	if err != nil {
		s.internalError(w, r, "list alarms", err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"alarms": scopeAlarms(sc, list)})
}

// handleGetAlarm is GET /api/v1/alarms/{id}: the alarm, its audit trail
// and the samples of its episode.
func (s *Server) handleGetAlarm(w http.ResponseWriter, r *http.Request, _ store.User) {
	ep, ok := s.alarmOf(w, r)
	if !ok {
		return
	}
	id := ep.ID
	events, err := s.store.AlarmEvents(r.Context(), id)
	if err != nil {
		s.internalError(w, r, "get alarm events", err)
		return
	}
	// Track's end is exclusive and times are stored to the microsecond: a
	// nanosecond past last_seen rounds back onto it and left out the last
	// sample (all of a one-sample episode).
	samples, err := s.store.Track(r.Context(), store.TrackQuery{
		DeviceID: ep.DeviceID, From: ep.FirstSeen, To: ep.LastSeen.Truncate(time.Microsecond).Add(time.Microsecond), Limit: 10_000,
	})
	if err != nil {
		s.internalError(w, r, "get alarm samples", err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"alarm": ep, "events": events, "samples": samplesJSON(samples)})
}

type ackRequest struct {
	Comment string `json:"comment"`
}

// handleAcknowledgeAlarm is POST /api/v1/alarms/{id}/acknowledge (operator).
func (s *Server) handleAcknowledgeAlarm(w http.ResponseWriter, r *http.Request, u store.User) {
	id, ok := alarmActionID(w, r)
	if !ok {
		return
	}
	if !s.alarmActionInScope(w, r, u, id) {
		return
	}
	var req ackRequest
	if !decodeJSON(w, r, &req) {
		return
	}
	ep, err := s.alarms.Acknowledge(r.Context(), id, u.Username, req.Comment)
	if s.alarmTransitionFailed(w, r, err) {
		return
	}
	s.audit(r.Context(), &u, "alarm.acknowledge", "alarm/"+itoa64(id), req)
	writeJSON(w, http.StatusOK, map[string]any{"alarm": ep})
}

type resolveRequest struct {
	Code    string `json:"code"`
	Comment string `json:"comment"`
}

// handleResolveAlarm is POST /api/v1/alarms/{id}/resolve (operator). An
// operator must acknowledge first; an admin may resolve directly, which is
// recorded as an implicit acknowledgement.
func (s *Server) handleResolveAlarm(w http.ResponseWriter, r *http.Request, u store.User) {
	id, ok := alarmActionID(w, r)
	if !ok {
		return
	}
	if !s.alarmActionInScope(w, r, u, id) {
		return
	}
	var req resolveRequest
	if !decodeJSON(w, r, &req) {
		return
	}
	if !rules.Code(req.Code).Valid() {
		writeError(w, http.StatusBadRequest, "code", "must be real, innocent_medical, innocent_norm, declared_shipment, false_alarm or test")
		return
	}
	ep, err := s.alarms.Resolve(r.Context(), id, u.Username, rules.Code(req.Code), req.Comment, auth.Allows(u.Role, auth.RoleAdmin))
	if s.alarmTransitionFailed(w, r, err) {
		return
	}
	s.audit(r.Context(), &u, "alarm.resolve", "alarm/"+itoa64(id), req)
	writeJSON(w, http.StatusOK, map[string]any{"alarm": ep})
}

// alarmActionID reads the alarm id of an acknowledge or resolve: a stored
// id, or the negative provisional id of an alarm raised while the database
// was unreachable, which viewers may still show.
func alarmActionID(w http.ResponseWriter, r *http.Request) (int64, bool) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id == 0 {
		writeError(w, http.StatusBadRequest, "id", "must be a non-zero integer")
		return 0, false
	}
	return id, true
}

// alarmTransitionFailed answers a failed acknowledge/resolve and reports
// whether it did.
func (s *Server) alarmTransitionFailed(w http.ResponseWriter, r *http.Request, err error) bool {
	switch {
	case err == nil:
		return false
	case errors.Is(err, store.ErrNotFound):
		writeError(w, http.StatusNotFound, "id", "no such alarm")
	case errors.Is(err, alarms.ErrNotStoredYet):
		w.Header().Set("Retry-After", "2")
		writeError(w, http.StatusServiceUnavailable, "id", "this alarm was raised while the database is unreachable and is not stored yet; act on it once it is")
	case errors.Is(err, rules.ErrNotAcknowledged):
		writeError(w, http.StatusConflict, "state", "acknowledge the alarm before resolving it")
	case alarms.IsConflict(err):
		writeError(w, http.StatusConflict, "state", err.Error())
	default:
		s.internalError(w, r, "alarm transition", err)
	}
	return true
}

// alarmOf reads the {id} alarm, answering 400/404/503 itself.
func (s *Server) alarmOf(w http.ResponseWriter, r *http.Request) (rules.Episode, bool) {
	id, ok := pathID(w, r)
	if !ok {
		return rules.Episode{}, false
	}
	ep, err := s.store.Alarm(r.Context(), id)
	if err == nil {
		sc, ok := s.requestScope(w, r, credentialOf(r).user)
		if !ok {
			return ep, false
		}
		if !sc.Device(ep.DeviceID) {
			err = store.ErrNotFound
		}
	}
	if errors.Is(err, store.ErrNotFound) {
		writeError(w, http.StatusNotFound, "id", "no such alarm")
		return ep, false
	}
	if err != nil {
		s.internalError(w, r, "alarm", err)
		return ep, false
	}
	return ep, true
}
