package server

import (
	"errors"
	"net/http"

	"github.com/radtrack/radtrack/auth"
	"github.com/radtrack/radtrack/live"
	"github.com/radtrack/radtrack/store"
)

// handlePositions is GET /api/v1/positions?bbox=w,s,e,n: the latest
// position of every vehicle, from the live hub's state (the one WebSocket
// snapshots are built from, shared across nodes through Redis), in the
// snapshot's columnar form. It lets the map's polling fallback fetch the
// whole fleet in one request instead of one track query per device.
func (s *Server) handlePositions(w http.ResponseWriter, r *http.Request, u store.User) {
	if s.live == nil {
		writeError(w, http.StatusServiceUnavailable, "", "live positions are not available: this server runs without the live hub")
		return
	}
	var box []float64
	if v := r.URL.Query().Get("bbox"); v != "" {
		b, ok := parseBBox(v)
		if !ok {
			writeError(w, http.StatusBadRequest, "bbox", "must be west,south,east,north in degrees")
			return
		}
		box = b[:]
	}
	sc, ok := s.requestScope(w, r, u)
	if !ok {
		return
	}
	ps, err := s.live.LatestPositions(s.liveViewer(u, sc), box)
	switch {
	case errors.Is(err, live.ErrNotReady):
		w.Header().Set("Retry-After", "1")
		writeError(w, http.StatusServiceUnavailable, "", "live positions not loaded yet, retry")
		return
	case err != nil: // parseBBox let through a box the hub refuses
		writeError(w, http.StatusBadRequest, "bbox", err.Error())
		return
	}
	b := make([]byte, 0, 64+len(ps)*128)
	b = append(b, `{"positions":`...)
	b = live.AppendPositionColumns(b, ps)
	b = append(b, "}\n"...)
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store") // live state: a cached answer is a wrong answer
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(b)
}

// liveViewer is the live-push identity of a user: they see the devices
// of their site's subtree (sc); operators and admins may acknowledge over
// the socket.
func (s *Server) liveViewer(u store.User, sc scope) live.Viewer {
	return live.Viewer{UserID: u.ID, Name: u.Username, Role: u.Role, CanAck: auth.Allows(u.Role, auth.RoleOperator),
		Devices: sc.deviceFilter(&s.sites)}
}
