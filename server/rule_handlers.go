package server

import (
	"errors"
	"net/http"
	"slices"

	"github.com/radtrack/radtrack/rules"
	"github.com/radtrack/radtrack/store"
)

// handleListRules is GET /api/v1/rules.
func (s *Server) handleListRules(w http.ResponseWriter, r *http.Request, u store.User) {
	sc, ok := s.requestScope(w, r, u)
	if !ok {
		return
	}
	rs, err := s.store.ListRules(r.Context())
	if err != nil {
		s.internalError(w, r, "list rules", err)
		return
	}
	// Like fences: a site sees its subtree's rules and the inherited ones.
	rs = slices.DeleteFunc(rs, func(x rules.Rule) bool { return !fenceVisible(sc, sc.view, max(x.SiteID, store.RootSiteID)) })
	writeJSON(w, http.StatusOK, map[string]any{"rules": rs})
}

// readRule decodes and validates a rule body, checking that a fence it
// names exists; it answers 400 itself.
func (s *Server) readRule(w http.ResponseWriter, r *http.Request) (rules.Rule, bool) {
	var rule rules.Rule
	if !decodeJSON(w, r, &rule) {
		return rule, false
	}
	if err := rule.Validate(); err != nil {
		var fe *rules.FieldError
		if errors.As(err, &fe) {
			writeError(w, http.StatusBadRequest, fe.Field, fe.Reason)
		} else {
			writeError(w, http.StatusBadRequest, "", err.Error())
		}
		return rule, false
	}
	var fenceID int64
	field := ""
	switch {
	case rule.Zone != nil:
		fenceID, field = rule.Zone.FenceID, "zone.fence_id"
	case rule.Fence != nil:
		fenceID, field = rule.Fence.FenceID, "fence.fence_id"
	}
	if fenceID != 0 {
		if _, ok := s.alarms.Index().Fence(fenceID); !ok {
			writeError(w, http.StatusBadRequest, field, "no fence with id "+itoa64(fenceID))
			return rule, false
		}
	}
	return rule, true
}

// handleCreateRule is POST /api/v1/rules (operator).
func (s *Server) handleCreateRule(w http.ResponseWriter, r *http.Request, u store.User) {
	rule, ok := s.readRule(w, r)
	if !ok {
		return
	}
	rule.SiteID = max(u.SiteID, store.RootSiteID) // a rule belongs to its creator's site
	created, err := s.store.CreateRule(r.Context(), rule)
	if err != nil {
		s.internalError(w, r, "create rule", err)
		return
	}
	s.afterRuleChange(r, &u, "rule.create", created)
	writeJSON(w, http.StatusCreated, map[string]any{"rule": created})
}

// handleUpdateRule is PUT /api/v1/rules/{id} (operator).
func (s *Server) handleUpdateRule(w http.ResponseWriter, r *http.Request, u store.User) {
	id, ok := pathID(w, r)
	if !ok {
		return
	}
	site, ok := s.ruleEditableBy(w, r, u, id)
	if !ok {
		return
	}
	rule, ok := s.readRule(w, r)
	if !ok {
		return
	}
	rule.ID, rule.SiteID = id, site // its site stays
	updated, err := s.store.UpdateRule(r.Context(), rule)
	if errors.Is(err, store.ErrNotFound) {
		writeError(w, http.StatusNotFound, "id", "no such rule")
		return
	}
	if err != nil {
		s.internalError(w, r, "update rule", err)
		return
	}
	s.afterRuleChange(r, &u, "rule.update", updated)
	writeJSON(w, http.StatusOK, map[string]any{"rule": updated})
}

// handleDeleteRule is DELETE /api/v1/rules/{id} (operator). Its alarms stay.
func (s *Server) handleDeleteRule(w http.ResponseWriter, r *http.Request, u store.User) {
	id, ok := pathID(w, r)
	if !ok {
		return
	}
	if _, ok := s.ruleEditableBy(w, r, u, id); !ok {
		return
	}
	err := s.store.DeleteRule(r.Context(), id)
	if errors.Is(err, store.ErrNotFound) {
		writeError(w, http.StatusNotFound, "id", "no such rule")
		return
	}
	if err != nil {
		s.internalError(w, r, "delete rule", err)
		return
	}
	s.afterRuleChange(r, &u, "rule.delete", rules.Rule{ID: id})
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) afterRuleChange(r *http.Request, u *store.User, action string, rule rules.Rule) {
	if err := s.alarms.ReloadRules(r.Context()); err != nil {
		s.log.ErrorContext(r.Context(), "reload rules", "err", err)
	}
	s.announceConfigChange(r)
	s.audit(r.Context(), u, action, "rule/"+itoa64(rule.ID), rule)
}

// ruleEditableBy returns rule id's site, answering 404 unless the rule is
// within u's subtree (403 for an inherited rule, which u sees).
func (s *Server) ruleEditableBy(w http.ResponseWriter, r *http.Request, u store.User, id int64) (int64, bool) {
	sc, ok := s.requestScope(w, r, u)
	if !ok {
		return 0, false
	}
	for _, rule := range s.alarms.Engine().Rules() {
		if rule.ID != id {
			continue
		}
		site := max(rule.SiteID, store.RootSiteID)
		switch {
		case fenceEditable(sc, site):
			return site, true
		case fenceVisible(sc, sc.view, site):
			writeError(w, http.StatusForbidden, "id", "this rule belongs to a site above yours: it applies to your vehicles but only that site may change it")
			return 0, false
		}
		break
	}
	writeError(w, http.StatusNotFound, "id", "no such rule")
	return 0, false
}
