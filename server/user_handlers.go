package server

import (
	"errors"
	"net/http"
	"slices"
	"strconv"
	"time"

	"github.com/radtrack/radtrack/auth"
	"github.com/radtrack/radtrack/store"
)

// handleListUsers is GET /api/v1/users (admin).
func (s *Server) handleListUsers(w http.ResponseWriter, r *http.Request, admin store.User) {
	sc, ok := s.requestScope(w, r, admin)
	if !ok {
		return
	}
	users, err := s.store.ListUsers(r.Context())
	if err != nil {
		s.internalError(w, r, "list users", err)
		return
	}
	users = slices.DeleteFunc(users, func(u store.User) bool { return !sc.Site(u.SiteID) })
	writeJSON(w, http.StatusOK, map[string]any{"users": users})
}

type createUserRequest struct {
	Username string `json:"username"`
	Password string `json:"password"`
	Role     string `json:"role"`
	SiteID   int64  `json:"site_id"` // default: the admin's own site
}

// handleCreateUser is POST /api/v1/users (admin).
func (s *Server) handleCreateUser(w http.ResponseWriter, r *http.Request, admin store.User) {
	var req createUserRequest
	if !decodeJSON(w, r, &req) {
		return
	}
	if req.Username == "" || len(req.Username) > 64 {
		writeError(w, http.StatusBadRequest, "username", "required, at most 64 characters")
		return
	}
	if !auth.ValidRole(req.Role) {
		writeError(w, http.StatusBadRequest, "role", "must be viewer, operator or admin")
		return
	}
	site, ok := s.siteForNew(w, r, admin, req.SiteID)
	if !ok {
		return
	}
	hash, err := auth.HashPassword(req.Password, s.cfg.BcryptCost)
	if err != nil {
		writeError(w, http.StatusBadRequest, "password", err.Error())
		return
	}
	u, err := s.store.CreateUser(r.Context(), store.User{Username: req.Username, Role: req.Role, PasswordHash: hash, SiteID: site})
	if errors.Is(err, store.ErrConflict) {
		writeError(w, http.StatusConflict, "username", "already taken")
		return
	}
	if err != nil {
		s.internalError(w, r, "create user", err)
		return
	}
	s.audit(r.Context(), &admin, "user.create", "user/"+u.Username, map[string]any{"role": u.Role, "site_id": u.SiteID})
	writeJSON(w, http.StatusCreated, map[string]any{"user": u})
}

type updateUserRequest struct {
	Role     *string `json:"role"`
	Password *string `json:"password"`
	Disabled *bool   `json:"disabled"`
	SiteID   *int64  `json:"site_id"` // moves the user (within the admin's subtree)
}

// handleUpdateUser is PATCH /api/v1/users/{id} (admin): role, password,
// disabled. What that ends (sessions, API tokens) is store.UserUpdate.Ends;
// every node then forgets what it remembers of the user, so none serves
// the old state from memory during a database outage.
func (s *Server) handleUpdateUser(w http.ResponseWriter, r *http.Request, admin store.User) {
	id, ok := pathID(w, r)
	if !ok {
		return
	}
	var req updateUserRequest
	if !decodeJSON(w, r, &req) {
		return
	}
	if !s.userInScope(w, r, admin, id) {
		return
	}
	if req.SiteID != nil {
		if id == admin.ID {
			writeError(w, http.StatusBadRequest, "site_id", "an admin cannot move themself")
			return
		}
		if _, ok := s.siteForNew(w, r, admin, *req.SiteID); !ok {
			return
		}
	}
	up := store.UserUpdate{Role: req.Role, Disabled: req.Disabled}
	if req.Role != nil && !auth.ValidRole(*req.Role) {
		writeError(w, http.StatusBadRequest, "role", "must be viewer, operator or admin")
		return
	}
	if id == admin.ID && ((req.Role != nil && *req.Role != auth.RoleAdmin) || (req.Disabled != nil && *req.Disabled)) {
		writeError(w, http.StatusBadRequest, "role", "an admin cannot demote or disable themself")
		return
	}
	if req.Password != nil {
		hash, err := auth.HashPassword(*req.Password, s.cfg.BcryptCost)
		if err != nil {
			writeError(w, http.StatusBadRequest, "password", err.Error())
			return
		}
		up.PasswordHash = &hash
	}
	u, err := s.store.UpdateUser(r.Context(), id, up)
	if err == nil && req.SiteID != nil {
		// After the other changes, which end what they end; the move then
		// closes the user's sockets below, like a role change.
		if err = s.store.SetUserSite(r.Context(), id, *req.SiteID); err == nil {
			u.SiteID = *req.SiteID
		}
	}
	if errors.Is(err, store.ErrNotFound) {
		writeError(w, http.StatusNotFound, "id", "no such user")
		return
	}
	if err != nil {
		s.internalError(w, r, "update user", err)
		return
	}
	s.known.forgetUser(u.ID)
	changed := CredentialRevoked{UserID: u.ID, At: time.Now()}
	s.closeLive(changed)
	s.announce(r.Context(), changed)
	ends := up.Ends()
	s.audit(r.Context(), &admin, "user.update", "user/"+u.Username, map[string]any{
		"role": req.Role, "disabled": req.Disabled, "site_id": req.SiteID, "password_changed": req.Password != nil,
		"ended_sessions": ends.Sessions, "revoked_all_tokens": ends.AllTokens, "revoked_token_roles": ends.TokenRoles,
	})
	writeJSON(w, http.StatusOK, map[string]any{"user": u})
}

// handleListAudit is GET /api/v1/audit?limit=N (admin), newest first.
func (s *Server) handleListAudit(w http.ResponseWriter, r *http.Request, admin store.User) {
	limit, ok := 200, true
	if v := r.URL.Query().Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n <= 0 {
			writeError(w, http.StatusBadRequest, "limit", "must be a positive integer")
			return
		}
		limit = n
	}
	entries, err := s.store.ListAudit(r.Context(), limit)
	if err != nil {
		s.internalError(w, r, "list audit", err)
		return
	}
	if entries, ok = s.scopeAudit(w, r, admin, entries); !ok {
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"entries": entries})
}

// pathID parses the {id} path segment, answering 400 itself if it is bad.
func pathID(w http.ResponseWriter, r *http.Request) (int64, bool) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id <= 0 {
		writeError(w, http.StatusBadRequest, "id", "must be a positive integer")
		return 0, false
	}
	return id, true
}

// internalError logs a storage failure and answers 503: these are
// transient (database unreachable) far more often than bugs. A value the
// database refuses for good (store.Permanent) answers 400 instead: a retry
// would only repeat the refusal.
func (s *Server) internalError(w http.ResponseWriter, r *http.Request, what string, err error) {
	if c, ok := s.store.(store.FaultClassifier); ok && c.Classify(err) == store.Permanent &&
		!errors.Is(err, store.ErrNotFound) && !errors.Is(err, store.ErrConflict) {
		s.log.WarnContext(r.Context(), what+": the database refused the request's data", "err", err)
		writeError(w, http.StatusBadRequest, "", what+" failed: the database cannot store this request's data")
		return
	}
	s.log.ErrorContext(r.Context(), what, "err", err)
	w.Header().Set("Retry-After", "2")
	writeError(w, http.StatusServiceUnavailable, "", what+" failed, retry later")
}
