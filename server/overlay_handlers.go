package server

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/radtrack/radtrack/siteplan"
	"github.com/radtrack/radtrack/store"
)

// createOverlayRequest is POST /api/v1/overlays. Data is a GeoJSON
// FeatureCollection (or Feature) object for format "geojson", and the KML
// document as a string for "kml" — inside JSON either way, since browser
// sessions may only send application/json.
type createOverlayRequest struct {
	Name   string          `json:"name"`
	Format string          `json:"format"`
	Data   json.RawMessage `json:"data"`
}

// handleListOverlays is GET /api/v1/overlays: every site plan with its
// features.
func (s *Server) handleListOverlays(w http.ResponseWriter, r *http.Request, _ store.User) {
	list, err := s.store.ListOverlays(r.Context())
	if err != nil {
		s.internalError(w, r, "list overlays", err)
		return
	}
	if list == nil {
		list = []store.Overlay{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"overlays": list})
}

// handleCreateOverlay is POST /api/v1/overlays (operator): a site plan in
// GeoJSON or KML, validated (400 naming the field), stored, answered 201.
func (s *Server) handleCreateOverlay(w http.ResponseWriter, r *http.Request, u store.User) {
	var req createOverlayRequest
	if !decodeJSON(w, r, &req) {
		s.refuseOverlay("body")
		return
	}
	req.Name = strings.TrimSpace(req.Name)
	if req.Name == "" || len(req.Name) > siteplan.MaxNameLen {
		s.refuseOverlay("name")
		writeError(w, http.StatusBadRequest, "name", fmt.Sprintf("required, at most %d bytes", siteplan.MaxNameLen))
		return
	}
	if len(req.Data) == 0 || string(req.Data) == "null" {
		s.refuseOverlay("data")
		writeError(w, http.StatusBadRequest, "data", "required")
		return
	}
	var (
		plan    siteplan.FeatureCollection
		skipped int
		err     error
	)
	switch req.Format {
	case "geojson", "":
		plan, err = siteplan.ParseGeoJSON(req.Data)
	case "kml":
		var doc string
		if json.Unmarshal(req.Data, &doc) != nil {
			s.refuseOverlay("data")
			writeError(w, http.StatusBadRequest, "data", "a KML document is sent as a JSON string")
			return
		}
		var res siteplan.KMLResult
		res, err = siteplan.ParseKML([]byte(doc))
		plan, skipped = res.Plan, res.Skipped
	default:
		s.refuseOverlay("format")
		writeError(w, http.StatusBadRequest, "format", "must be geojson or kml")
		return
	}
	var fe *siteplan.FieldError
	if errors.As(err, &fe) {
		s.refuseOverlay("data")
		field := "data"
		if fe.Field != "" && req.Format != "kml" {
			field = "data." + fe.Field
		}
		msg := fe.Reason
		if req.Format == "kml" && fe.Field != "" {
			msg = fe.Field + ": " + fe.Reason
		}
		writeError(w, http.StatusBadRequest, field, msg)
		return
	}
	if err != nil {
		s.refuseOverlay("data")
		writeError(w, http.StatusBadRequest, "data", err.Error())
		return
	}
	if len(plan.Features) == 0 {
		s.refuseOverlay("data")
		writeError(w, http.StatusBadRequest, "data", "the plan has no features to draw")
		return
	}
	features, err := json.Marshal(plan)
	if err != nil {
		s.internalError(w, r, "encode overlay", err)
		return
	}
	created, err := s.store.CreateOverlay(r.Context(), store.Overlay{Name: req.Name, Features: features, FeatureCount: len(plan.Features), CreatedBy: u.Username})
	if errors.Is(err, store.ErrConflict) {
		writeError(w, http.StatusConflict, "name", "a site plan with this name exists: delete it first to replace it")
		return
	}
	if err != nil {
		s.internalError(w, r, "create overlay", err)
		return
	}
	s.audit(r.Context(), &u, "overlay.create", "overlay/"+itoa64(created.ID), map[string]any{"name": created.Name, "features": created.FeatureCount})
	writeJSON(w, http.StatusCreated, map[string]any{"overlay": created, "skipped": skipped})
}

// handleDeleteOverlay is DELETE /api/v1/overlays/{id} (operator).
func (s *Server) handleDeleteOverlay(w http.ResponseWriter, r *http.Request, u store.User) {
	id, ok := pathID(w, r)
	if !ok {
		return
	}
	err := s.store.DeleteOverlay(r.Context(), id)
	if errors.Is(err, store.ErrNotFound) {
		writeError(w, http.StatusNotFound, "id", "no such overlay")
		return
	}
	if err != nil {
		s.internalError(w, r, "delete overlay", err)
		return
	}
	s.audit(r.Context(), &u, "overlay.delete", "overlay/"+itoa64(id), nil)
	w.WriteHeader(http.StatusNoContent)
}

// refuseOverlay counts a refused upload (bad input is counted, design.md).
func (s *Server) refuseOverlay(reason string) {
	if s.metrics != nil {
		s.metrics.RequestsRefused.WithLabelValues("overlay", reason).Inc()
	}
}
