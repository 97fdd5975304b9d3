package storetest

import (
	"bytes"
	"context"
	"errors"
	"testing"
	"time"

	"github.com/radtrack/radtrack/auth"
	"github.com/radtrack/radtrack/store"
)

func newUser(t *testing.T, s store.Store, name, role string) store.User {
	t.Helper()
	u, err := s.CreateUser(context.Background(), store.User{Username: name, Role: role, PasswordHash: "h-" + name})
	if err != nil {
		t.Fatalf("create user %s: %v", name, err)
	}
	return u
}

func issue(t *testing.T, s store.Store, tok store.APIToken) (store.APIToken, []byte) {
	t.Helper()
	_, hash, err := auth.NewAPIToken()
	if err != nil {
		t.Fatal(err)
	}
	tok.Hash = hash
	got, err := s.IssueAPIToken(context.Background(), tok)
	if err != nil {
		t.Fatalf("IssueAPIToken(%+v): %v", tok, err)
	}
	return got, hash
}

func testAPITokens(t *testing.T, s store.Store) {
	ctx := context.Background()
	op := newUser(t, s, "olga", auth.RoleOperator)
	other := newUser(t, s, "ivan", auth.RoleAdmin)

	// An empty role is the user's role; an explicit one is kept.
	dflt, dfltHash := issue(t, s, store.APIToken{UserID: op.ID, Name: "dispatch"})
	if dflt.ID == 0 || dflt.Role != auth.RoleOperator || dflt.Username != "olga" || dflt.Name != "dispatch" ||
		dflt.ExpiresAt != nil || dflt.LastUsedAt != nil || dflt.RevokedAt != nil || !bytes.Equal(dflt.Hash, dfltHash) {
		t.Fatalf("default token = %+v", dflt)
	}
	exp := Base.Add(24 * time.Hour)
	scoped, scopedHash := issue(t, s, store.APIToken{UserID: op.ID, Name: "dashboard", Role: auth.RoleViewer, ExpiresAt: &exp})
	if scoped.Role != auth.RoleViewer || scoped.ExpiresAt == nil || !scoped.ExpiresAt.Equal(exp) {
		t.Fatalf("scoped token = %+v", scoped)
	}
	if id, err := s.CreateAPIToken(ctx, other.ID, "legacy", []byte("legacy-hash-0123456789abcdef0123")); err != nil || id == 0 {
		t.Fatalf("CreateAPIToken = %d, %v", id, err)
	}
	if _, err := s.IssueAPIToken(ctx, store.APIToken{UserID: 424242, Name: "x", Hash: []byte("h")}); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("token of an unknown user: %v, want ErrNotFound", err)
	}

	// Lookup by hash returns token and user; the acting user has the
	// lower role.
	tok, owner, err := s.APITokenByHash(ctx, scopedHash)
	if err != nil || tok.ID != scoped.ID || owner.ID != op.ID || owner.Role != auth.RoleOperator {
		t.Fatalf("APITokenByHash = %+v %+v %v", tok, owner, err)
	}
	if u, err := s.APITokenUser(ctx, dfltHash); err != nil || u.ID != op.ID || u.Role != auth.RoleOperator {
		t.Fatalf("APITokenUser(default) = %+v, %v", u, err)
	}
	if _, _, err := s.APITokenByHash(ctx, []byte("nope")); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("unknown hash: %v", err)
	}
	if got, err := s.APITokenByID(ctx, scoped.ID); err != nil || got.Name != "dashboard" || got.UserID != op.ID {
		t.Fatalf("APITokenByID = %+v, %v", got, err)
	}
	if _, err := s.APITokenByID(ctx, 424242); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("unknown id: %v", err)
	}

	// Listing: newest first, per user or all.
	mine, err := s.ListAPITokens(ctx, store.APITokenFilter{UserID: op.ID})
	if err != nil || len(mine) != 2 || mine[0].ID != scoped.ID || mine[1].ID != dflt.ID {
		t.Fatalf("ListAPITokens(olga) = %+v, %v", mine, err)
	}
	all, err := s.ListAPITokens(ctx, store.APITokenFilter{})
	if err != nil || len(all) != 3 || all[0].Username != "ivan" {
		t.Fatalf("ListAPITokens(all) = %+v, %v", all, err)
	}

	// Last use moves forward only.
	t1 := Base.Add(time.Minute)
	if err := s.TouchAPIToken(ctx, dflt.ID, t1); err != nil {
		t.Fatal(err)
	}
	if err := s.TouchAPIToken(ctx, dflt.ID, Base); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.APITokenByID(ctx, dflt.ID); got.LastUsedAt == nil || !got.LastUsedAt.Equal(t1) {
		t.Fatalf("last used = %v, want %v", got.LastUsedAt, t1)
	}

	// Revocation: the first time stays; the token is listed only on request.
	revoked, err := s.RevokeAPIToken(ctx, dflt.ID, t1)
	if err != nil || revoked.RevokedAt == nil || !revoked.RevokedAt.Equal(t1) || revoked.ID != dflt.ID {
		t.Fatalf("RevokeAPIToken = %+v, %v", revoked, err)
	}
	if again, err := s.RevokeAPIToken(ctx, dflt.ID, t1.Add(time.Hour)); err != nil || !again.RevokedAt.Equal(t1) {
		t.Fatalf("second RevokeAPIToken = %+v, %v", again, err)
	}
	if _, err := s.RevokeAPIToken(ctx, 424242, t1); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("revoke unknown: %v", err)
	}
	if _, err := s.APITokenUser(ctx, dfltHash); !errors.Is(err, store.ErrTokenRevoked) || !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("APITokenUser(revoked) = %v, want ErrTokenRevoked wrapping ErrNotFound", err)
	}
	if tok, _, err := s.APITokenByHash(ctx, dfltHash); err != nil || tok.RevokedAt == nil {
		t.Fatalf("APITokenByHash(revoked) = %+v, %v: the reason must stay readable", tok, err)
	}
	if mine, _ = s.ListAPITokens(ctx, store.APITokenFilter{UserID: op.ID}); len(mine) != 1 || mine[0].ID != scoped.ID {
		t.Fatalf("active tokens = %+v", mine)
	}
	if mine, _ = s.ListAPITokens(ctx, store.APITokenFilter{UserID: op.ID, IncludeRevoked: true}); len(mine) != 2 {
		t.Fatalf("tokens with revoked = %+v", mine)
	}

	// Expiry is checked against the time asked about.
	past := time.Now().Add(-time.Second)
	_, expiredHash := issue(t, s, store.APIToken{UserID: op.ID, Name: "old", ExpiresAt: &past})
	if _, err := s.APITokenUser(ctx, expiredHash); !errors.Is(err, store.ErrTokenExpired) {
		t.Fatalf("APITokenUser(expired) = %v, want ErrTokenExpired", err)
	}
	if u, err := store.TokenUser(ctx, s, scopedHash, exp.Add(-time.Second)); err != nil || u.Role != auth.RoleViewer {
		t.Fatalf("scoped token before expiry = %+v, %v (acting role must be the token's)", u, err)
	}
	if _, err := store.TokenUser(ctx, s, scopedHash, exp); !errors.Is(err, store.ErrTokenExpired) {
		t.Fatalf("scoped token at expiry = %v", err)
	}
}

func testUserChangesEndCredentials(t *testing.T, s store.Store) {
	ctx := context.Background()
	now := time.Now()
	type creds struct {
		session                []byte
		viewer, operator, admn int64
	}
	setup := func(name string) (store.User, creds) {
		u := newUser(t, s, name, auth.RoleAdmin)
		_, sess, _ := auth.NewSessionToken()
		if err := s.CreateSession(ctx, sess, u.ID, now.Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
		c := creds{session: sess}
		v, _ := issue(t, s, store.APIToken{UserID: u.ID, Name: "v", Role: auth.RoleViewer})
		o, _ := issue(t, s, store.APIToken{UserID: u.ID, Name: "o", Role: auth.RoleOperator})
		a, _ := issue(t, s, store.APIToken{UserID: u.ID, Name: "a", Role: auth.RoleAdmin})
		c.viewer, c.operator, c.admn = v.ID, o.ID, a.ID
		return u, c
	}
	check := func(what string, c creds, wantSession bool, wantTokens map[int64]bool) {
		t.Helper()
		_, err := s.SessionUser(ctx, c.session, now)
		if got := err == nil; got != wantSession {
			t.Errorf("%s: session alive = %v, want %v (%v)", what, got, wantSession, err)
		}
		for id, want := range wantTokens {
			tok, err := s.APITokenByID(ctx, id)
			if err != nil {
				t.Fatal(err)
			}
			if got := tok.RevokedAt == nil; got != want {
				t.Errorf("%s: token %s (%s) alive = %v, want %v", what, tok.Name, tok.Role, got, want)
			}
		}
	}
	operator, viewer := auth.RoleOperator, auth.RoleViewer
	admin := auth.RoleAdmin

	u, c := setup("demoted")
	if _, err := s.UpdateUser(ctx, u.ID, store.UserUpdate{Role: &operator}); err != nil {
		t.Fatal(err)
	}
	check("admin → operator", c, true, map[int64]bool{c.viewer: true, c.operator: true, c.admn: false})
	if _, err := s.UpdateUser(ctx, u.ID, store.UserUpdate{Role: &viewer}); err != nil {
		t.Fatal(err)
	}
	check("operator → viewer", c, true, map[int64]bool{c.viewer: true, c.operator: false})
	if _, err := s.UpdateUser(ctx, u.ID, store.UserUpdate{Role: &admin}); err != nil {
		t.Fatal(err)
	}
	check("viewer → admin restores nothing", c, true, map[int64]bool{c.viewer: true, c.operator: false, c.admn: false})

	u, c = setup("new-password")
	hash := "h2"
	if _, err := s.UpdateUser(ctx, u.ID, store.UserUpdate{PasswordHash: &hash}); err != nil {
		t.Fatal(err)
	}
	check("password change", c, false, map[int64]bool{c.viewer: false, c.operator: false, c.admn: false})

	u, c = setup("disabled")
	yes, no := true, false
	if _, err := s.UpdateUser(ctx, u.ID, store.UserUpdate{Disabled: &yes}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.UpdateUser(ctx, u.ID, store.UserUpdate{Disabled: &no}); err != nil {
		t.Fatal(err)
	}
	check("disable then enable", c, false, map[int64]bool{c.viewer: false, c.operator: false, c.admn: false})

	// Another user's credentials are untouched.
	bystander, bc := setup("bystander")
	check("bystander", bc, true, map[int64]bool{bc.viewer: true, bc.operator: true, bc.admn: true})
	_ = bystander
}
