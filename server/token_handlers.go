package server

import (
	"errors"
	"net/http"
	"slices"
	"strconv"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/radtrack/radtrack/auth"
	"github.com/radtrack/radtrack/internal/revocations"
	"github.com/radtrack/radtrack/store"
)

// API tokens are for integrations. The rules:
//   - A token carries a role, at most its creator's (default: the
//     creator's); requests made with it act with the lower of that role and
//     its user's current one.
//   - Only a logged-in person (a session) creates tokens. A token never
//     mints one: a child would outlive the revocation of a leaked parent,
//     and an integration gains nothing from it (a child could not outlive
//     or outrank its parent anyway).
//   - With a token, an integration sees and may revoke only that token.
//     People see and revoke their own tokens; admins anyone's.
//   - Optional expiry; an expired token is refused with 401 saying so.
//   - What changes to a user revoke is decided in store.UserUpdate.Ends.

func (s *Server) tokenRoutes() {
	s.mux.HandleFunc("GET /api/v1/tokens", s.require(auth.RoleViewer, s.handleListAPITokens))
	s.mux.HandleFunc("POST /api/v1/tokens", s.require(auth.RoleViewer, s.handleCreateAPIToken))
	s.mux.HandleFunc("DELETE /api/v1/tokens/{id}", s.require(auth.RoleViewer, s.handleRevokeAPIToken))
}

type createTokenRequest struct {
	Name string `json:"name"`
	Role string `json:"role"`
	// ExpiresIn is in seconds (as OAuth's expires_in); ExpiresAt is a
	// time. At most one of them.
	ExpiresIn *int64     `json:"expires_in"`
	ExpiresAt *time.Time `json:"expires_at"`
}

// maxTokenLifetime bounds an expiry, far beyond any sensible one.
const maxTokenLifetime = 10 * 365 * 24 * time.Hour

// createdToken is the answer to a creation: the token as stored and, once,
// its secret.
type createdToken struct {
	store.APIToken
	Token string `json:"token"`
}

// handleCreateAPIToken is POST /api/v1/tokens {"name", "role",
// "expires_in" | "expires_at"}: a token acting as the caller, shown once.
func (s *Server) handleCreateAPIToken(w http.ResponseWriter, r *http.Request, u store.User) {
	if credentialOf(r).tokenID != 0 {
		writeError(w, http.StatusForbidden, "Authorization", "an API token cannot create tokens; log in to create one")
		return
	}
	var req createTokenRequest
	if !decodeJSON(w, r, &req) {
		return
	}
	if field, msg := checkTokenName(req.Name); field != "" {
		writeError(w, http.StatusBadRequest, field, msg)
		return
	}
	role := req.Role
	if role == "" {
		role = u.Role
	}
	if !auth.ValidRole(role) {
		writeError(w, http.StatusBadRequest, "role", "must be viewer, operator or admin")
		return
	}
	if !auth.Allows(u.Role, role) {
		writeError(w, http.StatusForbidden, "role", "a token cannot have more rights than its creator (your role: "+u.Role+")")
		return
	}
	now := time.Now()
	var expires *time.Time
	switch {
	case req.ExpiresIn != nil && req.ExpiresAt != nil:
		writeError(w, http.StatusBadRequest, "expires_in", "give expires_in or expires_at, not both")
		return
	case req.ExpiresIn != nil:
		if *req.ExpiresIn <= 0 || *req.ExpiresIn > int64(maxTokenLifetime/time.Second) {
			writeError(w, http.StatusBadRequest, "expires_in", "seconds, more than 0 and at most 10 years")
			return
		}
		at := now.Add(time.Duration(*req.ExpiresIn) * time.Second).UTC()
		expires = &at
	case req.ExpiresAt != nil:
		if !req.ExpiresAt.After(now) || req.ExpiresAt.Sub(now) > maxTokenLifetime {
			writeError(w, http.StatusBadRequest, "expires_at", "must be in the future, at most 10 years ahead")
			return
		}
		at := req.ExpiresAt.UTC()
		expires = &at
	}
	secret, hash, err := auth.NewAPIToken()
	if err != nil {
		writeError(w, http.StatusInternalServerError, "", err.Error())
		return
	}
	t, err := s.store.IssueAPIToken(r.Context(), store.APIToken{UserID: u.ID, Name: req.Name, Role: role, ExpiresAt: expires, Hash: hash})
	if err != nil {
		s.internalError(w, r, "create API token", err)
		return
	}
	s.audit(r.Context(), &u, "token.create", "token/"+itoa64(t.ID), map[string]any{"name": t.Name, "role": t.Role, "expires_at": t.ExpiresAt})
	writeJSON(w, http.StatusCreated, createdToken{APIToken: t, Token: secret})
}

// checkTokenName refuses what a person could not read back (and what a
// store cannot hold, such as NUL).
func checkTokenName(name string) (field, msg string) {
	if name == "" || len(name) > 100 || !utf8.ValidString(name) {
		return "name", "required, at most 100 bytes of UTF-8"
	}
	for _, c := range name {
		if unicode.IsControl(c) {
			return "name", "must not hold control characters"
		}
	}
	return "", ""
}

// handleListAPITokens is GET /api/v1/tokens[?user_id=N|all]
// [&include_revoked=true]: the caller's tokens, newest first; admins may
// list another user's or everyone's. With a token: that token only.
func (s *Server) handleListAPITokens(w http.ResponseWriter, r *http.Request, u store.User) {
	q := r.URL.Query()
	f := store.APITokenFilter{UserID: u.ID, IncludeRevoked: q.Get("include_revoked") == "true"}
	if id := credentialOf(r).tokenID; id != 0 {
		t, err := s.store.APITokenByID(r.Context(), id)
		if err != nil {
			s.internalError(w, r, "list API tokens", err)
			return
		}
		writeJSON(w, http.StatusOK, map[string]any{"tokens": []store.APIToken{t}})
		return
	}
	if v := q.Get("user_id"); v != "" && v != itoa64(u.ID) {
		if !auth.Allows(u.Role, auth.RoleAdmin) {
			writeError(w, http.StatusForbidden, "user_id", "only admins list other users' tokens")
			return
		}
		if v == "all" {
			f.UserID = 0
		} else if id, err := strconv.ParseInt(v, 10, 64); err == nil && id > 0 {
			f.UserID = id
		} else {
			writeError(w, http.StatusBadRequest, "user_id", "a user id or all")
			return
		}
	}
	tokens, err := s.store.ListAPITokens(r.Context(), f)
	if err != nil {
		s.internalError(w, r, "list API tokens", err)
		return
	}
	if f.UserID != u.ID {
		// A site admin lists the tokens of their subtree's users only.
		in, ok := s.usersInScope(w, r, u)
		if !ok {
			return
		}
		if in != nil {
			tokens = slices.DeleteFunc(tokens, func(t store.APIToken) bool { return !in[t.UserID] })
		}
	}
	if tokens == nil {
		tokens = []store.APIToken{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"tokens": tokens})
}

// handleRevokeAPIToken is DELETE /api/v1/tokens/{id}: 204 once the
// database holds the revocation; 202 when the database is unreachable and
// the revocation is journaled on this node (refused here and by every node
// that heard of it, applied when the database answers).
func (s *Server) handleRevokeAPIToken(w http.ResponseWriter, r *http.Request, u store.User) {
	id, ok := pathID(w, r)
	if !ok {
		return
	}
	cred := credentialOf(r)
	if cred.tokenID != 0 && cred.tokenID != id {
		writeError(w, http.StatusForbidden, "id", "an API token may revoke only itself")
		return
	}
	admin := auth.Allows(u.Role, auth.RoleAdmin)
	rec := revocations.Record{TokenID: id, At: time.Now()}
	details := map[string]any{"at": rec.At}
	t, err := s.store.APITokenByID(r.Context(), id)
	switch {
	case err == nil && t.UserID != u.ID && admin:
		// An admin revokes other users' tokens within their subtree only.
		in, ok := s.usersInScope(w, r, u)
		if !ok {
			return
		}
		if in != nil && !in[t.UserID] {
			writeError(w, http.StatusNotFound, "id", "no such token")
			return
		}
		if t.RevokedAt != nil {
			w.WriteHeader(http.StatusNoContent)
			return
		}
		rec.TokenHash = t.Hash
		details["name"], details["user_id"] = t.Name, t.UserID
	case errors.Is(err, store.ErrNotFound) || (err == nil && t.UserID != u.ID && !admin):
		writeError(w, http.StatusNotFound, "id", "no such token")
		return
	case err == nil:
		if t.RevokedAt != nil {
			w.WriteHeader(http.StatusNoContent)
			return
		}
		rec.TokenHash = t.Hash
		details["name"], details["user_id"] = t.Name, t.UserID
	default:
		// The database does not answer: revoke what this node can vouch
		// for — any token for an admin, else the caller's own as this node
		// knows it.
		owner, hash, known := s.known.token(id)
		if cred.tokenID == id {
			owner, hash, known = u.ID, cred.hash, true
		}
		if !admin && (!known || owner != u.ID) {
			s.internalError(w, r, "check the token's owner", err)
			return
		}
		rec.TokenHash = hash
		details["database_unavailable"] = true
		if known {
			details["user_id"] = owner
		}
	}
	entry := auditEntry(&u, "token.revoke", "token/"+itoa64(id), details)
	rec.Audit = &entry
	applied, err := s.revoke(r.Context(), rec)
	switch {
	case err != nil:
		s.internalError(w, r, "revoke API token", err)
	case applied:
		w.WriteHeader(http.StatusNoContent)
	default:
		writeJSON(w, http.StatusAccepted, map[string]any{"id": id, "status": "pending",
			"detail": "database unavailable: the token is refused now and the revocation is stored when the database answers"})
	}
}
