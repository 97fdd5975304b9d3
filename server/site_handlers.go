package server

import (
	"errors"
	"net/http"
	"slices"

	"github.com/radtrack/radtrack/auth"
	"github.com/radtrack/radtrack/store"
)

// siteRoutes are the site tree's routes: everyone reads their subtree,
// the global admin (admin of the root site) grows the tree, and site
// admins place devices within their subtree.
func (s *Server) siteRoutes() {
	s.mux.HandleFunc("GET /api/v1/sites", s.require(auth.RoleViewer, s.handleListSites))
	s.mux.HandleFunc("POST /api/v1/sites", s.require(auth.RoleAdmin, s.handleCreateSite))
	s.mux.HandleFunc("POST /api/v1/devices/{id}/site", s.require(auth.RoleAdmin, s.handleMoveDevice))
}

// handleListSites is GET /api/v1/sites: the user's site and every site
// below it, parents first (each with its path, so a client draws the tree).
func (s *Server) handleListSites(w http.ResponseWriter, r *http.Request, u store.User) {
	sc, ok := s.requestScope(w, r, u)
	if !ok {
		return
	}
	sites, err := s.store.ListSites(r.Context())
	if err != nil {
		s.internalError(w, r, "list sites", err)
		return
	}
	sites = slices.DeleteFunc(sites, func(x store.Site) bool { return !sc.Site(x.ID) })
	writeJSON(w, http.StatusOK, map[string]any{"site_id": sc.site, "sites": sites})
}

type createSiteRequest struct {
	ParentID int64  `json:"parent_id"`
	Name     string `json:"name"`
}

// handleCreateSite is POST /api/v1/sites {"parent_id","name"}: only the
// global admin changes the tree.
func (s *Server) handleCreateSite(w http.ResponseWriter, r *http.Request, admin store.User) {
	if !isGlobalAdmin(admin) {
		writeError(w, http.StatusForbidden, "", "only an admin of the root site may change the site tree")
		return
	}
	var req createSiteRequest
	if !decodeJSON(w, r, &req) {
		return
	}
	if req.ParentID <= 0 {
		writeError(w, http.StatusBadRequest, "parent_id", "required: the id of an existing site")
		return
	}
	if err := store.CheckSiteName(req.Name); err != nil {
		writeError(w, http.StatusBadRequest, "name", err.Error())
		return
	}
	site, err := s.store.CreateSite(r.Context(), store.Site{ParentID: &req.ParentID, Name: req.Name})
	switch {
	case errors.Is(err, store.ErrNotFound):
		writeError(w, http.StatusBadRequest, "parent_id", "no such site")
		return
	case errors.Is(err, store.ErrConflict):
		writeError(w, http.StatusConflict, "name", "the parent has a site of this name")
		return
	case err != nil:
		s.internalError(w, r, "create site", err)
		return
	}
	s.SitesChanged()
	if s.alarms != nil {
		// Fences narrow by site path: this node learns the new one now
		// (other nodes at their next fence reload; until then a vehicle of
		// the new site gets every fence, the safe side).
		if err := s.alarms.ReloadFences(r.Context()); err != nil {
			s.log.ErrorContext(r.Context(), "reload fences", "err", err)
		}
	}
	s.audit(r.Context(), &admin, "site.create", "site/"+itoa64(site.ID), map[string]any{"parent_id": req.ParentID, "name": site.Name})
	writeJSON(w, http.StatusCreated, map[string]any{"site": site})
}

type moveRequest struct {
	SiteID int64 `json:"site_id"`
}

// handleMoveDevice is POST /api/v1/devices/{id}/site {"site_id"}: an
// admin moves a device of their subtree to a site of their subtree.
func (s *Server) handleMoveDevice(w http.ResponseWriter, r *http.Request, admin store.User) {
	d, ok := s.deviceOf(w, r)
	if !ok {
		return
	}
	var req moveRequest
	if !decodeJSON(w, r, &req) {
		return
	}
	site, ok := s.siteForNew(w, r, admin, req.SiteID)
	if !ok {
		return
	}
	if err := s.store.SetDeviceSite(r.Context(), d.ID, site); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			writeError(w, http.StatusNotFound, "id", "no such device or site")
			return
		}
		s.internalError(w, r, "move device", err)
		return
	}
	s.deviceChanged(r, d.ID) // other nodes reload their site index
	s.audit(r.Context(), &admin, "device.site", "device/"+d.UID, map[string]any{"from": d.SiteID, "to": site})
	d.SiteID = site
	writeJSON(w, http.StatusOK, map[string]any{"device": d})
}

// isGlobalAdmin: an admin of the root site.
func isGlobalAdmin(u store.User) bool {
	return auth.Allows(u.Role, auth.RoleAdmin) && (u.SiteID == 0 || u.SiteID == store.RootSiteID)
}

// siteForNew is the site something created or moved by u goes to: want,
// or u's own site when want is 0. It must exist and be within u's
// subtree; otherwise it answers 400 naming site_id.
func (s *Server) siteForNew(w http.ResponseWriter, r *http.Request, u store.User, want int64) (int64, bool) {
	if want == 0 {
		return max(u.SiteID, store.RootSiteID), true
	}
	sc, ok := s.requestScope(w, r, u)
	if !ok {
		return 0, false
	}
	if want < 0 || !sc.Site(want) {
		writeError(w, http.StatusBadRequest, "site_id", "no such site in your subtree")
		return 0, false
	}
	if sc.all {
		// Root users have no index loaded; the site must still exist.
		v, err := s.sites.load(r.Context(), s.store)
		if err != nil {
			s.internalError(w, r, "sites", err)
			return 0, false
		}
		if _, ok := v.tree.Site(want); !ok {
			writeError(w, http.StatusBadRequest, "site_id", "no such site")
			return 0, false
		}
	}
	return want, true
}

// userInScope answers 404 unless user id is within u's subtree.
func (s *Server) userInScope(w http.ResponseWriter, r *http.Request, u store.User, id int64) bool {
	sc, ok := s.requestScope(w, r, u)
	if !ok {
		return false
	}
	if sc.all {
		return true
	}
	target, err := s.store.UserByID(r.Context(), id)
	switch {
	case errors.Is(err, store.ErrNotFound) || (err == nil && !sc.Site(target.SiteID)):
		writeError(w, http.StatusNotFound, "id", "no such user")
		return false
	case err != nil:
		s.internalError(w, r, "user", err)
		return false
	}
	return true
}

// scopeAudit keeps the audit entries made by users of u's subtree; the
// global admin sees all, including entries made from the command line.
func (s *Server) scopeAudit(w http.ResponseWriter, r *http.Request, u store.User, entries []store.AuditEntry) ([]store.AuditEntry, bool) {
	sc, ok := s.requestScope(w, r, u)
	if !ok || sc.all {
		return entries, ok
	}
	in, ok := s.usersInScope(w, r, u)
	if !ok {
		return nil, false
	}
	return slices.DeleteFunc(entries, func(e store.AuditEntry) bool { return e.UserID == nil || !in[*e.UserID] }), true
}

// usersInScope is the set of user ids within u's subtree; nil for a root
// user (everyone). On failure it answers 503 and returns false.
func (s *Server) usersInScope(w http.ResponseWriter, r *http.Request, u store.User) (map[int64]bool, bool) {
	sc, ok := s.requestScope(w, r, u)
	if !ok || sc.all {
		return nil, ok
	}
	users, err := s.store.ListUsers(r.Context())
	if err != nil {
		s.internalError(w, r, "list users", err)
		return nil, false
	}
	in := make(map[int64]bool, len(users))
	for _, x := range users {
		if sc.Site(x.SiteID) {
			in[x.ID] = true
		}
	}
	return in, true
}

// globalAdminOnly refuses (403) admins of a site below the root: routes
// whose documents are not scoped by site yet (notification endpoints,
// rules and policies hold every site's addresses and secrets).
func globalAdminOnly(h userHandler) userHandler {
	return func(w http.ResponseWriter, r *http.Request, u store.User) {
		if !isGlobalAdmin(u) {
			writeError(w, http.StatusForbidden, "", "only an admin of the root site may manage notification routing")
			return
		}
		h(w, r, u)
	}
}
