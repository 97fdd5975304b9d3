package server

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/mail"
	"net/url"
	"strings"

	"github.com/radtrack/radtrack/auth"
	"github.com/radtrack/radtrack/notify"
	"github.com/radtrack/radtrack/notify/dispatch"
	"github.com/radtrack/radtrack/store"
)

// Notification routing API (README "Notification routing and
// escalation"): admins manage endpoints, rules and escalation policies;
// every user manages their own push subscriptions and e-mail addresses.
// Registered only when the node runs a dispatcher.
func (s *Server) notifyRoutes() {
	if s.notify == nil {
		return
	}
	for _, kind := range []string{store.NotifyEndpoint, store.NotifyRule, store.NotifyPolicy} {
		base := "/api/v1/notify/" + notifyPlural(kind)
		s.mux.HandleFunc("GET "+base, s.require(auth.RoleAdmin, globalAdminOnly(s.handleListNotifyDocs(kind))))
		s.mux.HandleFunc("POST "+base, s.require(auth.RoleAdmin, globalAdminOnly(s.handleSaveNotifyDoc(kind, false))))
		s.mux.HandleFunc("PUT "+base+"/{id}", s.require(auth.RoleAdmin, globalAdminOnly(s.handleSaveNotifyDoc(kind, true))))
		s.mux.HandleFunc("DELETE "+base+"/{id}", s.require(auth.RoleAdmin, globalAdminOnly(s.handleDeleteNotifyDoc(kind))))
	}
	s.mux.HandleFunc("POST /api/v1/notify/endpoints/{id}/test", s.require(auth.RoleAdmin, globalAdminOnly(s.handleTestNotifyEndpoint)))
	s.mux.HandleFunc("GET /api/v1/notify/me", s.require(auth.RoleViewer, s.handleMyContacts))
	s.mux.HandleFunc("POST /api/v1/notify/me/contacts", s.require(auth.RoleViewer, s.handleAddMyContact))
	s.mux.HandleFunc("DELETE /api/v1/notify/me/contacts/{id}", s.require(auth.RoleViewer, s.handleDeleteMyContact))
	s.mux.HandleFunc("POST /api/v1/notify/me/test", s.require(auth.RoleViewer, s.handleTestMe))
	s.mux.HandleFunc("GET /api/v1/notify/incidents/{id}", s.require(auth.RoleViewer, s.handleIncidentNotifications))
}

// notifyPlural names a document kind's collection (path and list key).
func notifyPlural(kind string) string {
	if kind == store.NotifyPolicy {
		return "policies"
	}
	return kind + "s"
}

func (s *Server) refuseNotify(reason string) {
	if s.metrics != nil {
		s.metrics.RequestsRefused.WithLabelValues("notify", reason).Inc()
	}
}

type notifyDocRequest struct {
	Name string          `json:"name"`
	Spec json.RawMessage `json:"spec"`
}

func (s *Server) handleListNotifyDocs(kind string) func(http.ResponseWriter, *http.Request, store.User) {
	return func(w http.ResponseWriter, r *http.Request, _ store.User) {
		docs, err := s.notify.Store().ListNotifyDocs(r.Context(), kind)
		if err != nil {
			s.internalError(w, r, "list notify "+kind+"s", err)
			return
		}
		out := make([]store.NotifyDoc, 0, len(docs))
		for _, d := range docs {
			out = append(out, dispatch.Redact(d))
		}
		writeJSON(w, http.StatusOK, map[string]any{notifyPlural(kind): out})
	}
}

// handleSaveNotifyDoc creates (POST, 201) or replaces (PUT) a document;
// bad input is 400 naming the field, a taken name 409.
func (s *Server) handleSaveNotifyDoc(kind string, update bool) func(http.ResponseWriter, *http.Request, store.User) {
	return func(w http.ResponseWriter, r *http.Request, u store.User) {
		var id int64
		if update {
			var ok bool
			if id, ok = pathID(w, r); !ok {
				return
			}
		}
		var req notifyDocRequest
		if !decodeJSON(w, r, &req) {
			s.refuseNotify("body")
			return
		}
		spec, err := s.notify.CheckDoc(r.Context(), kind, id, req.Name, req.Spec)
		var fe *dispatch.FieldError
		switch {
		case errors.As(err, &fe):
			s.refuseNotify(kind)
			writeError(w, http.StatusBadRequest, fe.Field, fe.Msg)
			return
		case errors.Is(err, store.ErrNotFound):
			writeError(w, http.StatusNotFound, "id", "no such "+kind)
			return
		case err != nil:
			s.internalError(w, r, "check notify "+kind, err)
			return
		}
		doc := store.NotifyDoc{ID: id, Kind: kind, Name: strings.TrimSpace(req.Name), Spec: spec}
		status := http.StatusCreated
		if update {
			doc, err = s.notify.Store().UpdateNotifyDoc(r.Context(), doc)
			status = http.StatusOK
		} else {
			doc, err = s.notify.Store().CreateNotifyDoc(r.Context(), doc)
		}
		switch {
		case errors.Is(err, store.ErrConflict):
			writeError(w, http.StatusConflict, "name", "a "+kind+" with this name exists")
			return
		case errors.Is(err, store.ErrNotFound):
			writeError(w, http.StatusNotFound, "id", "no such "+kind)
			return
		case err != nil:
			s.internalError(w, r, "save notify "+kind, err)
			return
		}
		action := "create"
		if update {
			action = "update"
		}
		s.audit(r.Context(), &u, "notify."+kind+"."+action, "notify/"+kind+"/"+itoa64(doc.ID), map[string]any{"name": doc.Name})
		writeJSON(w, status, map[string]any{kind: dispatch.Redact(doc)})
	}
}

func (s *Server) handleDeleteNotifyDoc(kind string) func(http.ResponseWriter, *http.Request, store.User) {
	return func(w http.ResponseWriter, r *http.Request, u store.User) {
		id, ok := pathID(w, r)
		if !ok {
			return
		}
		if err := s.notify.CheckDelete(r.Context(), kind, id); errors.Is(err, dispatch.ErrInUse) {
			writeError(w, http.StatusConflict, "id", err.Error())
			return
		} else if err != nil {
			s.internalError(w, r, "check notify "+kind+" delete", err)
			return
		}
		err := s.notify.Store().DeleteNotifyDoc(r.Context(), kind, id)
		if errors.Is(err, store.ErrNotFound) {
			writeError(w, http.StatusNotFound, "id", "no such "+kind)
			return
		}
		if err != nil {
			s.internalError(w, r, "delete notify "+kind, err)
			return
		}
		s.audit(r.Context(), &u, "notify."+kind+".delete", "notify/"+kind+"/"+itoa64(id), nil)
		w.WriteHeader(http.StatusNoContent)
	}
}

// handleTestNotifyEndpoint sends a test notification (marked as a test on
// every channel) to one endpoint now and answers how it went.
func (s *Server) handleTestNotifyEndpoint(w http.ResponseWriter, r *http.Request, _ store.User) {
	id, ok := pathID(w, r)
	if !ok {
		return
	}
	res, err := s.notify.SendTestEndpoint(r.Context(), id)
	var ne *notify.Error
	switch {
	case errors.As(err, &ne) && ne.Permanent:
		writeError(w, http.StatusBadRequest, "id", err.Error())
		return
	case err != nil:
		s.internalError(w, r, "test notify endpoint", err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"result": res})
}

// handleMyContacts is GET /api/v1/notify/me: the caller's contacts and the
// VAPID public key their browser subscribes with ("" without Web Push).
func (s *Server) handleMyContacts(w http.ResponseWriter, r *http.Request, u store.User) {
	list, err := s.notify.Store().ListNotifyContacts(r.Context(), u.ID)
	if err != nil {
		s.internalError(w, r, "list notify contacts", err)
		return
	}
	if list == nil {
		list = []store.NotifyContact{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"contacts": list, "vapid_public_key": s.notify.VAPIDPublicKey()})
}

// addContactRequest is a push subscription (the browser's
// PushSubscription.toJSON()) or an e-mail address.
type addContactRequest struct {
	Kind         string                   `json:"kind"`
	Subscription *notify.PushSubscription `json:"subscription,omitempty"`
	Address      string                   `json:"address,omitempty"`
}

func (s *Server) handleAddMyContact(w http.ResponseWriter, r *http.Request, u store.User) {
	var req addContactRequest
	if !decodeJSON(w, r, &req) {
		s.refuseNotify("body")
		return
	}
	c := store.NotifyContact{UserID: u.ID, Kind: req.Kind}
	switch req.Kind {
	case store.ContactPush:
		sub := req.Subscription
		if sub == nil {
			s.refuseNotify("subscription")
			writeError(w, http.StatusBadRequest, "subscription", "required for kind push")
			return
		}
		if pu, err := url.Parse(sub.Endpoint); err != nil || pu.Scheme != "https" || pu.Host == "" || len(sub.Endpoint) > 2000 {
			s.refuseNotify("subscription")
			writeError(w, http.StatusBadRequest, "subscription.endpoint", "an https URL of at most 2000 bytes")
			return
		}
		if sub.Keys.P256dh == "" || sub.Keys.Auth == "" || len(sub.Keys.P256dh) > 200 || len(sub.Keys.Auth) > 100 {
			s.refuseNotify("subscription")
			writeError(w, http.StatusBadRequest, "subscription.keys", "p256dh and auth are required")
			return
		}
		c.Value = sub.Endpoint
		c.Spec, _ = json.Marshal(sub)
	case store.ContactEmail:
		a, err := mail.ParseAddress(req.Address)
		if err != nil || strings.ContainsAny(req.Address, "\r\n") || len(req.Address) > 320 {
			s.refuseNotify("address")
			writeError(w, http.StatusBadRequest, "address", "not an e-mail address")
			return
		}
		c.Value = a.Address
	default:
		s.refuseNotify("kind")
		writeError(w, http.StatusBadRequest, "kind", "must be push or email")
		return
	}
	saved, err := s.notify.Store().AddNotifyContact(r.Context(), c)
	if err != nil {
		s.internalError(w, r, "add notify contact", err)
		return
	}
	writeJSON(w, http.StatusCreated, map[string]any{"contact": saved})
}

func (s *Server) handleDeleteMyContact(w http.ResponseWriter, r *http.Request, u store.User) {
	id, ok := pathID(w, r)
	if !ok {
		return
	}
	err := s.notify.Store().DeleteNotifyContact(r.Context(), u.ID, id)
	if errors.Is(err, store.ErrNotFound) {
		writeError(w, http.StatusNotFound, "id", "no such contact of yours")
		return
	}
	if err != nil {
		s.internalError(w, r, "delete notify contact", err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// handleTestMe sends a test notification to each of the caller's contacts.
func (s *Server) handleTestMe(w http.ResponseWriter, r *http.Request, u store.User) {
	res, err := s.notify.SendTestUser(r.Context(), u.ID)
	if err != nil {
		s.internalError(w, r, "test notify contacts", err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"results": res})
}

// handleIncidentNotifications is the incident's notification trail: a
// one-line summary, every delivery and every attempt.
func (s *Server) handleIncidentNotifications(w http.ResponseWriter, r *http.Request, u store.User) {
	id, ok := pathID(w, r)
	if !ok {
		return
	}
	sc, ok := s.requestScope(w, r, u)
	if !ok {
		return
	}
	if !sc.all {
		// Below the root, the trail exists only for an incident in scope.
		if _, _, ok := s.incidentOf(w, r, u); !ok {
			return
		}
	}
	items, err := s.notify.Store().IncidentDeliveries(r.Context(), id)
	if err != nil {
		s.internalError(w, r, "incident deliveries", err)
		return
	}
	attempts, err := s.notify.Store().IncidentAttempts(r.Context(), id)
	if err != nil {
		s.internalError(w, r, "incident attempts", err)
		return
	}
	if items == nil {
		items = []store.OutboxItem{}
	}
	if attempts == nil {
		attempts = []store.DeliveryAttempt{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"summary": dispatch.Summary(id, items), "deliveries": items, "attempts": attempts})
}
