package alarms

import (
	"context"
	"slices"
	"strings"

	"github.com/radtrack/radtrack/store"
)

// Fences and sites. A fence belongs to a site and applies to the vehicles
// of that site's subtree: a centre-wide restricted zone (a root or centre
// fence) to every vehicle below, a sub-centre's patrol area only to its
// own. The tracker still follows every fence (its state does not depend
// on who owns the device); what reaches the rules is narrowed per device.

// fenceSites is what narrowing needs, loaded with the fences; nil when
// every fence is the root's (every fence applies: no work per sample).
type fenceSites struct {
	fencePath map[int64]string // fence id → its site's path, root fences absent
	sitePath  map[int64]string // site id → path
}

// loadFenceSites reads the site paths when some fence is not the root's.
// A failure keeps every fence applying to every vehicle (an alarm too many
// rather than one missed) and is logged.
func (s *Service) loadFenceSites(ctx context.Context, stored []store.Fence) {
	if !slices.ContainsFunc(stored, func(f store.Fence) bool { return f.SiteID != 0 && f.SiteID != store.RootSiteID }) {
		s.fenceSites.Store(nil)
		return
	}
	sites, err := s.store.ListSites(ctx)
	if err != nil {
		s.log.Error("fence sites not loaded: every fence applies to every vehicle until the next reload", "err", err)
		s.fenceSites.Store(nil)
		return
	}
	fs := &fenceSites{fencePath: map[int64]string{}, sitePath: make(map[int64]string, len(sites))}
	for _, site := range sites {
		fs.sitePath[site.ID] = site.Path
	}
	for _, f := range stored {
		if p, ok := fs.sitePath[f.SiteID]; ok && f.SiteID != store.RootSiteID {
			fs.fencePath[f.ID] = p
		}
	}
	s.fenceSites.Store(fs)
}

// applies reports whether fence id applies to a vehicle of site devSite.
// A site newer than the load (unknown path) gets every fence.
func (fs *fenceSites) applies(fenceID, devSite int64) bool {
	fp, scoped := fs.fencePath[fenceID]
	if !scoped {
		return true
	}
	dp, known := fs.sitePath[devSite]
	return !known || strings.HasPrefix(dp, fp)
}

// narrow drops from inside the fences that do not apply to devSite.
func (fs *fenceSites) narrow(inside []int64, devSite int64) []int64 {
	if fs == nil {
		return inside
	}
	return slices.DeleteFunc(inside, func(id int64) bool { return !fs.applies(id, devSite) })
}
