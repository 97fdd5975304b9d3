package server_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/radtrack/radtrack/alarms"
	"github.com/radtrack/radtrack/auth"
	"github.com/radtrack/radtrack/geo"
	"github.com/radtrack/radtrack/ingest"
	"github.com/radtrack/radtrack/internal/faultproxy"
	"github.com/radtrack/radtrack/internal/pgtest"
	"github.com/radtrack/radtrack/internal/revocations"
	"github.com/radtrack/radtrack/metrics"
	"github.com/radtrack/radtrack/server"
	"github.com/radtrack/radtrack/store"
	"github.com/radtrack/radtrack/store/pgstore"
)

// outage is one test database reached through a fault proxy, and a direct
// connection to look at it while the proxy is down.
type outage struct {
	proxy  *faultproxy.Proxy
	url    string // through the proxy
	direct *pgstore.Store
}

func newOutage(t *testing.T) *outage {
	t.Helper()
	db := pgtest.NewDatabase(t)
	direct, err := pgstore.Open(context.Background(), pgstore.Config{URL: db})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(direct.Close)
	u, _ := url.Parse(db)
	proxy := faultproxy.Start(t, u.Host)
	u.Host = proxy.Addr()
	q := u.Query()
	q.Set("connect_timeout", "2")
	u.RawQuery = q.Encode()
	return &outage{proxy: proxy, url: u.String(), direct: direct}
}

// openStore opens a store through the proxy (the database must be up).
func (o *outage) openStore(t *testing.T) *pgstore.Store {
	t.Helper()
	st, err := pgstore.Open(context.Background(), pgstore.Config{URL: o.url})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(st.Close)
	return st
}

func (o *outage) sessions(t *testing.T) int {
	t.Helper()
	var n int
	if err := o.direct.Pool().QueryRow(context.Background(), "SELECT count(*) FROM sessions").Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// node is one in-process server with its revocation journal in dir.
type node struct {
	url     string
	srv     *server.Server
	journal *revocations.Set
	stop    func()
}

// peerLink hands announcements to another node's server, as the cluster
// channel would.
type peerLink struct{ to *server.Server }

func (p *peerLink) PublishCredentialRevoked(_ context.Context, m server.CredentialRevoked) error {
	if p.to == nil {
		return nil
	}
	// Through JSON, as over the wire.
	b, err := json.Marshal(m)
	if err != nil {
		return err
	}
	var got server.CredentialRevoked
	if err := json.Unmarshal(b, &got); err != nil {
		return err
	}
	return p.to.ForgetCredential(got)
}

// nodeParts are what a server is built from. They are made while the
// database answers: loading rules and alarms at start needs it (a node
// that starts during an outage is another issue's work), and what is
// tested here — the credential memory and the journal — is made afresh by
// startNode.
type nodeParts struct {
	st       store.Store
	svc      *alarms.Service
	pipeline *ingest.Pipeline
	metrics  *metrics.Metrics
	log      *slog.Logger
}

func newParts(t *testing.T, st store.Store) nodeParts {
	t.Helper()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	m := metrics.New()
	svc, err := alarms.New(context.Background(), st, alarms.Options{Geo: geo.DefaultConfig()}, log)
	if err != nil {
		t.Fatal(err)
	}
	w := ingest.NewWriter(st, ingest.DefaultWriterConfig(), m, log)
	t.Cleanup(func() { _ = w.Close(context.Background()) })
	return nodeParts{st: st, svc: svc, pipeline: ingest.NewPipeline(w, m, svc), metrics: m, log: log}
}

func startNode(t *testing.T, p nodeParts, dir string, peers server.CredentialPeers) *node {
	t.Helper()
	journal, err := revocations.Open(dir, 100)
	if err != nil {
		t.Fatal(err)
	}
	cfg := testConfig()
	cfg.BcryptCost = bcrypt.MinCost
	srv := server.New(cfg, server.Deps{
		Store: p.st, Pipeline: p.pipeline, Devices: ingest.NewDevices(p.st, deviceCacheTTL),
		Alarms: p.svc, Metrics: p.metrics, Log: p.log, Revocations: journal, Peers: peers,
	})
	ts := httptest.NewServer(srv)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); srv.RunRevocations(ctx, 50*time.Millisecond) }()
	stopped := false
	stop := func() {
		if stopped {
			return
		}
		stopped = true
		ts.Close()
		cancel()
		<-done
	}
	t.Cleanup(stop)
	return &node{url: ts.URL, srv: srv, journal: journal, stop: stop}
}

func (n *node) client(t *testing.T) *client {
	return &client{t: t, base: n.url, http: &http.Client{Timeout: 20 * time.Second}}
}

// login returns a client holding a session cookie from n, and its value.
func (n *node) login(t *testing.T, name string) (*client, string) {
	t.Helper()
	c := n.client(t)
	c.http.Jar = newJar()
	if status, body := c.do("POST", "/api/v1/login", map[string]string{"username": name, "password": name + "-password"}); status != http.StatusOK {
		t.Fatalf("login %s: %d %s", name, status, body)
	}
	u, _ := url.Parse(n.url)
	for _, ck := range c.http.Jar.Cookies(u) {
		if ck.Name == "radtrack_session" {
			return c, ck.Value
		}
	}
	t.Fatal("no session cookie")
	return nil, ""
}

// withCookie is a client on n presenting a session cookie value.
func (n *node) withCookie(t *testing.T, value string) *client {
	c := n.client(t)
	c.cookie = value
	return c
}

func createUser(t *testing.T, st store.Store, name, role string) store.User {
	t.Helper()
	hash, err := auth.HashPassword(name+"-password", bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	u, err := st.CreateUser(context.Background(), store.User{Username: name, Role: role, PasswordHash: hash})
	if err != nil {
		t.Fatal(err)
	}
	return u
}

func waitUntil(t *testing.T, what string, limit time.Duration, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %s", what, limit)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// A logout while the database is cut is journaled, refused by this node,
// survives a restart of the node during the outage, and is applied to the
// database when it returns: the cookie never works again.
func TestLogoutDuringOutageStaysALogout(t *testing.T) {
	o := newOutage(t)
	// The restarted node's parts are made now: they cannot be while cut.
	parts1, parts2 := newParts(t, o.openStore(t)), newParts(t, o.openStore(t))
	createUser(t, o.direct, "olga", auth.RoleOperator)
	createUser(t, o.direct, "ivan", auth.RoleViewer)
	dir := t.TempDir()
	n1 := startNode(t, parts1, dir, nil)

	_, leaving := n1.login(t, "olga")
	staying, _ := n1.login(t, "ivan")
	if status, body := n1.withCookie(t, leaving).do("GET", "/api/v1/me", nil); status != http.StatusOK {
		t.Fatalf("/me before the outage: %d %s", status, body)
	}
	if n := o.sessions(t); n != 2 {
		t.Fatalf("%d sessions stored, want 2", n)
	}

	o.proxy.Down()
	if status, body := n1.withCookie(t, leaving).do("GET", "/api/v1/me", nil); status != http.StatusOK {
		t.Fatalf("/me during the outage (from memory): %d %s", status, body)
	}
	if status, body := n1.withCookie(t, leaving).do("POST", "/api/v1/logout", nil); status != http.StatusNoContent {
		t.Fatalf("logout during the outage: %d %s", status, body)
	}
	if status, body := n1.withCookie(t, leaving).do("GET", "/api/v1/me", nil); status != http.StatusUnauthorized {
		t.Fatalf("logged-out cookie during the outage: %d %s, want 401", status, body)
	}
	if status, _ := staying.do("GET", "/api/v1/me", nil); status != http.StatusOK {
		t.Fatalf("the other session during the outage: %d, want 200 from memory", status)
	}
	if _, err := os.Stat(filepath.Join(dir, "revocations")); err != nil {
		t.Fatalf("the logout is not on disk: %v", err)
	}

	// Restart while the database is still cut: memory is gone, the
	// journal is not.
	n1.stop()
	n2 := startNode(t, parts2, dir, nil)
	if status, body := n2.withCookie(t, leaving).do("GET", "/api/v1/me", nil); status != http.StatusUnauthorized {
		t.Fatalf("logged-out cookie after a restart during the outage: %d %s, want 401 (the journal says so)", status, body)
	}
	if n := o.sessions(t); n != 2 {
		t.Fatalf("%d sessions stored during the outage, want 2 (the database was cut)", n)
	}

	o.proxy.Up()
	waitUntil(t, "logout applied to the database", 15*time.Second, func() bool { return o.sessions(t) == 1 })
	if status, body := n2.withCookie(t, leaving).do("GET", "/api/v1/me", nil); status != http.StatusUnauthorized {
		t.Fatalf("logged-out cookie after the outage: %d %s, want 401", status, body)
	}
	if status, body := staying.withBase(n2.url).do("GET", "/api/v1/me", nil); status != http.StatusOK {
		t.Fatalf("the other session after the outage: %d %s", status, body)
	}
	if n2.journal.Len() != 0 {
		t.Fatalf("%d revocations still journaled after they were applied", n2.journal.Len())
	}
	if _, err := os.Stat(filepath.Join(dir, "revocations")); !os.IsNotExist(err) {
		t.Fatalf("journal file left after everything was applied: %v", err)
	}
}

// Revocations reach the other nodes through the peer hook: a node that
// has the credential in memory refuses it at once during an outage, and
// applies it itself when the database returns.
func TestRevocationsReachPeersDuringOutage(t *testing.T) {
	o := newOutage(t)
	olga := createUser(t, o.direct, "olga", auth.RoleOperator)
	toB, toA := &peerLink{}, &peerLink{}
	a := startNode(t, newParts(t, o.openStore(t)), t.TempDir(), toB)
	b := startNode(t, newParts(t, o.openStore(t)), t.TempDir(), toA)
	toB.to, toA.to = b.srv, a.srv

	_, cookie := a.login(t, "olga")
	status, body := a.withCookie(t, cookie).do("POST", "/api/v1/tokens", map[string]string{"name": "dispatch"})
	var tok struct {
		ID    int64
		Token string
	}
	if err := json.Unmarshal(body, &tok); status != http.StatusCreated || err != nil {
		t.Fatalf("create token: %d %s", status, body)
	}
	api := func(n *node) *client { c := n.client(t); c.auth = "Bearer " + tok.Token; return c }
	for _, n := range []*node{a, b} { // both nodes have seen both credentials
		if status, _ := n.withCookie(t, cookie).do("GET", "/api/v1/me", nil); status != http.StatusOK {
			t.Fatalf("cookie: %d", status)
		}
		if status, _ := api(n).do("GET", "/api/v1/me", nil); status != http.StatusOK {
			t.Fatalf("token: %d", status)
		}
	}

	o.proxy.Down()
	if status, _ := b.withCookie(t, cookie).do("GET", "/api/v1/me", nil); status != http.StatusOK {
		t.Fatalf("cookie on B during the outage: %d, want 200 from memory", status)
	}
	if status, body := a.withCookie(t, cookie).do("POST", "/api/v1/logout", nil); status != http.StatusNoContent {
		t.Fatalf("logout on A: %d %s", status, body)
	}
	if status, body := b.withCookie(t, cookie).do("GET", "/api/v1/me", nil); status != http.StatusUnauthorized {
		t.Fatalf("cookie on B after the logout on A: %d %s, want 401", status, body)
	}

	// The token's owner revokes it on B (through the token itself: it may
	// revoke only itself).
	if status, body := api(b).do("DELETE", fmt.Sprintf("/api/v1/tokens/%d", tok.ID), nil); status != http.StatusAccepted {
		t.Fatalf("revoke during the outage: %d %s, want 202", status, body)
	}
	for name, n := range map[string]*node{"A": a, "B": b} {
		if status, body := api(n).do("GET", "/api/v1/me", nil); status != http.StatusUnauthorized {
			t.Fatalf("revoked token on %s during the outage: %d %s, want 401", name, status, body)
		}
	}

	o.proxy.Up()
	waitUntil(t, "both revocations applied", 15*time.Second, func() bool {
		got, err := o.direct.APITokenByID(context.Background(), tok.ID)
		return err == nil && got.RevokedAt != nil && o.sessions(t) == 0 && a.journal.Len() == 0 && b.journal.Len() == 0
	})
	for name, n := range map[string]*node{"A": a, "B": b} {
		if status, _ := n.withCookie(t, cookie).do("GET", "/api/v1/me", nil); status != http.StatusUnauthorized {
			t.Fatalf("cookie on %s after the outage: %d", name, status)
		}
		if status, body := api(n).do("GET", "/api/v1/me", nil); status != http.StatusUnauthorized || !jsonHas(body, "error", "API token revoked") {
			t.Fatalf("token on %s after the outage: %d %s", name, status, body)
		}
	}
	// The revocation made during the outage is in the audit log, once.
	entries, err := o.direct.ListAudit(context.Background(), 100)
	if err != nil {
		t.Fatal(err)
	}
	var revokes []store.AuditEntry
	for _, e := range entries {
		if e.Action == "token.revoke" {
			revokes = append(revokes, e)
		}
	}
	if len(revokes) != 1 || revokes[0].Target != fmt.Sprintf("token/%d", tok.ID) || revokes[0].Username != "olga" || *revokes[0].UserID != olga.ID {
		t.Fatalf("token.revoke audit entries = %+v, want one by olga", revokes)
	}
}

func jsonHas(body []byte, key, want string) bool {
	var m map[string]any
	return json.Unmarshal(body, &m) == nil && m[key] == want
}

// A change to a user made on one node (here a demotion) makes every node
// forget what it remembers of the user, so none serves the old role from
// memory during a later outage.
func TestUserChangeReachesPeers(t *testing.T) {
	o := newOutage(t)
	createUser(t, o.direct, "root", auth.RoleAdmin)
	kim := createUser(t, o.direct, "kim", auth.RoleOperator)
	toB, toA := &peerLink{}, &peerLink{}
	a := startNode(t, newParts(t, o.openStore(t)), t.TempDir(), toB)
	b := startNode(t, newParts(t, o.openStore(t)), t.TempDir(), toA)
	toB.to, toA.to = b.srv, a.srv

	root, _ := a.login(t, "root")
	_, cookie := a.login(t, "kim")
	if status, body := b.withCookie(t, cookie).do("GET", "/api/v1/me", nil); status != http.StatusOK || !strings.Contains(string(body), `"role":"operator"`) {
		t.Fatalf("kim on B: %d %s", status, body)
	}
	if status, body := root.do("PATCH", fmt.Sprintf("/api/v1/users/%d", kim.ID), map[string]string{"role": "viewer"}); status != http.StatusOK {
		t.Fatalf("demote kim on A: %d %s", status, body)
	}
	o.proxy.Down()
	status, body := b.withCookie(t, cookie).do("GET", "/api/v1/me", nil)
	if status != http.StatusServiceUnavailable {
		t.Fatalf("kim on B during the outage after a demotion on A: %d %s, want 503 (B must not act on the old role)", status, body)
	}
}
