package server

import (
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/radtrack/radtrack/auth"
	"github.com/radtrack/radtrack/ingest"
	"github.com/radtrack/radtrack/internal/revocations"
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
	gen := s.known.generation()
	token, tokenHash, err := auth.NewSessionToken()
	if err == nil {
		err = s.store.CreateSession(r.Context(), tokenHash, u.ID, time.Now().Add(s.cfg.SessionTTL))
	}
	if err == nil {
		// Known from the start: a login just before an outage holds.
		s.known.remember(tokenHash, knownUser{user: u, checked: time.Now()}, gen)
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

// handleLogout is POST /api/v1/logout. The session ends on this node at
// once and on every node that hears of it; while the database is
// unreachable the logout is journaled here and applied when it answers
// (see revoke). A cookie this node does not know costs the caller a login
// attempt: strangers must not fill the journal.
func (s *Server) handleLogout(w http.ResponseWriter, r *http.Request) {
	if c, err := r.Cookie(sessionCookie); err == nil && strings.HasPrefix(c.Value, auth.SessionTokenPrefix) {
		hash := auth.HashToken(c.Value)
		if !s.known.has(hash) && !s.revoked.Holds(hash, 0) {
			if ok, wait := s.logins.Allow(ingest.ClientIP(r)); !ok {
				w.Header().Set("Retry-After", ingest.RetryAfterSeconds(wait))
				writeError(w, http.StatusTooManyRequests, "", "too many attempts from your address, retry later")
				return
			}
		}
		if _, err := s.revoke(r.Context(), revocations.Record{SessionHash: hash, At: time.Now()}); err != nil {
			s.log.ErrorContext(r.Context(), "logout not recorded", "err", err)
			w.Header().Set("Retry-After", "2")
			writeError(w, http.StatusServiceUnavailable, "", "cannot record the logout now, retry")
			return
		}
	}
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: "", Path: "/", HttpOnly: true, SameSite: http.SameSiteStrictMode, MaxAge: -1})
	w.WriteHeader(http.StatusNoContent)
}

// handleMe is GET /api/v1/me: who is logged in, and with an API token its
// id (the user's role is the token's when that is lower).
func (s *Server) handleMe(w http.ResponseWriter, r *http.Request, u store.User) {
	body := map[string]any{"user": u}
	if id := credentialOf(r).tokenID; id != 0 {
		body["api_token_id"] = id
	}
	writeJSON(w, http.StatusOK, body)
}
