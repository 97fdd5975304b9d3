package main

import (
	"context"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/radtrack/radtrack/store"
)

const siteUsage = `usage:
  radtrack site add NAME [-parent ID]      add a site under ID (default: the root, 1)
  radtrack site list                       print the tree
  radtrack site rename ID NAME             rename a site (the root too)
  radtrack site device UID SITE_ID         move a device to a site
  radtrack site user USERNAME SITE_ID      move a user to a site`

// runSite manages the site tree from the command line; each change is
// audited as done "via cli", like the REST routes.
func runSite(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return fmt.Errorf("%s", siteUsage)
	}
	verb, rest := args[0], args[1:]
	var positional []string
	for len(rest) > 0 && !strings.HasPrefix(rest[0], "-") {
		positional, rest = append(positional, rest[0]), rest[1:]
	}
	var (
		db     dbConfig
		parent int64
	)
	f := newFlagSet("site "+verb, stderr)
	db.register(f)
	if verb == "add" {
		f.fs.Int64Var(&parent, "parent", store.RootSiteID, "id of the parent site")
	}
	if err := f.Parse(rest); err != nil {
		return err
	}
	want := map[string]int{"add": 1, "list": 0, "rename": 2, "device": 2, "user": 2}
	n, ok := want[verb]
	if !ok || len(positional) != n {
		return fmt.Errorf("%s", siteUsage)
	}
	var siteArg int64
	switch verb {
	case "add", "rename":
		if err := store.CheckSiteName(positional[n-1]); err != nil {
			return err
		}
	}
	switch verb {
	case "rename", "device", "user":
		idText := positional[0]
		if verb != "rename" {
			idText = positional[1]
		}
		id, err := strconv.ParseInt(idText, 10, 64)
		if err != nil || id <= 0 {
			return fmt.Errorf("site id %q: must be a positive integer", idText)
		}
		siteArg = id
	}
	st, err := db.open(ctx, stderr)
	if err != nil {
		return err
	}
	defer st.Close()
	audit := func(action, target string) error {
		return st.AppendAudit(ctx, store.AuditEntry{Action: action, Target: target, Details: []byte(`{"via":"cli"}`)})
	}
	switch verb {
	case "add":
		s, err := st.CreateSite(ctx, store.Site{ParentID: &parent, Name: positional[0]})
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "site %d %q created under %d (%s)\n", s.ID, s.Name, parent, s.Path)
		return audit("site.create", "site/"+strconv.FormatInt(s.ID, 10))
	case "list":
		sites, err := st.ListSites(ctx)
		if err != nil {
			return err
		}
		for _, s := range sites { // ordered by path: parents first
			depth := strings.Count(s.Path, "/") - 2
			fmt.Fprintf(stdout, "%s%d\t%s\n", strings.Repeat("  ", depth), s.ID, s.Name)
		}
		return nil
	case "rename":
		s, err := st.RenameSite(ctx, siteArg, positional[1])
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "site %d renamed %q\n", s.ID, s.Name)
		return audit("site.rename", "site/"+strconv.FormatInt(s.ID, 10))
	case "device":
		d, err := st.DeviceByUID(ctx, positional[0])
		if err != nil {
			return err
		}
		if err := st.SetDeviceSite(ctx, d.ID, siteArg); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "device %q moved to site %d\n", d.UID, siteArg)
		return audit("device.site", "device/"+d.UID)
	default: // user
		u, err := st.UserByUsername(ctx, positional[0])
		if err != nil {
			return err
		}
		if err := st.SetUserSite(ctx, u.ID, siteArg); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "user %q moved to site %d\n", u.Username, siteArg)
		return audit("user.site", "user/"+u.Username)
	}
}
