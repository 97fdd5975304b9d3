// Package server is RadTrack's HTTP surface: ingest and REST routes,
// health, metrics. It wires the store, pipeline and metrics together and
// holds no state of its own beyond configuration.
package server

import (
	"context"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/radtrack/radtrack/alarms"
	"github.com/radtrack/radtrack/auth"
	"github.com/radtrack/radtrack/frontend"
	"github.com/radtrack/radtrack/incidents"
	"github.com/radtrack/radtrack/ingest"
	"github.com/radtrack/radtrack/internal/revocations"
	"github.com/radtrack/radtrack/live"
	"github.com/radtrack/radtrack/metrics"
	"github.com/radtrack/radtrack/notify"
	"github.com/radtrack/radtrack/notify/dispatch"
	"github.com/radtrack/radtrack/ratelimit"
	"github.com/radtrack/radtrack/store"
)

// Config holds the HTTP server's limits.
type Config struct {
	// MaxBodyBytes bounds every request body; larger bodies get 413.
	MaxBodyBytes int64
	// RetryAfter is the hint sent with 503 when the queue is full or the
	// database is unreachable.
	RetryAfter time.Duration
	// SessionTTL is how long a login lasts (a control-room shift and more).
	SessionTTL time.Duration
	// SecureCookies marks session cookies Secure even on plain HTTP, for a
	// server behind a TLS-terminating proxy.
	SecureCookies bool
	// BcryptCost is the cost of new password hashes.
	BcryptCost int
	// LoginsPerMinute bounds login attempts per client IP (0: no limit).
	LoginsPerMinute float64
	// Basemaps are the configured map backgrounds (ParseBasemaps).
	Basemaps []Basemap
	// HeavyPerUser and HeavyTotal bound the large queries (track streams,
	// exports, dose accounting, heatmaps) one user and the whole node run
	// at once; beyond them a request gets 429 (0: no bound). Keep HeavyTotal
	// under the database pool size: each holds a connection while it runs.
	HeavyPerUser, HeavyTotal int
}

// DefaultConfig returns production defaults.
func DefaultConfig() Config {
	return Config{
		MaxBodyBytes: 4 << 20, RetryAfter: 2 * time.Second,
		SessionTTL: 14 * time.Hour, BcryptCost: auth.DefaultBcryptCost, LoginsPerMinute: 10,
		HeavyPerUser: 2, HeavyTotal: 3,
	}
}

// Server serves the HTTP API.
type Server struct {
	cfg       Config
	store     store.Store
	pipeline  *ingest.Pipeline
	metrics   *metrics.Metrics
	log       *slog.Logger
	mux       *http.ServeMux
	handler   http.Handler // mux behind the request-id middleware
	devices   *ingest.Devices
	gate      *ingest.Gate // every ingest route enters through it
	alarms    *alarms.Service
	incidents *incidents.Service
	live      *live.Hub
	// redisPing checks Redis for /readyz; nil without Redis.
	redisPing func(context.Context) error
	logins    *ratelimit.Limiter // login attempts per client IP
	known     *knownUsers        // credentials' last users, for database outages
	revoked   *revocations.Set   // revoked credentials the database does not hold yet
	peers     CredentialPeers    // nil: a single node
	// dummyHash is a password hash to compare against for unknown users.
	dummyHash func() string
	// heavyQueries bounds concurrent uncapped reads (heavy.go).
	heavyQueries *heavyLimit
	heavyRefused prometheus.Counter
	// notify routes incident notifications; nil when not configured.
	notify *dispatch.Dispatcher
	cap    notify.CAPConfig // the CAP feed's sender
	// sites is the site tree and device sites for scoping (scope.go).
	sites       siteIndex
	sitesReload chan struct{}
}

// Deps are the parts the server wires together. Devices is shared with
// the protocol listeners, so a revocation here reaches them at once; they
// enter through the server's Gate, so every door applies the same limits.
type Deps struct {
	Store    store.Store
	Pipeline *ingest.Pipeline
	Devices  *ingest.Devices
	Alarms   *alarms.Service
	// Incidents groups alarms; nil leaves the incident routes answering 503.
	Incidents *incidents.Service
	Limits    *ingest.Limits // nil: no ingest rate limits
	Live      *live.Hub      // nil: no live push
	// Redis, if set, is part of readiness.
	Redis   func(context.Context) error
	Metrics *metrics.Metrics
	Log     *slog.Logger
	// Revocations journals logouts and token revocations the database
	// could not take (nil: kept in memory only, lost on restart).
	Revocations *revocations.Set
	// Peers announces revocations to the other nodes (nil: single node).
	Peers CredentialPeers
	// Notify routes incident notifications (nil: no notification API).
	Notify *dispatch.Dispatcher
	// CAP names this system in the CAP feed (Sender empty:
	// "radtrack@localhost").
	CAP notify.CAPConfig
}

// New builds the server and its routes.
func New(cfg Config, d Deps) *Server {
	s := &Server{cfg: cfg, store: d.Store, pipeline: d.Pipeline, metrics: d.Metrics, log: d.Log, mux: http.NewServeMux(),
		devices: d.Devices, alarms: d.Alarms, incidents: d.Incidents, live: d.Live, redisPing: d.Redis,
		logins: ratelimit.New(cfg.LoginsPerMinute/60, int(max(cfg.LoginsPerMinute, 1)), 100_000),
		known:  newKnownUsers(cfg.SessionTTL), revoked: d.Revocations, peers: d.Peers, notify: d.Notify, cap: d.CAP,
		heavyQueries: newHeavyLimit(cfg.HeavyPerUser, cfg.HeavyTotal), heavyRefused: heavyRefusedCounter(d.Metrics.Registry),
		sitesReload: make(chan struct{}, 1)}
	if s.revoked == nil {
		s.revoked = revocations.InMemory(revocations.DefaultMax)
	}
	if s.cap.Sender == "" {
		s.cap.Sender = "radtrack@localhost"
	}
	// The gate checks gateway (user API) tokens through this server, by
	// the same rules as every API route.
	s.gate = ingest.NewGate(ingest.GateConfig{Pipeline: d.Pipeline, Devices: d.Devices, Limits: d.Limits,
		Gateways: s, RetryAfter: cfg.RetryAfter, Log: d.Log})
	s.dummyHash = sync.OnceValue(func() string {
		h, _ := auth.HashPassword("timing-equaliser-password", cfg.BcryptCost)
		return h
	})
	s.routes()
	s.handler = s.withRequestID(http.HandlerFunc(s.route))
	return s
}

func (s *Server) routes() {
	s.mux.HandleFunc("POST /api/v1/measurements", s.handleMeasurements)
	s.mux.HandleFunc("POST /api/v1/n42", s.handleN42)
	s.mux.HandleFunc("POST /api/v1/traccar", s.handleTraccar)

	s.mux.HandleFunc("POST /api/v1/login", s.handleLogin)
	s.mux.HandleFunc("POST /api/v1/logout", s.handleLogout)
	s.mux.HandleFunc("GET /api/v1/me", s.require(auth.RoleViewer, s.handleMe))
	s.tokenRoutes()
	s.siteRoutes()

	s.mux.HandleFunc("GET /api/v1/users", s.require(auth.RoleAdmin, s.handleListUsers))
	s.mux.HandleFunc("POST /api/v1/users", s.require(auth.RoleAdmin, s.handleCreateUser))
	s.mux.HandleFunc("PATCH /api/v1/users/{id}", s.require(auth.RoleAdmin, s.handleUpdateUser))
	s.mux.HandleFunc("GET /api/v1/audit", s.require(auth.RoleAdmin, s.handleListAudit))

	s.mux.HandleFunc("GET /api/v1/devices", s.require(auth.RoleViewer, s.handleListDevices))
	s.mux.HandleFunc("POST /api/v1/devices", s.require(auth.RoleAdmin, s.handleCreateDevice))
	s.mux.HandleFunc("POST /api/v1/devices/{id}/rotate-token", s.require(auth.RoleAdmin, s.handleRotateDeviceToken))
	s.mux.HandleFunc("POST /api/v1/devices/{id}/revoke", s.require(auth.RoleAdmin, s.handleRevokeDevice))
	s.mux.HandleFunc("GET /api/v1/devices/{id}/track", s.require(auth.RoleViewer, s.handleTrack))
	s.mux.HandleFunc("GET /api/v1/groups/{group}/track", s.require(auth.RoleViewer, s.handleGroupTrack))
	s.exportRoutes()
	s.doseRoutes()

	if s.live != nil {
		s.mux.HandleFunc("GET /api/v1/live", s.require(auth.RoleViewer, s.handleLive))
	}
	// Registered without a hub too: the map's fallback gets a JSON 503
	// rather than the catch-all 404 of an unknown route.
	s.mux.HandleFunc("GET /api/v1/positions", s.require(auth.RoleViewer, s.handlePositions))
	s.mux.HandleFunc("GET /api/v1/heatmap", s.require(auth.RoleViewer, s.handleHeatmap))

	s.mux.HandleFunc("GET /api/v1/fences", s.require(auth.RoleViewer, s.handleListFences))
	s.mux.HandleFunc("POST /api/v1/fences", s.require(auth.RoleOperator, s.handleCreateFence))
	s.mux.HandleFunc("POST /api/v1/fences/import", s.require(auth.RoleOperator, s.handleImportFences))
	s.mux.HandleFunc("PUT /api/v1/fences/{id}", s.require(auth.RoleOperator, s.handleUpdateFence))
	s.mux.HandleFunc("DELETE /api/v1/fences/{id}", s.require(auth.RoleOperator, s.handleDeleteFence))

	s.mux.HandleFunc("GET /api/v1/rules", s.require(auth.RoleViewer, s.handleListRules))
	s.mux.HandleFunc("POST /api/v1/rules", s.require(auth.RoleOperator, s.handleCreateRule))
	s.mux.HandleFunc("PUT /api/v1/rules/{id}", s.require(auth.RoleOperator, s.handleUpdateRule))
	s.mux.HandleFunc("DELETE /api/v1/rules/{id}", s.require(auth.RoleOperator, s.handleDeleteRule))

	s.mux.HandleFunc("GET /api/v1/alarms", s.require(auth.RoleViewer, s.handleListAlarms))
	s.mux.HandleFunc("GET /api/v1/alarms/{id}", s.require(auth.RoleViewer, s.handleGetAlarm))
	s.mux.HandleFunc("POST /api/v1/alarms/{id}/acknowledge", s.require(auth.RoleOperator, s.handleAcknowledgeAlarm))
	s.mux.HandleFunc("POST /api/v1/alarms/{id}/resolve", s.require(auth.RoleOperator, s.handleResolveAlarm))
	s.mux.HandleFunc("GET /api/v1/incidents", s.require(auth.RoleViewer, s.handleListIncidents))
	s.mux.HandleFunc("GET /api/v1/incidents/{id}", s.require(auth.RoleViewer, s.handleGetIncident))
	s.mux.HandleFunc("GET /api/v1/incidents/{id}/spectrum", s.require(auth.RoleViewer, s.handleIncidentSpectrum))
	s.mux.HandleFunc("GET /api/v1/incidents/{id}/source", s.require(auth.RoleViewer, s.handleIncidentSource))
	s.mux.HandleFunc("GET /api/v1/cap.atom", s.require(auth.RoleViewer, s.handleCAPFeed))
	s.mux.HandleFunc("POST /api/v1/incidents/{id}/acknowledge", s.require(auth.RoleOperator, s.handleAcknowledgeIncident))
	s.mux.HandleFunc("POST /api/v1/incidents/{id}/resolve", s.require(auth.RoleOperator, s.handleResolveIncident))
	// Maps: basemaps (PMTiles archives served with Range) and site plans.
	s.mux.HandleFunc("GET /api/v1/basemaps", s.require(auth.RoleViewer, s.handleListBasemaps))
	s.mux.HandleFunc("GET /api/v1/basemaps/{file}", s.require(auth.RoleViewer, s.handleBasemapArchive))
	s.mux.HandleFunc("GET /api/v1/overlays", s.require(auth.RoleViewer, s.handleListOverlays))
	s.mux.HandleFunc("POST /api/v1/overlays", s.require(auth.RoleOperator, s.handleCreateOverlay))
	s.mux.HandleFunc("DELETE /api/v1/overlays/{id}", s.require(auth.RoleOperator, s.handleDeleteOverlay))

	s.notifyRoutes()

	s.mux.HandleFunc("GET /healthz", s.handleHealth)
	s.mux.HandleFunc("GET /readyz", s.handleReady)
	s.mux.Handle("GET /metrics", promhttp.HandlerFor(s.metrics.Registry, promhttp.HandlerOpts{}))
	s.mux.Handle(appPattern, frontend.Handler())
	s.mux.HandleFunc(apiNotFound, func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusNotFound, "", "no such API route: "+r.Method+" "+r.URL.Path)
	})
}

// Catch-all patterns: the map app, and the JSON 404 of unknown API routes.
const (
	appPattern      = "GET /"
	apiNotFoundPath = "/api/"
	apiNotFound     = "GET " + apiNotFoundPath
)

// routeMethods are the methods routes are registered with.
var routeMethods = []string{http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete}

// route dispatches through the mux. A request no route takes gets a JSON
// error like every other answer: 405 with the Allow header when the path
// has routes for other methods (the catch-alls do not count: GET on
// /api/v1/traccar is not allowed, it is unknown), else 404.
func (s *Server) route(w http.ResponseWriter, r *http.Request) {
	_, pattern := s.mux.Handler(r)
	if pattern != "" && pattern != appPattern && pattern != apiNotFound {
		s.mux.ServeHTTP(w, r)
		return
	}
	if allow := s.allowedMethods(r); len(allow) > 0 {
		w.Header().Set("Allow", strings.Join(allow, ", "))
		writeError(w, http.StatusMethodNotAllowed, "method", "method "+r.Method+" not allowed on "+r.URL.Path+"; allowed: "+strings.Join(allow, ", "))
		return
	}
	switch {
	case strings.HasPrefix(r.URL.Path, apiNotFoundPath):
		writeError(w, http.StatusNotFound, "", "no such API route: "+r.Method+" "+r.URL.Path)
	case pattern == "": // the map app's paths take GET and HEAD only
		w.Header().Set("Allow", "GET, HEAD")
		writeError(w, http.StatusMethodNotAllowed, "method", "method "+r.Method+" not allowed on "+r.URL.Path+"; allowed: GET, HEAD")
	default:
		s.mux.ServeHTTP(w, r) // the map app
	}
}

// allowedMethods lists the methods with a route (not a catch-all) for r's
// path; only asked for requests no route takes.
func (s *Server) allowedMethods(r *http.Request) []string {
	var allow []string
	for _, m := range routeMethods {
		probe := *r
		probe.Method = m
		if _, p := s.mux.Handler(&probe); p != "" && p != appPattern && p != apiNotFound {
			allow = append(allow, m)
		}
	}
	return allow
}

// Gate is the entry every ingest door passes through; the protocol
// listeners share it with the API's ingest routes.
func (s *Server) Gate() *ingest.Gate { return s.gate }

// ServeHTTP makes Server an http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.handler.ServeHTTP(w, r) }

func (s *Server) handleHealth(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}

// handleReady is /readyz: the database (and Redis, when configured)
// answer. The node still takes data while they do not (spool, local push),
// but a load balancer should prefer nodes that are whole.
func (s *Server) handleReady(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	body := map[string]string{"status": "ready", "database": "ok"}
	status := http.StatusOK
	if err := s.store.Ping(ctx); err != nil {
		body["database"], body["status"], status = err.Error(), "unavailable", http.StatusServiceUnavailable
	}
	if s.redisPing != nil {
		body["redis"] = "ok"
		if err := s.redisPing(ctx); err != nil {
			body["redis"], body["status"], status = err.Error(), "unavailable", http.StatusServiceUnavailable
		}
	}
	writeJSON(w, status, body)
}

// handleLive is GET /api/v1/live: the WebSocket of live positions and
// alarm events (live/PROTOCOL.md).
func (s *Server) handleLive(w http.ResponseWriter, r *http.Request, u store.User) {
	sc, ok := s.requestScope(w, r, u)
	if !ok {
		return
	}
	v := s.liveViewer(u, sc)
	cred := credentialOf(r)
	v.Credential, v.TokenID = string(cred.hash), cred.tokenID
	s.live.ServeWS(w, r, v)
}

// NewHTTPServer wraps a handler with timeouts that make slow clients
// (slowloris) harmless.
func NewHTTPServer(addr string, h http.Handler) *http.Server {
	return &http.Server{
		Addr:              addr,
		Handler:           h,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    32 << 10,
	}
}
