package alarms

import (
	"context"
	"slices"
	"strings"
	"sync"

	"github.com/radtrack/radtrack/rules"
	"github.com/radtrack/radtrack/store"
)

// Fences, rules and sites. A fence or rule belongs to a site and applies to
// the vehicles of that site's subtree: a centre-wide restricted zone (a
// root or centre fence) to every vehicle below, a sub-centre's patrol area
// or rule only to its own. The tracker still follows every fence (its
// state does not depend on who owns the device); what reaches the rules
// is narrowed per device, and the engine skips rules of other subtrees.

// siteScope is what narrowing needs; nil when every fence and rule is the
// root's (everything applies: no work per sample).
type siteScope struct {
	fencePath map[int64]string // fence id → its site's path, root fences absent
	sitePath  map[int64]string // site id → path
}

// fenceSiteIDs remembers the sites of the fences last loaded, for reloads
// the rules trigger.
type fenceSiteIDs struct {
	mu    sync.Mutex
	sites map[int64]int64
}

// loadSites rebuilds the scope after fences or rules were (re)loaded.
// fences, when not nil, replaces the remembered fence sites. A failure
// keeps everything applying to every vehicle (an alarm too many rather
// than one missed) and is logged.
func (s *Service) loadSites(ctx context.Context, fences []store.Fence) {
	s.fenceSiteIDs.mu.Lock()
	defer s.fenceSiteIDs.mu.Unlock()
	if fences != nil {
		s.fenceSiteIDs.sites = make(map[int64]int64, len(fences))
		for _, f := range fences {
			s.fenceSiteIDs.sites[f.ID] = f.SiteID
		}
	}
	scoped := func(site int64) bool { return site > store.RootSiteID }
	anyFence := false
	for _, site := range s.fenceSiteIDs.sites {
		anyFence = anyFence || scoped(site)
	}
	anyRule := slices.ContainsFunc(s.engine.Rules(), func(r rules.Rule) bool { return scoped(r.SiteID) })
	if !anyFence && !anyRule {
		s.siteScope.Store(nil)
		return
	}
	sites, err := s.store.ListSites(ctx)
	if err != nil {
		s.log.Error("sites not loaded: every fence and rule applies to every vehicle until the next reload", "err", err)
		s.siteScope.Store(nil)
		return
	}
	sc := &siteScope{fencePath: map[int64]string{}, sitePath: make(map[int64]string, len(sites))}
	for _, site := range sites {
		sc.sitePath[site.ID] = site.Path
	}
	for id, site := range s.fenceSiteIDs.sites {
		if p, ok := sc.sitePath[site]; ok && scoped(site) {
			sc.fencePath[id] = p
		}
	}
	s.siteScope.Store(sc)
}

// within reports whether site devSite is at or below site; an unknown site
// (newer than the load) counts as within: the safe side for alarms.
func (sc *siteScope) within(devSite int64, sitePath string) bool {
	dp, known := sc.sitePath[devSite]
	return !known || strings.HasPrefix(dp, sitePath)
}

// applies reports whether fence id applies to a vehicle of site devSite.
func (sc *siteScope) applies(fenceID, devSite int64) bool {
	fp, scoped := sc.fencePath[fenceID]
	return !scoped || sc.within(devSite, fp)
}

// narrow drops from inside the fences that do not apply to devSite.
func (sc *siteScope) narrow(inside []int64, devSite int64) []int64 {
	if sc == nil {
		return inside
	}
	return slices.DeleteFunc(inside, func(id int64) bool { return !sc.applies(id, devSite) })
}

// ruleApplies is the rules.Input.RuleApplies of a vehicle of devSite; nil
// (all) without a scope.
func (sc *siteScope) ruleApplies(devSite int64) func(int64) bool {
	if sc == nil {
		return nil
	}
	return func(ruleSite int64) bool {
		p, known := sc.sitePath[ruleSite]
		return !known || sc.within(devSite, p)
	}
}
