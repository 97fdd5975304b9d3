package server

import (
	"errors"
	"net/http"
	"strconv"

	"github.com/radtrack/radtrack/auth"
	"github.com/radtrack/radtrack/incidents"
	"github.com/radtrack/radtrack/rules"
	"github.com/radtrack/radtrack/store"
)

// handleListIncidents is GET /api/v1/incidents?state=open|raised|acknowledged|resolved
// &imported=true|false&limit=N: unacknowledged first, then most severe,
// then newest, each with its alarms.
func (s *Server) handleListIncidents(w http.ResponseWriter, r *http.Request, u store.User) {
	var f store.IncidentFilter
	q := r.URL.Query()
	for _, st := range splitList(q.Get("state")) {
		switch st {
		case "open":
			f.States = append(f.States, rules.StateRaised, rules.StateAcknowledged)
		case string(rules.StateRaised), string(rules.StateAcknowledged), string(rules.StateResolved):
			f.States = append(f.States, rules.State(st))
		default:
			writeError(w, http.StatusBadRequest, "state", "must be open, raised, acknowledged or resolved")
			return
		}
	}
	if v := q.Get("imported"); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			writeError(w, http.StatusBadRequest, "imported", "must be true or false")
			return
		}
		f.Imported = &b
	}
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n <= 0 {
			writeError(w, http.StatusBadRequest, "limit", "must be a positive integer")
			return
		}
		f.Limit = n
	}
	sc, ok := s.requestScope(w, r, u)
	if !ok {
		return
	}
	list, err := s.store.ListIncidents(r.Context(), f)
	if err != nil {
		s.internalError(w, r, "list incidents", err)
		return
	}
	if !sc.all {
		visible := list[:0]
		for _, inc := range list {
			if inc, in := scopeIncident(sc, inc); in {
				visible = append(visible, inc)
			}
		}
		list = visible
	}
	writeJSON(w, http.StatusOK, map[string]any{"incidents": list})
}

// handleGetIncident is GET /api/v1/incidents/{id}: the incident with its
// alarms.
func (s *Server) handleGetIncident(w http.ResponseWriter, r *http.Request, u store.User) {
	inc, _, ok := s.incidentOf(w, r, u)
	if !ok {
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"incident": inc})
}

// incidentOf reads the {id} incident as user u may see it (the alarms of
// their own sites only), answering 400/404/503 itself; an incident with
// none of their alarms is 404, as if it did not exist.
func (s *Server) incidentOf(w http.ResponseWriter, r *http.Request, u store.User) (store.Incident, scope, bool) {
	id, ok := pathID(w, r)
	if !ok {
		return store.Incident{}, scope{}, false
	}
	sc, ok := s.requestScope(w, r, u)
	if !ok {
		return store.Incident{}, sc, false
	}
	inc, err := s.store.Incident(r.Context(), id)
	if err == nil {
		var in bool
		if inc, in = scopeIncident(sc, inc); !in {
			err = store.ErrNotFound
		}
	}
	if errors.Is(err, store.ErrNotFound) {
		writeError(w, http.StatusNotFound, "id", "no such incident")
		return inc, sc, false
	}
	if err != nil {
		s.internalError(w, r, "get incident", err)
		return inc, sc, false
	}
	return inc, sc, true
}

// handleAcknowledgeIncident is POST /api/v1/incidents/{id}/acknowledge
// {"comment"} (operator): every raised alarm inside is acknowledged, each
// with its own audit row.
func (s *Server) handleAcknowledgeIncident(w http.ResponseWriter, r *http.Request, u store.User) {
	id, ok := pathID(w, r)
	if !ok || !s.incidentsReady(w) || !s.incidentActionInScope(w, r, u, id) {
		return
	}
	var req ackRequest
	if !decodeJSON(w, r, &req) {
		return
	}
	inc, err := s.incidents.Acknowledge(r.Context(), id, u.Username, req.Comment)
	if s.incidentActionFailed(w, r, err) {
		return
	}
	s.audit(r.Context(), &u, "incident.acknowledge", "incident/"+itoa64(id), req)
	writeJSON(w, http.StatusOK, map[string]any{"incident": inc})
}

// handleResolveIncident is POST /api/v1/incidents/{id}/resolve
// {"code","comment"} (operator): one adjudication for every open alarm
// inside, each with its own audit rows. As for alarms, an operator
// acknowledges first; an admin may resolve directly.
func (s *Server) handleResolveIncident(w http.ResponseWriter, r *http.Request, u store.User) {
	id, ok := pathID(w, r)
	if !ok || !s.incidentsReady(w) || !s.incidentActionInScope(w, r, u, id) {
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
	inc, err := s.incidents.Resolve(r.Context(), id, u.Username, rules.Code(req.Code), req.Comment, auth.Allows(u.Role, auth.RoleAdmin))
	if s.incidentActionFailed(w, r, err) {
		return
	}
	s.audit(r.Context(), &u, "incident.resolve", "incident/"+itoa64(id), req)
	writeJSON(w, http.StatusOK, map[string]any{"incident": inc})
}

func (s *Server) incidentsReady(w http.ResponseWriter) bool {
	if s.incidents == nil {
		writeError(w, http.StatusServiceUnavailable, "", "incidents are not available on this node")
		return false
	}
	return true
}

// incidentActionFailed answers a failed incident acknowledge/resolve and
// reports whether it did.
func (s *Server) incidentActionFailed(w http.ResponseWriter, r *http.Request, err error) bool {
	switch {
	case err == nil:
		return false
	case errors.Is(err, store.ErrNotFound):
		writeError(w, http.StatusNotFound, "id", "no such incident")
	case errors.Is(err, incidents.ErrNotAcknowledged):
		writeError(w, http.StatusConflict, "state", "acknowledge the incident before resolving it")
	default:
		return s.alarmTransitionFailed(w, r, err)
	}
	return true
}
