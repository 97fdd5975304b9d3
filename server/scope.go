package server

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/radtrack/radtrack/store"
)

// Site scoping. A user's role applies to the subtree of their site: the
// scope of a request answers "may this principal see site/device X". Users
// of the root site see everything, with no look-up at all. For everyone
// else the node keeps a siteIndex — the tree and every device's site —
// reloaded every few seconds, at once after a change made here, and when
// another node announces a device change. A device the index does not know
// yet (created on another node a moment ago) is outside every non-root
// scope: the filter fails closed.

// siteIndexEvery is how often the index is reloaded without a notice.
const siteIndexEvery = 5 * time.Second

// siteIndexView is one immutable load of the tree and the device sites.
type siteIndexView struct {
	tree       *store.SiteTree
	deviceSite map[int64]int64
	loadedAt   time.Time
}

// siteIndex holds the current view; readers never block (live filters
// call it under hub locks).
type siteIndex struct {
	view   atomic.Pointer[siteIndexView]
	loadMu sync.Mutex // one reload at a time
	// dirty: a change was made since the view was read; the next scope
	// reloads first rather than answer from before the change.
	dirty atomic.Bool
}

func (x *siteIndex) current() *siteIndexView { return x.view.Load() }

// load reads the tree and the device sites from the store.
func (x *siteIndex) load(ctx context.Context, st store.Store) (*siteIndexView, error) {
	x.loadMu.Lock()
	defer x.loadMu.Unlock()
	dirty := x.dirty.Swap(false) // a change from now on marks it again
	sites, err := st.ListSites(ctx)
	if err != nil {
		x.dirty.CompareAndSwap(false, dirty)
		return nil, fmt.Errorf("load sites: %w", err)
	}
	devices, err := st.ListDevices(ctx)
	if err != nil {
		x.dirty.CompareAndSwap(false, dirty)
		return nil, fmt.Errorf("load device sites: %w", err)
	}
	v := &siteIndexView{tree: store.NewSiteTree(sites), deviceSite: make(map[int64]int64, len(devices)), loadedAt: time.Now()}
	for _, d := range devices {
		v.deviceSite[d.ID] = d.SiteID
	}
	x.view.Store(v)
	return v, nil
}

// scope is what one principal may see.
type scope struct {
	all   bool               // a root-site user: no filter
	site  int64              // the principal's site
	sites map[int64]struct{} // the subtree of site
	view  *siteIndexView     // device → site, for device checks
}

// Site reports whether site id is within the scope.
func (sc scope) Site(id int64) bool {
	if sc.all {
		return true
	}
	_, ok := sc.sites[id]
	return ok
}

// Device reports whether a device (by id, from the index) is within the
// scope; an unknown device is not.
func (sc scope) Device(id int64) bool {
	if sc.all {
		return true
	}
	site, ok := sc.view.deviceSite[id]
	return ok && sc.Site(site)
}

// deviceIDs lists the devices within a non-root scope (never nil).
func (sc scope) deviceIDs() []int64 {
	ids := []int64{}
	for id, site := range sc.view.deviceSite {
		if sc.Site(site) {
			ids = append(ids, id)
		}
	}
	return ids
}

// deviceFilter is the live.Viewer filter of the scope; nil (all) for
// root users. A socket outlives many index reloads, so the filter reads
// the current index at each call (new devices, moves and new sub-sites
// apply to open sockets) and recomputes the subtree once per reload.
func (sc scope) deviceFilter(idx *siteIndex) func(int64) bool {
	if sc.all {
		return nil
	}
	ls := &liveScope{idx: idx, site: sc.site}
	ls.cur.Store(&scopedView{view: sc.view, sites: sc.sites})
	return ls.device
}

type scopedView struct {
	view  *siteIndexView
	sites map[int64]struct{}
}

// liveScope is one socket's filter; safe for concurrent use, never blocks.
type liveScope struct {
	idx  *siteIndex
	site int64
	cur  atomic.Pointer[scopedView]
}

func (l *liveScope) device(id int64) bool {
	c := l.cur.Load()
	if v := l.idx.current(); v != nil && v != c.view {
		c = &scopedView{view: v, sites: v.tree.Subtree(l.site)}
		l.cur.Store(c) // a racing store of the same view is harmless
	}
	site, ok := c.view.deviceSite[id]
	if !ok {
		return false
	}
	_, in := c.sites[site]
	return in
}

// scopeOf is the scope of user u. A non-root user needs the index; it is
// loaded on first use and then reloaded in the background (RunSites).
func (s *Server) scopeOf(ctx context.Context, u store.User) (scope, error) {
	if u.SiteID == 0 || u.SiteID == store.RootSiteID {
		return scope{all: true, site: store.RootSiteID}, nil
	}
	v := s.sites.current()
	if v == nil || s.sites.dirty.Load() || time.Since(v.loadedAt) > 3*siteIndexEvery {
		// Never loaded, or the background reload is not running (tests,
		// a single call path): load now.
		fresh, err := s.sites.load(ctx, s.store)
		switch {
		case err == nil:
			v = fresh
		case v == nil:
			return scope{}, err
		default:
			// The database does not answer: the last index stands (a
			// control room keeps its map through an outage), marked
			// dirty so the next request tries again.
			s.sites.dirty.Store(true)
			s.log.WarnContext(ctx, "site scope from the last index: database unavailable", "err", err)
		}
	}
	return scope{site: u.SiteID, sites: v.tree.Subtree(u.SiteID), view: v}, nil
}

// requestScope is scopeOf for the request's user; on failure it answers
// 503 and returns false.
func (s *Server) requestScope(w http.ResponseWriter, r *http.Request, u store.User) (scope, bool) {
	sc, err := s.scopeOf(r.Context(), u)
	if err != nil {
		s.log.ErrorContext(r.Context(), "site scope", "err", err)
		writeError(w, http.StatusServiceUnavailable, "", "cannot check your site's scope now, retry later")
		return sc, false
	}
	return sc, true
}

// SitesChanged reloads the site index soon: a device or site changed
// (here or, announced, on another node).
func (s *Server) SitesChanged() {
	s.sites.dirty.Store(true)
	select {
	case s.sitesReload <- struct{}{}:
	default:
	}
}

// RunSites keeps the site index fresh until ctx ends: every
// siteIndexEvery and at once after SitesChanged.
func (s *Server) RunSites(ctx context.Context) {
	tick := time.NewTicker(siteIndexEvery)
	defer tick.Stop()
	for {
		lctx, cancel := context.WithTimeout(ctx, siteIndexEvery)
		if _, err := s.sites.load(lctx, s.store); err != nil && ctx.Err() == nil {
			s.log.WarnContext(ctx, "site index not reloaded; scopes use the previous one", "err", err)
		}
		cancel()
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		case <-s.sitesReload:
		}
	}
}
