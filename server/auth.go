package server

import (
	"context"
	"errors"
	"mime"
	"net/http"
	"strings"
	"time"

	"github.com/radtrack/radtrack/auth"
	"github.com/radtrack/radtrack/store"
)

// sessionCookie is the browser session's cookie name.
const sessionCookie = "radtrack_session"

// errUnauthenticated means no valid credentials came with the request.
var errUnauthenticated = errors.New("not logged in")

// authenticateUser resolves the request's session cookie or user API token
// (Authorization: Bearer rtu_…) to an active user. viaCookie tells whether a
// cookie did it, which matters for CSRF checks.
func (s *Server) authenticateUser(r *http.Request) (u store.User, viaCookie bool, err error) {
	ctx := r.Context()
	var hash []byte
	now := time.Now()
	if token, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer "); ok {
		token = strings.TrimSpace(token)
		if !strings.HasPrefix(token, auth.APITokenPrefix) {
			return u, false, errUnauthenticated
		}
		hash = auth.HashToken(token)
		u, err = s.store.APITokenUser(ctx, hash)
	} else if c, cerr := r.Cookie(sessionCookie); cerr == nil && c.Value != "" {
		viaCookie = true
		hash = auth.HashToken(c.Value)
		u, err = s.store.SessionUser(ctx, hash, now)
	} else {
		return u, false, errUnauthenticated
	}
	switch {
	case errors.Is(err, store.ErrNotFound) || (err == nil && !u.Active()):
		s.known.forget(hash)
		return store.User{}, viaCookie, errUnauthenticated
	case err == nil:
		s.known.remember(hash, u, now)
		return u, viaCookie, nil
	}
	if known, ok := s.known.recall(hash, now); ok {
		s.log.WarnContext(ctx, "credentials checked from memory: database unavailable", "user", known.Username, "err", err)
		return known, viaCookie, nil
	}
	return u, viaCookie, err
}

// userHandler is a handler that runs for an authenticated user.
type userHandler func(w http.ResponseWriter, r *http.Request, u store.User)

// require wraps h so it runs only for an active user whose role allows
// need. State-changing requests authenticated by cookie must be JSON: a
// cross-site form cannot send that without a CORS preflight, which this
// server never grants (with SameSite=Strict cookies, that closes CSRF).
func (s *Server) require(need string, h userHandler) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		u, viaCookie, err := s.authenticateUser(r)
		switch {
		case errors.Is(err, errUnauthenticated):
			writeError(w, http.StatusUnauthorized, "", "login required")
			return
		case err != nil:
			s.log.ErrorContext(r.Context(), "authenticate user", "err", err)
			writeError(w, http.StatusServiceUnavailable, "", "cannot check credentials now, retry later")
			return
		}
		if !auth.Allows(u.Role, need) {
			writeError(w, http.StatusForbidden, "", "your role ("+u.Role+") may not do this; it needs "+need)
			return
		}
		if viaCookie && r.Method != http.MethodGet && r.Method != http.MethodHead {
			mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
			if mt != "application/json" {
				writeError(w, http.StatusUnsupportedMediaType, "Content-Type", "state-changing requests must send application/json")
				return
			}
		}
		r.Body = http.MaxBytesReader(w, r.Body, s.cfg.MaxBodyBytes)
		h(w, r, u)
	}
}

// audit records an action; a failure is logged, not returned: the action
// already happened and must not be reported as failed.
func (s *Server) audit(ctx context.Context, u *store.User, action, target string, details any) {
	e := store.AuditEntry{Action: action, Target: target}
	if u != nil {
		e.UserID, e.Username = &u.ID, u.Username
	}
	if details != nil {
		b, err := jsonMarshal(details)
		if err == nil {
			e.Details = b
		}
	}
	if err := s.store.AppendAudit(context.WithoutCancel(ctx), e); err != nil {
		s.log.ErrorContext(ctx, "append audit entry", "action", action, "target", target, "err", err)
	}
}
