package server

import (
	"errors"
	"net/http"

	"github.com/radtrack/radtrack/localize"
	"github.com/radtrack/radtrack/store"
)

// handleIncidentSource is GET /api/v1/incidents/{id}/source (viewer): a
// point source fitted to the counts of every vehicle near the incident in
// time and space (package localize): its position, 95 % ellipse, strength
// and the passes used: the stored estimate of the background estimator
// (app/sources.go) while no alarm progressed since it was fitted, else
// fitted from the stored samples on request; live "source" frames carry
// each new estimate. 404 when the incident does not exist (or is outside the
// user's sites) or no counts are near it, 422 when it has no position. A
// user below the root sees a fit to their own sites' vehicles only.
func (s *Server) handleIncidentSource(w http.ResponseWriter, r *http.Request, u store.User) {
	inc, sc, ok := s.incidentOf(w, r, u)
	if !ok {
		return
	}
	// The background estimator's estimate while it stands (and shows only
	// the user's own vehicles); otherwise a fit now.
	if stored, err := s.store.IncidentSource(r.Context(), inc.ID); err == nil {
		if src, ok := localize.Stored(stored, inc, sc.Device); ok {
			writeJSONRaw(w, http.StatusOK, map[string]any{"source": src})
			return
		}
	}
	// Every device's track in the window: a heavy read.
	release, ok := s.heavy(w, u.ID)
	if !ok {
		return
	}
	defer release()
	opt := localize.DefaultIncidentOptions()
	opt.Device = sc.Device // only the viewer's own vehicles' passes
	src, err := localize.ForIncident(r.Context(), s.store, inc, opt)
	switch {
	case errors.Is(err, localize.ErrNoPosition):
		writeError(w, http.StatusUnprocessableEntity, "id", "the incident has no GPS position to localise around")
	case errors.Is(err, localize.ErrNoReadings):
		writeError(w, http.StatusNotFound, "id", "no counts near the incident to localise a source")
	case err != nil:
		s.internalError(w, r, "localise incident source", err)
	default:
		writeJSONRaw(w, http.StatusOK, map[string]any{"source": src})
	}
}
