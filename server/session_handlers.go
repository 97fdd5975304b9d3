package server

import (
	"errors"
	"net/http"
	"time"

	"github.com/radtrack/radtrack/auth"
	"github.com/radtrack/radtrack/ingest"
	"github.com/radtrack/radtrack/store"
)

type loginRequest struct {
	Username string `json:"username"`
	Password string `json:"password"`
}

// handleLogin is POST /api/v1/login: checks the password and sets the
// session cookie.
func (s *Server) handleLogin(w http.ResponseWriter, r *http.Request) {
	if ok, wait := s.logins.Allow(ingest.ClientIP(r)); !ok {
		w.Header().Set("Retry-After", ingest.RetryAfterSeconds(wait))
		writeError(w, http.StatusTooManyRequests, "", "too many login attempts from your address, retry later")
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, 4<<10)
	var req loginRequest
	if !decodeJSON(w, r, &req) {
		return
	}
	if req.Username == "" {
		writeError(w, http.StatusBadRequest, "username", "required")
		return
	}
	u, err := s.store.UserByUsername(r.Context(), req.Username)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		s.log.ErrorContext(r.Context(), "login lookup", "err", err)
		writeError(w, http.StatusServiceUnavailable, "", "cannot check credentials now, retry later")
		return
	}
	hash := u.PasswordHash
	if err != nil {
		// Compare against a throwaway hash of the same cost so response time
		// does not reveal which usernames exist.
		hash = s.dummyHash()
	}
	if !auth.CheckPassword(hash, req.Password) || err != nil || !u.Active() {
		s.audit(r.Context(), nil, "login.failed", "user/"+req.Username, map[string]string{"remote": r.RemoteAddr})
		writeError(w, http.StatusUnauthorized, "password", "invalid username or password")
		return
	}
	token, tokenHash, err := auth.NewSessionToken()
	if err == nil {
		err = s.store.CreateSession(r.Context(), tokenHash, u.ID, time.Now().Add(s.cfg.SessionTTL))
	}
	if err != nil {
		s.log.ErrorContext(r.Context(), "create session", "err", err)
		writeError(w, http.StatusServiceUnavailable, "", "cannot log in now, retry later")
		return
	}
	http.SetCookie(w, &http.Cookie{
		Name: sessionCookie, Value: token, Path: "/", HttpOnly: true, SameSite: http.SameSiteStrictMode,
		Secure: r.TLS != nil || s.cfg.SecureCookies, MaxAge: int(s.cfg.SessionTTL.Seconds()),
	})
	s.audit(r.Context(), &u, "login", "user/"+u.Username, map[string]string{"remote": r.RemoteAddr})
	writeJSON(w, http.StatusOK, map[string]any{"user": u})
}

// handleLogout is POST /api/v1/logout.
func (s *Server) handleLogout(w http.ResponseWriter, r *http.Request) {
	if c, err := r.Cookie(sessionCookie); err == nil && c.Value != "" {
		s.known.forget(auth.HashToken(c.Value))
		if err := s.store.DeleteSession(r.Context(), auth.HashToken(c.Value)); err != nil {
			s.log.ErrorContext(r.Context(), "logout", "err", err)
		}
	}
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: "", Path: "/", HttpOnly: true, SameSite: http.SameSiteStrictMode, MaxAge: -1})
	w.WriteHeader(http.StatusNoContent)
}

// handleMe is GET /api/v1/me: who is logged in.
func (s *Server) handleMe(w http.ResponseWriter, _ *http.Request, u store.User) {
	writeJSON(w, http.StatusOK, map[string]any{"user": u})
}

type tokenRequest struct {
	Name string `json:"name"`
}

// handleCreateAPIToken is POST /api/v1/tokens: a token acting as the
// calling user, for integrations; shown once.
func (s *Server) handleCreateAPIToken(w http.ResponseWriter, r *http.Request, u store.User) {
	var req tokenRequest
	if !decodeJSON(w, r, &req) {
		return
	}
	if req.Name == "" {
		writeError(w, http.StatusBadRequest, "name", "required")
		return
	}
	token, hash, err := auth.NewAPIToken()
	if err != nil {
		writeError(w, http.StatusInternalServerError, "", err.Error())
		return
	}
	id, err := s.store.CreateAPIToken(r.Context(), u.ID, req.Name, hash)
	if err != nil {
		s.log.ErrorContext(r.Context(), "create API token", "err", err)
		writeError(w, http.StatusServiceUnavailable, "", "cannot create token now")
		return
	}
	s.audit(r.Context(), &u, "token.create", "token/"+req.Name, nil)
	writeJSON(w, http.StatusCreated, map[string]any{"id": id, "name": req.Name, "token": token})
}
