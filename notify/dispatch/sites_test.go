package dispatch

import (
	"context"
	"net"
	"strconv"
	"testing"

	"github.com/radtrack/radtrack/auth"
	"github.com/radtrack/radtrack/notify"
	"github.com/radtrack/radtrack/rules"
	"github.com/radtrack/radtrack/store"
)

// Operators are paged about the vehicles of their own site's subtree
// only: the centre's about everything, a sub-centre's about its rooms'
// vehicles, never about another sub-centre's.
func TestPagesStayInTheirSites(t *testing.T) {
	eachStore(t, func(t *testing.T, st Store) {
		ctx := context.Background()
		box := startMailbox(t)
		host, port, _ := net.SplitHostPort(box.addr)
		p, _ := strconv.Atoi(port)
		email, err := notify.NewEmail(notify.EmailConfig{Host: host, Port: p, Security: notify.SMTPStartTLSOpportunistic, From: "RadTrack <radtrack@test>"})
		if err != nil {
			t.Fatal(err)
		}
		sites := st.(store.Sites)
		root := store.RootSiteID
		north, err := sites.CreateSite(ctx, store.Site{ParentID: &root, Name: "north"})
		if err != nil {
			t.Fatal(err)
		}
		south, err := sites.CreateSite(ctx, store.Site{ParentID: &root, Name: "south"})
		if err != nil {
			t.Fatal(err)
		}
		room, err := sites.CreateSite(ctx, store.Site{ParentID: &north.ID, Name: "north room 1"})
		if err != nil {
			t.Fatal(err)
		}
		operator := func(name string, site int64) {
			u, err := st.(store.Users).CreateUser(ctx, store.User{Username: name, Role: auth.RoleOperator, PasswordHash: "x", SiteID: site})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := st.AddNotifyContact(ctx, store.NotifyContact{UserID: u.ID, Kind: store.ContactEmail, Value: name + "@test"}); err != nil {
				t.Fatal(err)
			}
		}
		operator("cora", root)
		operator("nils", north.ID)
		operator("rita", room.ID)
		operator("sven", south.ID)
		pol := mustDoc(t, st, store.NotifyPolicy, "operators", PolicySpec{Steps: []Step{{Roles: []string{auth.RoleOperator}, Channels: []string{ChannelEmail}}}})
		mustDoc(t, st, store.NotifyRule, "all", RuleSpec{Policy: pol})
		d, err := New(Config{Store: st, Node: "a", Now: (&clock{t: t0}).Now, Email: email})
		if err != nil {
			t.Fatal(err)
		}
		ev := event(notify.EventRaised, 11, 1, t0, rules.SeverityCritical)
		ev.Incident.Vehicles[0].SiteID = room.ID // a vehicle of the north's room
		handle(t, d, ev)
		tick(t, d)
		for who, want := range map[string]int{"cora": 1, "nils": 1, "rita": 1, "sven": 0} {
			if n := box.count(who + "@test"); n != want {
				t.Errorf("%s (operator) got %d pages about a north room's vehicle, want %d", who, n, want)
			}
		}
	})
}
