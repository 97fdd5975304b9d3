package store

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// RootSiteID is the site every installation starts with; existing data
// migrated into it, and its admins manage the whole tree.
const RootSiteID int64 = 1

// Site is one node of the site tree (centre → sub-centres → rooms).
type Site struct {
	ID       int64  `json:"id"`
	ParentID *int64 `json:"parent_id,omitempty"` // nil only for the root
	Name     string `json:"name"`
	// Path is the ids from the root down, "/1/5/9/": a site's subtree is
	// every site whose path starts with it.
	Path      string    `json:"path"`
	CreatedAt time.Time `json:"created_at"`
}

// SitePath is the path of a child with id under a parent's path.
func SitePath(parentPath string, id int64) string {
	return parentPath + strconv.FormatInt(id, 10) + "/"
}

// Sites stores the site tree and which site things belong to.
type Sites interface {
	// CreateSite adds a child of s.ParentID (required: there is one root).
	// ErrNotFound if the parent does not exist, ErrConflict if the parent
	// has a child of that name.
	CreateSite(ctx context.Context, s Site) (Site, error)
	ListSites(ctx context.Context) ([]Site, error)
	RenameSite(ctx context.Context, id int64, name string) (Site, error)
	// SetDeviceSite and SetUserSite move a device or user to a site;
	// ErrNotFound if either does not exist.
	SetDeviceSite(ctx context.Context, deviceID, siteID int64) error
	SetUserSite(ctx context.Context, userID, siteID int64) error
}

// SiteTree answers subtree questions over a listed tree; build it with
// NewSiteTree. Trees are small (hundreds of sites), so it is held whole.
type SiteTree struct {
	byID     map[int64]Site
	children map[int64][]int64
}

// NewSiteTree indexes sites (as ListSites returns them).
func NewSiteTree(sites []Site) *SiteTree {
	t := &SiteTree{byID: make(map[int64]Site, len(sites)), children: make(map[int64][]int64)}
	for _, s := range sites {
		t.byID[s.ID] = s
		if s.ParentID != nil {
			t.children[*s.ParentID] = append(t.children[*s.ParentID], s.ID)
		}
	}
	return t
}

// Site returns a site by id.
func (t *SiteTree) Site(id int64) (Site, bool) {
	s, ok := t.byID[id]
	return s, ok
}

// Sites returns every site of the tree (any order).
func (t *SiteTree) Sites() []Site {
	out := make([]Site, 0, len(t.byID))
	for _, s := range t.byID {
		out = append(out, s)
	}
	return out
}

// Subtree is the set of id and every site below it; empty if id is not
// in the tree.
func (t *SiteTree) Subtree(id int64) map[int64]struct{} {
	set := make(map[int64]struct{})
	if _, ok := t.byID[id]; !ok {
		return set
	}
	stack := []int64{id}
	for len(stack) > 0 {
		n := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if _, seen := set[n]; seen {
			continue
		}
		set[n] = struct{}{}
		stack = append(stack, t.children[n]...)
	}
	return set
}

// Within reports whether site is id or below it.
func (t *SiteTree) Within(site, id int64) bool {
	s, ok := t.byID[site]
	a, ok2 := t.byID[id]
	return ok && ok2 && strings.HasPrefix(s.Path, a.Path)
}

// CheckSiteName refuses names a site cannot have.
func CheckSiteName(name string) error {
	switch {
	case strings.TrimSpace(name) == "":
		return fmt.Errorf("name: must not be empty")
	case len(name) > 200:
		return fmt.Errorf("name: longer than 200 bytes")
	}
	return nil
}
