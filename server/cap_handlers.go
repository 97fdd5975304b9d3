package server

import (
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/radtrack/radtrack/notify"
	"github.com/radtrack/radtrack/notify/incidentevent"
	"github.com/radtrack/radtrack/store"
)

const (
	capFeedDefaultDays = 7
	capFeedMaxDays     = 90
	capFeedMaxEntries  = 500
)

// handleCAPFeed is GET /api/v1/cap.atom?days=N (viewer; a session or an
// API token, so a feed reader can poll it): the live incidents last seen in
// the past N days (default 7, at most 90; at most 500) as an Atom feed of
// CAP 1.2 alerts, newest first. Each incident is its latest message: Alert
// while raised, Update once re-alarmed or acknowledged, Cancel once
// resolved. A user below the root sees their own sites' incidents only.
func (s *Server) handleCAPFeed(w http.ResponseWriter, r *http.Request, u store.User) {
	days := capFeedDefaultDays
	if v := r.URL.Query().Get("days"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > capFeedMaxDays {
			writeError(w, http.StatusBadRequest, "days", "must be a whole number of days from 1 to 90")
			return
		}
		days = n
	}
	sc, ok := s.requestScope(w, r, u)
	if !ok {
		return
	}
	live := false
	list, err := s.store.ListIncidents(r.Context(), store.IncidentFilter{
		Imported: &live, Since: time.Now().Add(-time.Duration(days) * 24 * time.Hour), Limit: capFeedMaxEntries,
	})
	if err != nil {
		s.internalError(w, r, "list incidents for the CAP feed", err)
		return
	}
	base := requestBase(r)
	events := make([]notify.Event, 0, len(list))
	for _, inc := range list {
		inc, in := scopeIncident(sc, inc)
		if !in {
			continue
		}
		ev := incidentevent.Latest(r.Context(), s.store, inc)
		ev.Incident.URL = base + "/#incident=" + strconv.FormatInt(inc.ID, 10)
		events = append(events, ev)
	}
	doc, err := notify.RenderAtom(notify.FeedConfig{SelfURL: base + r.URL.Path}, s.cap, events)
	if err != nil {
		s.internalError(w, r, "render the CAP feed", errors.Join(errors.New("cap feed"), err))
		return
	}
	w.Header().Set("Content-Type", "application/atom+xml; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	_, _ = w.Write(doc)
}

// requestBase is the scheme and host the client used: the feed's links
// must be absolute. A proxy in front says the scheme in X-Forwarded-Proto.
func requestBase(r *http.Request) string {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	if p := r.Header.Get("X-Forwarded-Proto"); p == "https" || p == "http" {
		scheme = p
	}
	return scheme + "://" + r.Host
}
