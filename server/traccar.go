package server

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/radtrack/radtrack/auth"
	"github.com/radtrack/radtrack/ingest"
	"github.com/radtrack/radtrack/ingest/traccar"
	"github.com/radtrack/radtrack/sample"
	"github.com/radtrack/radtrack/store"
)

// traccarMaxBody bounds one forwarded position (Traccar sends ~1 KiB).
const traccarMaxBody = 64 << 10

// handleTraccar is POST /api/v1/traccar: the body a stock Traccar server
// posts with forward.type=json, so Traccar can act as a gateway for its
// hardware protocols. Credentials, in forward.header:
//   - a device token (rtd_…): the position must be that device's;
//   - a user API token (rtu_…) of an operator or admin: a gateway for any
//     registered device, matched by Traccar's uniqueId.
//
// 200 after commit; 404 for a uniqueId RadTrack does not know (gateway
// tokens only: a device token gets the same 401 whatever is wrong).
func (s *Server) handleTraccar(w http.ResponseWriter, r *http.Request) {
	const protocol = sample.SourceTraccar
	adm, err := s.gate.Admit(protocol, ingest.ClientIP(r))
	if err != nil {
		s.writeRefusal(w, r, err)
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, traccarMaxBody))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			s.writeRefusal(w, r, s.gate.Refuse(protocol, ingest.ReasonTooLarge, "body", "body too large", nil))
			return
		}
		s.writeRefusal(w, r, s.gate.Refuse(protocol, ingest.ReasonReadError, "body", "read body: "+err.Error(), nil))
		return
	}
	pos, err := traccar.Decode(body)
	if err != nil {
		field := "body"
		var fe *sample.FieldError
		if errors.As(err, &fe) {
			field = fe.Field
		}
		s.writeRefusal(w, r, s.gate.Refuse(protocol, ingest.ReasonMalformed, field, err.Error(), nil))
		return
	}
	token := bearer(r)
	cred := ingest.Credential{UID: pos.Sample.DeviceUID, Key: token}
	if strings.HasPrefix(token, auth.APITokenPrefix) {
		cred = ingest.Credential{UID: pos.Sample.DeviceUID, GatewayToken: token}
	}
	pass, err := adm.Authenticate(r.Context(), cred)
	if err != nil {
		s.writeRefusal(w, r, err)
		return
	}
	res, err := pass.Ingest(r.Context(), []sample.Sample{pos.Sample})
	if err != nil {
		s.writeRefusal(w, r, err)
		return
	}
	if len(res.Rejected) > 0 {
		writeJSON(w, http.StatusUnprocessableEntity, res)
		return
	}
	writeJSON(w, http.StatusOK, res)
}

// GatewayUser implements ingest.Gateways: the user a gateway's API token
// acts as, by the rules of every API route (the revocations this node
// holds, expiry, the token's role, the memory that serves during a
// database outage).
func (s *Server) GatewayUser(ctx context.Context, token string) (store.User, error) {
	cred, err := s.authenticateToken(ctx, token, time.Now())
	var refused *authError
	if errors.As(err, &refused) {
		return store.User{}, fmt.Errorf("%s: %w", refused.msg, ingest.ErrBadCredential)
	}
	if err != nil {
		return store.User{}, err
	}
	return cred.user, nil
}
