package server

import (
	"errors"
	"net/http"
	"slices"

	"github.com/radtrack/radtrack/incidents"
	"github.com/radtrack/radtrack/rules"
	"github.com/radtrack/radtrack/store"
)

// What each route shows of the site tree: the filters and checks that
// apply a scope to alarms, incidents, fences and audit entries.

// scopeAlarms keeps the alarms of devices within sc. A list with a limit
// may so come back shorter than the limit for a non-root user.
func scopeAlarms(sc scope, list []rules.Episode) []rules.Episode {
	if sc.all {
		return list
	}
	return slices.DeleteFunc(list, func(ep rules.Episode) bool { return !sc.Device(ep.DeviceID) })
}

// scopeIncident is the part of an incident a scope sees
// (incidents.Visible); ok is false when it does not exist for that user.
func scopeIncident(sc scope, inc store.Incident) (store.Incident, bool) {
	if sc.all {
		return inc, true
	}
	return incidents.Visible(inc, sc.Device)
}

// incidentWhollyInScope reports whether every alarm of an incident is
// within sc: acting on an incident acts on all its alarms, so a user may
// only when all are theirs.
func incidentWhollyInScope(sc scope, inc store.Incident) bool {
	if sc.all {
		return true
	}
	for _, ep := range inc.Alarms {
		if !sc.Device(ep.DeviceID) {
			return false
		}
	}
	return sc.Device(inc.PeakDeviceID)
}

// alarmActionInScope answers 404 (as for an unknown alarm) when alarm id is
// outside u's scope; a provisional alarm (negative id, raised while the
// database was away) is looked up in the engine's memory.
func (s *Server) alarmActionInScope(w http.ResponseWriter, r *http.Request, u store.User, id int64) bool {
	sc, ok := s.requestScope(w, r, u)
	if !ok {
		return false
	}
	if sc.all {
		return true
	}
	var device int64
	if id > 0 {
		ep, err := s.store.Alarm(r.Context(), id)
		switch {
		case errors.Is(err, store.ErrNotFound):
			writeError(w, http.StatusNotFound, "id", "no such alarm")
			return false
		case err != nil:
			s.internalError(w, r, "alarm", err)
			return false
		}
		device = ep.DeviceID
	} else if s.alarms != nil {
		for _, ep := range s.alarms.OpenLive() {
			if ep.ID == id {
				device = ep.DeviceID
			}
		}
	}
	if !sc.Device(device) {
		writeError(w, http.StatusNotFound, "id", "no such alarm")
		return false
	}
	return true
}

// incidentInScope reads incident id for an action by u and answers 404
// unless all of it is within u's scope.
func (s *Server) incidentActionInScope(w http.ResponseWriter, r *http.Request, u store.User, id int64) bool {
	sc, ok := s.requestScope(w, r, u)
	if !ok {
		return false
	}
	if sc.all {
		return true
	}
	inc, err := s.store.Incident(r.Context(), id)
	switch {
	case errors.Is(err, store.ErrNotFound) || (err == nil && !incidentWhollyInScope(sc, inc)):
		writeError(w, http.StatusNotFound, "id", "no such incident")
		return false
	case err != nil:
		s.internalError(w, r, "incident", err)
		return false
	}
	return true
}

// fenceVisible: a fence applies to its site's subtree, and is shown to the
// users of that subtree and of the sites above it (a centre sees its
// sub-centres' fences; a sub-centre sees the centre-wide fences that apply
// to its vehicles).
func fenceVisible(sc scope, view *siteIndexView, fenceSite int64) bool {
	if sc.all || sc.Site(fenceSite) {
		return true
	}
	return view != nil && view.tree.Within(sc.site, fenceSite)
}

// fenceEditable: users edit only the fences of their own subtree, never an
// inherited one.
func fenceEditable(sc scope, fenceSite int64) bool { return sc.Site(fenceSite) }

// fenceEditableBy answers 404 unless fence id is within u's subtree (an
// inherited fence is seen but not edited; one elsewhere is not seen).
func (s *Server) fenceEditableBy(w http.ResponseWriter, r *http.Request, u store.User, id int64) bool {
	sc, ok := s.requestScope(w, r, u)
	if !ok {
		return false
	}
	if sc.all {
		return true
	}
	f, err := s.store.Fence(r.Context(), id)
	switch {
	case errors.Is(err, store.ErrNotFound) || (err == nil && !fenceEditable(sc, f.SiteID)):
		if err == nil && fenceVisible(sc, sc.view, f.SiteID) {
			writeError(w, http.StatusForbidden, "id", "this fence belongs to a site above yours: it applies to your vehicles but only that site may change it")
			return false
		}
		writeError(w, http.StatusNotFound, "id", "no such fence")
		return false
	case err != nil:
		s.internalError(w, r, "fence", err)
		return false
	}
	return true
}
