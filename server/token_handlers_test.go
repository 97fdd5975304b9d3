package server_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/radtrack/radtrack/auth"
	"github.com/radtrack/radtrack/ingest"
	"github.com/radtrack/radtrack/store"
)

type tokenAnswer struct {
	store.APIToken
	Token string `json:"token"`
}

func (c *client) createToken(body map[string]any) tokenAnswer {
	c.t.Helper()
	status, b := c.do("POST", "/api/v1/tokens", body)
	var tok tokenAnswer
	if err := json.Unmarshal(b, &tok); status != http.StatusCreated || err != nil || !strings.HasPrefix(tok.Token, auth.APITokenPrefix) {
		c.t.Fatalf("create token %v: %d %s", body, status, b)
	}
	return tok
}

func (c *client) tokens(query string) []store.APIToken {
	c.t.Helper()
	status, b := c.do("GET", "/api/v1/tokens"+query, nil)
	var list struct{ Tokens []store.APIToken }
	if err := json.Unmarshal(b, &list); status != http.StatusOK || err != nil {
		c.t.Fatalf("list tokens%s: %d %s", query, status, b)
	}
	return list.Tokens
}

func (h *harness) bearer(t *testing.T, token string) *client {
	return &client{t: t, base: h.url, http: http.DefaultClient, auth: "Bearer " + token}
}

func names(ts []store.APIToken) string {
	var out []string
	for _, t := range ts {
		out = append(out, t.Name)
	}
	return strings.Join(out, ",")
}

func wantError(t *testing.T, what string, status int, body []byte, wantStatus int, wantField string) {
	t.Helper()
	var e struct{ Error, Field string }
	if err := json.Unmarshal(body, &e); status != wantStatus || err != nil || e.Field != wantField || e.Error == "" {
		t.Errorf("%s: %d %s, want %d naming field %q", what, status, body, wantStatus, wantField)
	}
}

func TestAPITokenScopesExpiryAndRevocation(t *testing.T) {
	h := newHarness(t, ingest.DefaultWriterConfig(), testConfig())
	ops := h.loginAs(t, "ops", auth.RoleOperator)
	vera := h.loginAs(t, "vera", auth.RoleViewer)
	root := h.loginAs(t, "root", auth.RoleAdmin)

	// Scope: at most the creator's role, the creator's by default.
	full := ops.createToken(map[string]any{"name": "dispatch"})
	narrow := ops.createToken(map[string]any{"name": "dashboard", "role": "viewer", "expires_in": 3600})
	if full.Role != auth.RoleOperator || full.ExpiresAt != nil || narrow.Role != auth.RoleViewer || narrow.Username != "ops" {
		t.Fatalf("created %+v and %+v", full, narrow)
	}
	if d := time.Until(*narrow.ExpiresAt); d < 3590*time.Second || d > 3600*time.Second {
		t.Fatalf("expires_in 3600 gave expires_at %v (in %v)", narrow.ExpiresAt, d)
	}
	status, body := ops.do("POST", "/api/v1/tokens", map[string]any{"name": "x", "role": "admin"})
	wantError(t, "operator asks for an admin token", status, body, http.StatusForbidden, "role")
	for _, c := range []struct {
		body  map[string]any
		field string
	}{
		{map[string]any{"role": "viewer"}, "name"},
		{map[string]any{"name": "nul\u0000byte"}, "name"},
		{map[string]any{"name": strings.Repeat("n", 101)}, "name"},
		{map[string]any{"name": "x", "role": "chief"}, "role"},
		{map[string]any{"name": "x", "expires_in": 60, "expires_at": time.Now().Add(time.Hour)}, "expires_in"},
		{map[string]any{"name": "x", "expires_in": 0}, "expires_in"},
		{map[string]any{"name": "x", "expires_in": "1h"}, "expires_in"},
		{map[string]any{"name": "x", "expires_at": time.Now().Add(-time.Minute)}, "expires_at"},
		{map[string]any{"name": "x", "scope": "all"}, "scope"},
	} {
		status, body := ops.do("POST", "/api/v1/tokens", c.body)
		wantError(t, fmt.Sprint(c.body), status, body, http.StatusBadRequest, c.field)
	}

	// The narrowed token acts as a viewer.
	dash := h.bearer(t, narrow.Token)
	status, body = dash.do("GET", "/api/v1/me", nil)
	if status != http.StatusOK || !strings.Contains(string(body), `"role":"viewer"`) || !strings.Contains(string(body), fmt.Sprintf(`"api_token_id":%d`, narrow.ID)) {
		t.Fatalf("narrow token /me: %d %s", status, body)
	}
	if status, body := dash.do("POST", "/api/v1/fences", map[string]any{}); status != http.StatusForbidden {
		t.Fatalf("viewer token on an operator route: %d %s, want 403", status, body)
	}
	if status, body := h.bearer(t, full.Token).do("POST", "/api/v1/fences", map[string]any{}); status == http.StatusForbidden || status == http.StatusUnauthorized {
		t.Fatalf("operator token on an operator route: %d %s", status, body)
	}

	// A token never mints a token, and sees and revokes only itself.
	status, body = dash.do("POST", "/api/v1/tokens", map[string]any{"name": "child", "role": "viewer"})
	wantError(t, "token mints a token", status, body, http.StatusForbidden, "Authorization")
	if got := dash.tokens(""); len(got) != 1 || got[0].ID != narrow.ID {
		t.Fatalf("a token lists %s, want only itself", names(got))
	}
	status, body = dash.do("DELETE", fmt.Sprintf("/api/v1/tokens/%d", full.ID), nil)
	wantError(t, "token revokes a sibling", status, body, http.StatusForbidden, "id")

	// Last use: recorded, and written at most once a minute.
	used := ops.tokens("")
	if used[0].Name != "dashboard" || used[0].LastUsedAt == nil || used[1].LastUsedAt == nil {
		t.Fatalf("last use not recorded: %+v", used)
	}
	first := *used[0].LastUsedAt
	if status, _ := dash.do("GET", "/api/v1/me", nil); status != http.StatusOK {
		t.Fatal(status)
	}
	if again := ops.tokens(""); !again[0].LastUsedAt.Equal(first) {
		t.Fatalf("last use rewritten within a minute: %v then %v", first, again[0].LastUsedAt)
	}

	// Listing: own; others' only for admins.
	if got := names(ops.tokens("")); got != "dashboard,dispatch" {
		t.Fatalf("ops lists %q", got)
	}
	status, body = vera.do("GET", "/api/v1/tokens?user_id=all", nil)
	wantError(t, "viewer lists everyone's tokens", status, body, http.StatusForbidden, "user_id")
	opsUser, _ := h.store.UserByUsername(context.Background(), "ops")
	if got := names(root.tokens(fmt.Sprintf("?user_id=%d", opsUser.ID))); got != "dashboard,dispatch" {
		t.Fatalf("admin lists ops's: %q", got)
	}
	if got := root.tokens("?user_id=all"); len(got) != 2 || got[0].Username != "ops" {
		t.Fatalf("admin lists all: %+v", got)
	}
	status, body = root.do("GET", "/api/v1/tokens?user_id=me", nil)
	wantError(t, "bad user_id", status, body, http.StatusBadRequest, "user_id")

	// Revocation: by the token itself, by an admin; not by someone else.
	if status, body := dash.do("DELETE", fmt.Sprintf("/api/v1/tokens/%d", narrow.ID), nil); status != http.StatusNoContent {
		t.Fatalf("token revokes itself: %d %s", status, body)
	}
	status, body = dash.do("GET", "/api/v1/me", nil)
	wantError(t, "revoked token", status, body, http.StatusUnauthorized, "Authorization")
	if !strings.Contains(string(body), "API token revoked") {
		t.Fatalf("revoked token's reason: %s", body)
	}
	status, body = vera.do("DELETE", fmt.Sprintf("/api/v1/tokens/%d", full.ID), nil)
	wantError(t, "viewer revokes another's token", status, body, http.StatusNotFound, "id")
	if status, body := root.do("DELETE", fmt.Sprintf("/api/v1/tokens/%d", full.ID), nil); status != http.StatusNoContent {
		t.Fatalf("admin revokes: %d %s", status, body)
	}
	if status, _ := root.do("DELETE", fmt.Sprintf("/api/v1/tokens/%d", full.ID), nil); status != http.StatusNoContent {
		t.Fatalf("revoking again: %d, want 204", status)
	}
	status, body = root.do("DELETE", "/api/v1/tokens/99999", nil)
	wantError(t, "unknown token", status, body, http.StatusNotFound, "id")
	if status, _ := h.bearer(t, full.Token).do("GET", "/api/v1/me", nil); status != http.StatusUnauthorized {
		t.Fatalf("token revoked by an admin: %d", status)
	}
	if got := ops.tokens(""); len(got) != 0 {
		t.Fatalf("revoked tokens listed: %s", names(got))
	}
	if got := names(ops.tokens("?include_revoked=true")); got != "dashboard,dispatch" {
		t.Fatalf("with include_revoked: %q", got)
	}

	// Expiry: refused with 401 saying when.
	past := time.Now().Add(-time.Minute).UTC().Truncate(time.Second)
	secret, hash, _ := auth.NewAPIToken()
	if _, err := h.store.IssueAPIToken(context.Background(), store.APIToken{UserID: opsUser.ID, Name: "old", ExpiresAt: &past, Hash: hash}); err != nil {
		t.Fatal(err)
	}
	status, body = h.bearer(t, secret).do("GET", "/api/v1/me", nil)
	wantError(t, "expired token", status, body, http.StatusUnauthorized, "Authorization")
	if want := "API token expired at " + past.Format(time.RFC3339); !strings.Contains(string(body), want) {
		t.Fatalf("expired token: %s, want %q", body, want)
	}
	status, body = h.bearer(t, "rtu_unknown").do("GET", "/api/v1/me", nil)
	wantError(t, "unknown token", status, body, http.StatusUnauthorized, "Authorization")

	// Every creation and revocation is in the audit log.
	entries, err := h.store.ListAudit(context.Background(), 100)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, e := range entries {
		if strings.HasPrefix(e.Action, "token.") {
			got[e.Action+" "+e.Target] = e.Username
		}
	}
	want := map[string]string{
		fmt.Sprintf("token.create token/%d", full.ID): "ops", fmt.Sprintf("token.create token/%d", narrow.ID): "ops",
		fmt.Sprintf("token.revoke token/%d", narrow.ID): "ops", fmt.Sprintf("token.revoke token/%d", full.ID): "root",
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("token audit entries %v, want %v", got, want)
	}
}

// A password change or disabling revokes every token and session; a role
// change revokes the tokens above the new role (store.UserUpdate.Ends).
func TestUserChangesRevokeTokens(t *testing.T) {
	h := newHarness(t, ingest.DefaultWriterConfig(), testConfig())
	root := h.loginAs(t, "root", auth.RoleAdmin)
	kim := h.loginAs(t, "kim", auth.RoleAdmin)
	kimUser, _ := h.store.UserByUsername(context.Background(), "kim")
	tok := map[string]*client{}
	for _, role := range []string{"viewer", "operator", "admin"} {
		tok[role] = h.bearer(t, kim.createToken(map[string]any{"name": role, "role": role}).Token)
	}
	alive := func(what string, c *client, want bool) {
		t.Helper()
		status, body := c.do("GET", "/api/v1/me", nil)
		if (status == http.StatusOK) != want {
			t.Errorf("%s: %d %s, want alive=%v", what, status, body, want)
		}
	}
	patch := func(body map[string]any) {
		t.Helper()
		if status, b := root.do("PATCH", fmt.Sprintf("/api/v1/users/%d", kimUser.ID), body); status != http.StatusOK {
			t.Fatalf("PATCH %v: %d %s", body, status, b)
		}
	}

	patch(map[string]any{"role": "operator"})
	alive("admin token after demotion to operator", tok["admin"], false)
	alive("operator token after demotion to operator", tok["operator"], true)
	alive("viewer token after demotion to operator", tok["viewer"], true)
	alive("session after demotion", kim, true)
	if _, body := kim.do("GET", "/api/v1/me", nil); !strings.Contains(string(body), `"role":"operator"`) {
		t.Errorf("session after demotion acts as %s", body)
	}

	patch(map[string]any{"password": "a-brand-new-password"})
	alive("session after a password change", kim, false)
	alive("operator token after a password change", tok["operator"], false)
	alive("viewer token after a password change", tok["viewer"], false)

	kim = h.anonymous(t)
	if status, body := kim.do("POST", "/api/v1/login", map[string]string{"username": "kim", "password": "a-brand-new-password"}); status != http.StatusOK {
		t.Fatalf("login with the new password: %d %s", status, body)
	}
	fresh := h.bearer(t, kim.createToken(map[string]any{"name": "fresh"}).Token)
	patch(map[string]any{"disabled": true})
	alive("token after disabling", fresh, false)
	alive("session after disabling", kim, false)
	patch(map[string]any{"disabled": false})
	alive("token after re-enabling", fresh, false)
}
