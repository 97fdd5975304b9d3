package server

import (
	"errors"
	"net/http"
	"slices"
	"time"

	"github.com/radtrack/radtrack/auth"
	"github.com/radtrack/radtrack/live"
	"github.com/radtrack/radtrack/sample"
	"github.com/radtrack/radtrack/store"
)

// handleListDevices is GET /api/v1/devices.
func (s *Server) handleListDevices(w http.ResponseWriter, r *http.Request, u store.User) {
	devices, err := s.store.ListDevices(r.Context())
	if err != nil {
		s.internalError(w, r, "list devices", err)
		return
	}
	sc, ok := s.requestScope(w, r, u)
	if !ok {
		return
	}
	devices = slices.DeleteFunc(devices, func(d store.Device) bool { return !sc.Site(d.SiteID) })
	writeJSON(w, http.StatusOK, map[string]any{"devices": s.withLastSeen(devices, u, time.Now())})
}

// OnlineWithin is how recent a device's last position must be for the
// device to count as online: the map greys a vehicle after the same time.
const OnlineWithin = 60 * time.Second

// listedDevice is a device with its live state, for the devices listing.
type listedDevice struct {
	store.Device
	// LastSeen is the device time of its latest position in the live
	// state (across nodes with Redis); absent when it has none or the
	// server runs without the live hub.
	LastSeen *time.Time `json:"last_seen,omitempty"`
	Online   bool       `json:"online"`
}

// withLastSeen adds last_seen and online from the live hub's latest
// positions: an in-memory read, no query per device.
func (s *Server) withLastSeen(devices []store.Device, u store.User, now time.Time) []listedDevice {
	seen := map[int64]time.Time{}
	if s.live != nil {
		if ps, err := s.live.LatestPositions(live.Viewer{UserID: u.ID}, nil); err == nil { // listed devices are scoped already
			for _, p := range ps {
				seen[p.DeviceID] = p.Time
			}
		}
	}
	out := make([]listedDevice, len(devices))
	for i, d := range devices {
		out[i].Device = d
		if t, ok := seen[d.ID]; ok {
			out[i].LastSeen = &t
			out[i].Online = d.Active() && now.Sub(t) <= OnlineWithin
		}
	}
	return out
}

type createDeviceRequest struct {
	UID          string   `json:"uid"`
	Name         string   `json:"name"`
	Group        string   `json:"group"`
	CPMPerUSvH   *float64 `json:"cpm_per_usvh"`
	LegacyIDOnly bool     `json:"legacy_id_only"`
	// SiteID places the device (default: the admin's own site); it must
	// be within the admin's subtree.
	SiteID int64 `json:"site_id"`
}

// handleCreateDevice is POST /api/v1/devices (admin). The answer carries
// the device token; it is never shown again.
func (s *Server) handleCreateDevice(w http.ResponseWriter, r *http.Request, admin store.User) {
	var req createDeviceRequest
	ok := decodeJSON(w, r, &req)
	if !ok {
		return
	}
	if req.Name == "" {
		writeError(w, http.StatusBadRequest, "name", "required")
		return
	}
	if req.UID == "" {
		req.UID = req.Name
	}
	d := store.Device{UID: req.UID, Name: req.Name, Group: req.Group, CPMPerUSvH: sample.DefaultCPMPerUSvH, LegacyIDOnly: req.LegacyIDOnly}
	if req.CPMPerUSvH != nil {
		if *req.CPMPerUSvH <= 0 {
			writeError(w, http.StatusBadRequest, "cpm_per_usvh", "must be positive")
			return
		}
		d.CPMPerUSvH = *req.CPMPerUSvH
	}
	if d.SiteID, ok = s.siteForNew(w, r, admin, req.SiteID); !ok {
		return
	}
	token, hash, err := auth.NewDeviceToken()
	if err != nil {
		s.internalError(w, r, "create device token", err)
		return
	}
	created, err := s.store.CreateDevice(r.Context(), d, hash)
	if errors.Is(err, store.ErrConflict) {
		writeError(w, http.StatusConflict, "uid", "a device with this uid exists")
		return
	}
	if err != nil {
		s.internalError(w, r, "create device", err)
		return
	}
	s.SitesChanged()
	s.audit(r.Context(), &admin, "device.create", "device/"+created.UID, map[string]any{"legacy_id_only": created.LegacyIDOnly, "site_id": created.SiteID})
	writeJSON(w, http.StatusCreated, map[string]any{"device": created, "token": token})
}

// handleRotateDeviceToken is POST /api/v1/devices/{id}/rotate-token
// (admin): a new token; the old one stops working at once on this node.
func (s *Server) handleRotateDeviceToken(w http.ResponseWriter, r *http.Request, admin store.User) {
	d, ok := s.deviceOf(w, r) // 404 outside the admin's subtree
	if !ok {
		return
	}
	id := d.ID
	token, hash, err := auth.NewDeviceToken()
	if err == nil {
		err = s.store.SetDeviceToken(r.Context(), id, hash)
	}
	if errors.Is(err, store.ErrNotFound) {
		writeError(w, http.StatusNotFound, "id", "no such device")
		return
	}
	if err != nil {
		s.internalError(w, r, "rotate device token", err)
		return
	}
	s.deviceChanged(r, id)
	s.audit(r.Context(), &admin, "device.rotate_token", "device/"+r.PathValue("id"), nil)
	writeJSON(w, http.StatusOK, map[string]any{"id": id, "token": token})
}

// handleRevokeDevice is POST /api/v1/devices/{id}/revoke (admin).
func (s *Server) handleRevokeDevice(w http.ResponseWriter, r *http.Request, admin store.User) {
	d, ok := s.deviceOf(w, r) // 404 outside the admin's subtree
	if !ok {
		return
	}
	id := d.ID
	err := s.store.RevokeDevice(r.Context(), id, time.Now())
	if errors.Is(err, store.ErrNotFound) {
		writeError(w, http.StatusNotFound, "id", "no such device")
		return
	}
	if err != nil {
		s.internalError(w, r, "revoke device", err)
		return
	}
	s.deviceChanged(r, id)
	s.audit(r.Context(), &admin, "device.revoke", "device/"+r.PathValue("id"), nil)
	w.WriteHeader(http.StatusNoContent)
}

// deviceChanged makes every node forget a device's cached credentials.
func (s *Server) deviceChanged(r *http.Request, id int64) {
	s.SitesChanged()
	if err := s.devices.Changed(r.Context(), id); err != nil {
		s.log.WarnContext(r.Context(), "device change not broadcast", "device", id, "err", err)
	}
}
