package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/radtrack/radtrack/auth"
	"github.com/radtrack/radtrack/ingest"
	"github.com/radtrack/radtrack/store"
)

// client is a logged-in (or anonymous) browser-like client.
type client struct {
	t      *testing.T
	base   string
	http   *http.Client
	auth   string // Authorization header, for API-token clients
	cookie string // a session cookie value to present, besides the jar's
}

func newJar() http.CookieJar {
	jar, _ := cookiejar.New(nil)
	return jar
}

func (h *harness) anonymous(t *testing.T) *client {
	return &client{t: t, base: h.url, http: &http.Client{Jar: newJar()}}
}

// withBase is the same client talking to another server.
func (c *client) withBase(base string) *client {
	cc := *c
	cc.base = base
	return &cc
}

func (h *harness) addUser(t *testing.T, name, role string) {
	t.Helper()
	hash, err := auth.HashPassword(name+"-password", bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := h.store.CreateUser(context.Background(), store.User{Username: name, Role: role, PasswordHash: hash}); err != nil {
		t.Fatal(err)
	}
}

// loginAs creates the user if needed and returns a logged-in client.
func (h *harness) loginAs(t *testing.T, name, role string) *client {
	t.Helper()
	if _, err := h.store.UserByUsername(context.Background(), name); err != nil {
		h.addUser(t, name, role)
	}
	c := h.anonymous(t)
	if status, body := c.do("POST", "/api/v1/login", map[string]string{"username": name, "password": name + "-password"}); status != http.StatusOK {
		t.Fatalf("login %s: %d %s", name, status, body)
	}
	return c
}

func (c *client) do(method, path string, body any) (int, []byte) {
	c.t.Helper()
	var rd io.Reader
	if body == nil && method != http.MethodGet {
		body = struct{}{} // cookie-authenticated changes must be JSON
	}
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, c.base+path, rd)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.auth != "" {
		req.Header.Set("Authorization", c.auth)
	}
	if c.cookie != "" {
		req.AddCookie(&http.Cookie{Name: "radtrack_session", Value: c.cookie})
	}
	resp, err := c.http.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

func TestLoginSessionsAndRoles(t *testing.T) {
	h := newHarness(t, ingest.DefaultWriterConfig(), testConfig())
	anon := h.anonymous(t)
	if status, _ := anon.do("GET", "/api/v1/me", nil); status != http.StatusUnauthorized {
		t.Fatalf("anonymous /me: %d, want 401", status)
	}
	h.addUser(t, "vera", auth.RoleViewer)
	if status, body := anon.do("POST", "/api/v1/login", map[string]string{"username": "vera", "password": "wrong-password"}); status != http.StatusUnauthorized || !strings.Contains(string(body), `"field":"password"`) {
		t.Fatalf("wrong password: %d %s", status, body)
	}
	if status, _ := anon.do("POST", "/api/v1/login", map[string]string{"username": "nobody", "password": "x"}); status != http.StatusUnauthorized {
		t.Fatalf("unknown user: %d", status)
	}

	viewer := h.loginAs(t, "vera", auth.RoleViewer)
	status, body := viewer.do("GET", "/api/v1/me", nil)
	if status != http.StatusOK || !strings.Contains(string(body), `"role":"viewer"`) || strings.Contains(string(body), "password") {
		t.Fatalf("/me: %d %s", status, body)
	}
	if status, _ := viewer.do("GET", "/api/v1/devices", nil); status != http.StatusOK {
		t.Fatalf("viewer lists devices: %d", status)
	}
	for _, c := range []struct{ method, path string }{
		{"GET", "/api/v1/users"}, {"POST", "/api/v1/users"}, {"GET", "/api/v1/audit"},
		{"POST", "/api/v1/devices"}, {"POST", fmt.Sprintf("/api/v1/devices/%d/revoke", h.dev.ID)},
	} {
		if status, body := viewer.do(c.method, c.path, map[string]string{}); status != http.StatusForbidden {
			t.Errorf("viewer %s %s: %d %s, want 403", c.method, c.path, status, body)
		}
	}

	admin := h.loginAs(t, "root", auth.RoleAdmin)
	status, body = admin.do("POST", "/api/v1/users", map[string]string{"username": "olga", "password": "short", "role": "operator"})
	if status != http.StatusBadRequest || !strings.Contains(string(body), `"field":"password"`) {
		t.Fatalf("short password: %d %s", status, body)
	}
	status, body = admin.do("POST", "/api/v1/users", map[string]string{"username": "olga", "password": "long-enough-pw", "role": "chief"})
	if status != http.StatusBadRequest || !strings.Contains(string(body), `"field":"role"`) {
		t.Fatalf("bad role: %d %s", status, body)
	}
	if status, body = admin.do("POST", "/api/v1/users", map[string]string{"username": "olga", "password": "olga-password", "role": "operator"}); status != http.StatusCreated {
		t.Fatalf("create user: %d %s", status, body)
	}

	// Cookie-authenticated state changes must be JSON (CSRF guard).
	req, _ := http.NewRequest("POST", h.url+"/api/v1/users", strings.NewReader("username=x"))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := admin.http.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnsupportedMediaType {
		t.Fatalf("form POST with session cookie: %d, want 415", resp.StatusCode)
	}

	// Disabling a user ends their session at once.
	vera, _ := h.store.UserByUsername(context.Background(), "vera")
	if status, body := admin.do("PATCH", fmt.Sprintf("/api/v1/users/%d", vera.ID), map[string]bool{"disabled": true}); status != http.StatusOK {
		t.Fatalf("disable: %d %s", status, body)
	}
	if status, _ := viewer.do("GET", "/api/v1/me", nil); status != http.StatusUnauthorized {
		t.Fatalf("disabled user's session still works: %d", status)
	}

	// Logout ends the session.
	op := h.loginAs(t, "olga", auth.RoleOperator)
	if status, _ := op.do("POST", "/api/v1/logout", nil); status != http.StatusNoContent {
		t.Fatalf("logout: %d", status)
	}
	if status, _ := op.do("GET", "/api/v1/me", nil); status != http.StatusUnauthorized {
		t.Fatalf("after logout: %d", status)
	}

	// The audit log names who did what.
	status, body = admin.do("GET", "/api/v1/audit", nil)
	var audit struct{ Entries []store.AuditEntry }
	if err := json.Unmarshal(body, &audit); status != http.StatusOK || err != nil {
		t.Fatalf("audit: %d %s", status, body)
	}
	seen := map[string]string{}
	for _, e := range audit.Entries {
		seen[e.Action+" "+e.Target] = e.Username
	}
	for want, who := range map[string]string{
		"login user/root": "root", "user.create user/olga": "root", "user.update user/vera": "root", "login.failed user/vera": "",
	} {
		if got, ok := seen[want]; !ok || got != who {
			t.Errorf("audit entry %q by %q missing (have %v)", want, who, seen)
		}
	}
}

func TestAPITokenActsAsItsUser(t *testing.T) {
	h := newHarness(t, ingest.DefaultWriterConfig(), testConfig())
	op := h.loginAs(t, "ops", auth.RoleOperator)
	status, body := op.do("POST", "/api/v1/tokens", map[string]string{"name": "dispatch-integration"})
	var tok struct{ Token string }
	if err := json.Unmarshal(body, &tok); status != http.StatusCreated || err != nil || !strings.HasPrefix(tok.Token, "rtu_") {
		t.Fatalf("create token: %d %s", status, body)
	}
	api := &client{t: t, base: h.url, http: http.DefaultClient, auth: "Bearer " + tok.Token}
	if status, body := api.do("GET", "/api/v1/me", nil); status != http.StatusOK || !strings.Contains(string(body), `"username":"ops"`) {
		t.Fatalf("token /me: %d %s", status, body)
	}
	if status, _ := api.do("GET", "/api/v1/users", nil); status != http.StatusForbidden {
		t.Fatalf("operator token on admin route: %d, want 403", status)
	}
	// A device token is not a user credential.
	dev := &client{t: t, base: h.url, http: http.DefaultClient, auth: "Bearer " + h.token}
	if status, _ := dev.do("GET", "/api/v1/me", nil); status != http.StatusUnauthorized {
		t.Fatalf("device token as user: %d, want 401", status)
	}
}

func TestAdminManagesDeviceTokens(t *testing.T) {
	h := newHarness(t, ingest.DefaultWriterConfig(), testConfig())
	admin := h.loginAs(t, "root", auth.RoleAdmin)
	status, body := admin.do("POST", "/api/v1/devices", map[string]any{"name": "Van 7", "uid": "van-7", "cpm_per_usvh": 158})
	var created struct {
		Device store.Device
		Token  string
	}
	if err := json.Unmarshal(body, &created); status != http.StatusCreated || err != nil || created.Device.CPMPerUSvH != 158 {
		t.Fatalf("create device: %d %s", status, body)
	}
	if status, body := admin.do("POST", "/api/v1/devices", map[string]any{"name": "Van 7b", "uid": "van-7"}); status != http.StatusConflict || !strings.Contains(string(body), `"field":"uid"`) {
		t.Fatalf("duplicate uid: %d %s", status, body)
	}
	t0 := time.Now().UTC().Add(-time.Minute).Truncate(time.Second)
	post := func(token string, i int) int {
		resp, _ := h.post(t, token, "application/json", []byte("["+sampleJSON(i, t0)+"]"))
		return resp.StatusCode
	}
	if s := post(created.Token, 0); s != http.StatusOK {
		t.Fatalf("new device posts: %d", s)
	}
	status, body = admin.do("POST", fmt.Sprintf("/api/v1/devices/%d/rotate-token", created.Device.ID), nil)
	var rotated struct{ Token string }
	if err := json.Unmarshal(body, &rotated); status != http.StatusOK || err != nil || rotated.Token == created.Token {
		t.Fatalf("rotate: %d %s", status, body)
	}
	if s := post(created.Token, 1); s != http.StatusUnauthorized {
		t.Fatalf("old token after rotation: %d, want 401 at once", s)
	}
	if s := post(rotated.Token, 2); s != http.StatusOK {
		t.Fatalf("new token: %d", s)
	}
	if status, _ := admin.do("POST", fmt.Sprintf("/api/v1/devices/%d/revoke", created.Device.ID), nil); status != http.StatusNoContent {
		t.Fatalf("revoke: %d", status)
	}
	if s := post(rotated.Token, 3); s != http.StatusUnauthorized {
		t.Fatalf("revoked device: %d, want 401 at once", s)
	}
	if status, _ := admin.do("POST", "/api/v1/devices/99999/revoke", nil); status != http.StatusNotFound {
		t.Fatalf("revoke unknown: %d", status)
	}
}
