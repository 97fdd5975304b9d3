package server

import (
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"

	"github.com/radtrack/radtrack/auth"
	"github.com/radtrack/radtrack/ingest"
	"github.com/radtrack/radtrack/ingest/traccar"
	"github.com/radtrack/radtrack/sample"
	"github.com/radtrack/radtrack/store"
)

// handleTraccar is POST /api/v1/traccar: the body a stock Traccar server
// posts with forward.type=json, so Traccar can act as a gateway for its
// hardware protocols. Credentials, in forward.header:
//   - a device token (rtd_…): the position must be that device's;
//   - a user API token (rtu_…) of an operator or admin: a gateway for any
//     registered device, matched by Traccar's uniqueId.
//
// 200 after commit; 404 for a uniqueId RadTrack does not know.
func (s *Server) handleTraccar(w http.ResponseWriter, r *http.Request) {
	const protocol = sample.SourceTraccar
	if !s.allowIP(w, r, protocol) {
		return
	}
	token := strings.TrimSpace(strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer "))
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, 64<<10))
	if err != nil {
		s.pipeline.CountRefused(protocol, "too_large")
		writeError(w, http.StatusRequestEntityTooLarge, "body", "body too large")
		return
	}
	pos, err := traccar.Decode(body)
	if err != nil {
		s.pipeline.CountRefused(protocol, "malformed")
		field := "body"
		var fe *sample.FieldError
		if errors.As(err, &fe) {
			field = fe.Field
		}
		writeError(w, http.StatusBadRequest, field, err.Error())
		return
	}
	dev, status, msg := s.traccarDevice(r, token, pos.Sample.DeviceUID)
	if status != 0 {
		s.pipeline.CountRefused(protocol, "unauthenticated")
		writeError(w, status, "Authorization", msg)
		return
	}
	res, err := s.pipeline.Ingest(r.Context(), dev, protocol, []sample.Sample{pos.Sample})
	if err != nil {
		s.writeIngestFailure(w, r, protocol, err)
		return
	}
	if len(res.Rejected) > 0 {
		writeJSON(w, http.StatusUnprocessableEntity, res)
		return
	}
	writeJSON(w, http.StatusOK, res)
}

// traccarDevice authenticates the forwarder; status 0 means ok.
func (s *Server) traccarDevice(r *http.Request, token, uid string) (store.Device, int, string) {
	ctx := r.Context()
	if strings.HasPrefix(token, auth.APITokenPrefix) {
		u, err := s.store.APITokenUser(ctx, auth.HashToken(token))
		if err != nil || !u.Active() || !auth.Allows(u.Role, auth.RoleOperator) {
			return store.Device{}, http.StatusUnauthorized, "API token unknown, revoked, or not of an operator"
		}
		dev, err := s.devices.ByUID(ctx, uid)
		switch {
		case errors.Is(err, ingest.ErrUnknownDevice):
			return dev, http.StatusNotFound, "no device with uid " + strconv.Quote(uid) + ": register it first"
		case errors.Is(err, ingest.ErrRevoked):
			return dev, http.StatusUnauthorized, "device revoked"
		case err != nil:
			return dev, http.StatusServiceUnavailable, "cannot check the device now"
		}
		return dev, 0, ""
	}
	dev, err := s.devices.ByUIDAndKey(ctx, uid, token)
	switch {
	case errors.Is(err, ingest.ErrUnknownDevice):
		return dev, http.StatusNotFound, "no device with uid " + strconv.Quote(uid)
	case err != nil && (errors.Is(err, ingest.ErrBadCredential) || errors.Is(err, ingest.ErrRevoked)):
		return dev, http.StatusUnauthorized, "missing or wrong token for device " + strconv.Quote(uid)
	case err != nil:
		return dev, http.StatusServiceUnavailable, "cannot check the device now"
	}
	return dev, 0, ""
}
