package server

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"

	"github.com/radtrack/radtrack/alarms"
	"github.com/radtrack/radtrack/geo"
	"github.com/radtrack/radtrack/live"
	"github.com/radtrack/radtrack/store"
)

// handleListFences is GET /api/v1/fences: a GeoJSON FeatureCollection.
func (s *Server) handleListFences(w http.ResponseWriter, r *http.Request, u store.User) {
	sc, ok := s.requestScope(w, r, u)
	if !ok {
		return
	}
	stored, err := s.store.ListFences(r.Context())
	if err != nil {
		s.internalError(w, r, "list fences", err)
		return
	}
	features := make([]json.RawMessage, 0, len(stored))
	for _, sf := range stored {
		if !fenceVisible(sc, sc.view, sf.SiteID) {
			continue
		}
		f, err := alarms.FenceFromStore(sf)
		if err != nil {
			s.log.ErrorContext(r.Context(), "unreadable stored fence", "fence", sf.ID, "err", err)
			continue
		}
		b, err := geo.MarshalFeature(f)
		if err != nil {
			s.log.ErrorContext(r.Context(), "render fence", "fence", sf.ID, "err", err)
			continue
		}
		features = append(features, b)
	}
	w.Header().Set("Content-Type", "application/geo+json")
	writeJSONRaw(w, http.StatusOK, map[string]any{"type": "FeatureCollection", "features": features})
}

// parseFence reads one GeoJSON Feature body and validates it, answering
// 400 with the offending field itself.
func (s *Server) parseFence(w http.ResponseWriter, r *http.Request) (geo.Fence, bool) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		writeError(w, http.StatusRequestEntityTooLarge, "body", "body too large")
		return geo.Fence{}, false
	}
	if !storableBody(w, body) {
		return geo.Fence{}, false
	}
	fences, err := geo.ParseGeoJSON(body)
	if err != nil {
		writeFenceError(w, err)
		return geo.Fence{}, false
	}
	if len(fences) != 1 {
		writeError(w, http.StatusBadRequest, "body", "send exactly one GeoJSON Feature")
		return geo.Fence{}, false
	}
	f := fences[0]
	if f.Name == "" {
		writeError(w, http.StatusBadRequest, "properties.name", "required")
		return f, false
	}
	return f, true
}

func writeFenceError(w http.ResponseWriter, err error) {
	var ve *geo.ValidationError
	if errors.As(err, &ve) {
		writeError(w, http.StatusBadRequest, ve.Field, ve.Reason)
		return
	}
	writeError(w, http.StatusBadRequest, "body", err.Error())
}

// storeFence normalises a validated fence into its stored form.
func storeFence(f geo.Fence) (store.Fence, error) {
	b, err := geo.MarshalFeature(f)
	if err != nil {
		return store.Fence{}, err
	}
	return store.Fence{ID: f.ID, Name: f.Name, Kind: string(f.Kind), Feature: b}, nil
}

// handleCreateFence is POST /api/v1/fences (operator): one GeoJSON Feature.
func (s *Server) handleCreateFence(w http.ResponseWriter, r *http.Request, u store.User) {
	f, ok := s.parseFence(w, r)
	if !ok {
		return
	}
	sf, err := storeFence(f)
	sf.SiteID = u.SiteID // a fence belongs to its creator's site
	if err == nil {
		sf, err = s.store.CreateFence(r.Context(), sf)
	}
	if err != nil {
		s.internalError(w, r, "create fence", err)
		return
	}
	s.afterFenceChange(r, &u, "fence.create", sf)
	s.writeFence(w, r, http.StatusCreated, sf)
}

// handleUpdateFence is PUT /api/v1/fences/{id} (operator).
func (s *Server) handleUpdateFence(w http.ResponseWriter, r *http.Request, u store.User) {
	id, ok := pathID(w, r)
	if !ok {
		return
	}
	if !s.fenceEditableBy(w, r, u, id) {
		return
	}
	f, ok := s.parseFence(w, r)
	if !ok {
		return
	}
	f.ID = id
	sf, err := storeFence(f)
	if err == nil {
		sf, err = s.store.UpdateFence(r.Context(), sf)
	}
	if errors.Is(err, store.ErrNotFound) {
		writeError(w, http.StatusNotFound, "id", "no such fence")
		return
	}
	if err != nil {
		s.internalError(w, r, "update fence", err)
		return
	}
	s.afterFenceChange(r, &u, "fence.update", sf)
	s.writeFence(w, r, http.StatusOK, sf)
}

// handleDeleteFence is DELETE /api/v1/fences/{id} (operator).
func (s *Server) handleDeleteFence(w http.ResponseWriter, r *http.Request, u store.User) {
	id, ok := pathID(w, r)
	if !ok {
		return
	}
	if !s.fenceEditableBy(w, r, u, id) {
		return
	}
	for _, rule := range s.alarms.Engine().Rules() {
		if rule.Zone != nil && rule.Zone.FenceID == id || rule.Fence != nil && rule.Fence.FenceID == id {
			writeError(w, http.StatusConflict, "id", "rule "+rule.Name+" uses this fence: change or delete the rule first")
			return
		}
	}
	err := s.store.DeleteFence(r.Context(), id)
	if errors.Is(err, store.ErrNotFound) {
		writeError(w, http.StatusNotFound, "id", "no such fence")
		return
	}
	if err != nil {
		s.internalError(w, r, "delete fence", err)
		return
	}
	s.afterFenceChange(r, &u, "fence.delete", store.Fence{ID: id})
	w.WriteHeader(http.StatusNoContent)
}

type traccarFenceImport struct {
	Kind     string `json:"kind"`
	Geofence []struct {
		Name       string `json:"name"`
		Area       string `json:"area"`
		Attributes struct {
			PolylineDistance float64 `json:"polylineDistance"`
		} `json:"attributes"`
	} `json:"traccar"`
}

// handleImportFences is POST /api/v1/fences/import (operator): either a
// GeoJSON FeatureCollection, or {"kind": K, "traccar": [Traccar geofences
// with lat-first WKT "area"]}. All or nothing: one invalid fence refuses the
// whole import, naming it.
func (s *Server) handleImportFences(w http.ResponseWriter, r *http.Request, u store.User) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		writeError(w, http.StatusRequestEntityTooLarge, "body", "body too large")
		return
	}
	if !storableBody(w, body) {
		return
	}
	var probe struct {
		Type    string          `json:"type"`
		Traccar json.RawMessage `json:"traccar"`
	}
	if err := json.Unmarshal(body, &probe); err != nil {
		writeError(w, http.StatusBadRequest, "body", "invalid JSON: "+err.Error())
		return
	}
	var fences []geo.Fence
	if probe.Traccar != nil {
		var imp traccarFenceImport
		if err := json.Unmarshal(body, &imp); err != nil {
			writeError(w, http.StatusBadRequest, "traccar", err.Error())
			return
		}
		for i, g := range imp.Geofence {
			f, err := geo.FromTraccar(geo.TraccarGeofence{Name: g.Name, Area: g.Area, PolylineDistance: g.Attributes.PolylineDistance}, geo.Kind(imp.Kind))
			if err != nil {
				var ve *geo.ValidationError
				field := "traccar[" + itoa(i) + "].area"
				if errors.As(err, &ve) && ve.Field == "kind" {
					field = "kind"
				}
				writeError(w, http.StatusBadRequest, field, err.Error())
				return
			}
			fences = append(fences, f)
		}
	} else {
		if fences, err = geo.ParseGeoJSON(body); err != nil {
			writeFenceError(w, err)
			return
		}
	}
	created := make([]store.Fence, 0, len(fences))
	for _, f := range fences {
		sf, err := storeFence(f)
		sf.SiteID = u.SiteID
		if err == nil {
			sf, err = s.store.CreateFence(r.Context(), sf)
		}
		if err != nil {
			s.internalError(w, r, "import fences", err)
			return
		}
		created = append(created, sf)
	}
	s.afterFenceChange(r, &u, "fence.import", store.Fence{Name: itoa(len(created)) + " fences"})
	ids := make([]int64, len(created))
	for i, c := range created {
		ids[i] = c.ID
	}
	writeJSON(w, http.StatusCreated, map[string]any{"created": ids})
}

// afterFenceChange makes the edit effective for the next sample, on this
// node and on the others, and records who made it.
func (s *Server) afterFenceChange(r *http.Request, u *store.User, action string, f store.Fence) {
	if err := s.alarms.ReloadFences(r.Context()); err != nil {
		s.log.ErrorContext(r.Context(), "reload fences", "err", err)
	}
	s.announceConfigChange(r)
	s.audit(r.Context(), u, action, "fence/"+itoa64(f.ID), map[string]string{"name": f.Name, "kind": f.Kind})
}

// announceConfigChange tells the other nodes that fences or rules changed,
// so they reload them at once. A notice that does not get through is
// logged: the nodes' periodic config version check catches up.
func (s *Server) announceConfigChange(r *http.Request) {
	if s.live == nil {
		return
	}
	// Stored already: the notice goes out even if the client has left.
	if err := s.live.PublishChange(context.WithoutCancel(r.Context()), live.Change{Kind: live.ChangeConfig}); err != nil {
		s.log.WarnContext(r.Context(), "other nodes apply this fence or rule change at their next config check", "err", err)
	}
}

func (s *Server) writeFence(w http.ResponseWriter, r *http.Request, status int, sf store.Fence) {
	f, err := alarms.FenceFromStore(sf)
	if err != nil {
		s.internalError(w, r, "render fence", err)
		return
	}
	b, err := geo.MarshalFeature(f)
	if err != nil {
		s.internalError(w, r, "render fence", err)
		return
	}
	w.Header().Set("Content-Type", "application/geo+json")
	w.WriteHeader(status)
	_, _ = w.Write(b)
}
