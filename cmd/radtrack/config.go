package main

import (
	"context"
	"encoding"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/radtrack/radtrack/app"
	"github.com/radtrack/radtrack/geo"
	"github.com/radtrack/radtrack/incidents"
	"github.com/radtrack/radtrack/ingest"
	"github.com/radtrack/radtrack/rules"
	"github.com/radtrack/radtrack/server"
	"github.com/radtrack/radtrack/store"
	"github.com/radtrack/radtrack/store/deadline"
	"github.com/radtrack/radtrack/store/pgstore"
)

// envFlags registers flags whose defaults come from environment variables of
// the matching upper-case name (-database-url ↔ DATABASE_URL), so a
// container sets env vars and a shell passes flags.
type envFlags struct {
	fs  *flag.FlagSet
	err error
}

func newFlagSet(name string, stderr io.Writer) *envFlags {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	return &envFlags{fs: fs}
}

func (e *envFlags) String(p *string, name, env, def, usage string) {
	if v, ok := os.LookupEnv(env); ok {
		def = v
	}
	e.fs.StringVar(p, name, def, usage+" (env "+env+")")
}

func (e *envFlags) Int(p *int, name, env string, def int, usage string) {
	if v, ok := os.LookupEnv(env); ok {
		n, err := strconv.Atoi(v)
		if err != nil {
			e.err = fmt.Errorf("%s=%q: not an integer", env, v)
		}
		def = n
	}
	e.fs.IntVar(p, name, def, usage+" (env "+env+")")
}

func (e *envFlags) Duration(p *time.Duration, name, env string, def time.Duration, usage string) {
	if v, ok := os.LookupEnv(env); ok {
		d, err := time.ParseDuration(v)
		if err != nil {
			e.err = fmt.Errorf("%s=%q: not a duration (e.g. 720h)", env, v)
		}
		def = d
	}
	e.fs.DurationVar(p, name, def, usage+" (env "+env+")")
}

func (e *envFlags) Float(p *float64, name, env string, def float64, usage string) {
	if v, ok := os.LookupEnv(env); ok {
		f, err := strconv.ParseFloat(v, 64)
		if err != nil {
			e.err = fmt.Errorf("%s=%q: not a number", env, v)
		}
		def = f
	}
	e.fs.Float64Var(p, name, def, usage+" (env "+env+")")
}

func (e *envFlags) Bool(p *bool, name, env string, def bool, usage string) {
	if v, ok := os.LookupEnv(env); ok {
		b, err := strconv.ParseBool(v)
		if err != nil {
			e.err = fmt.Errorf("%s=%q: not a boolean", env, v)
		}
		def = b
	}
	e.fs.BoolVar(p, name, def, usage+" (env "+env+")")
}

// Text registers a flag of a type that parses itself (encoding.TextUnmarshaler).
func (e *envFlags) Text(p interface {
	encoding.TextUnmarshaler
	encoding.TextMarshaler
}, name, env string, def encoding.TextMarshaler, usage string) {
	if v, ok := os.LookupEnv(env); ok {
		if err := p.UnmarshalText([]byte(v)); err != nil {
			e.err = fmt.Errorf("%s=%q: %w", env, v, err)
		}
		def = p
	}
	e.fs.TextVar(p, name, def, usage+" (env "+env+")")
}

func (e *envFlags) Parse(args []string) error {
	if e.err != nil {
		return e.err
	}
	return e.fs.Parse(args)
}

// dbConfig is the database part shared by every command.
type dbConfig struct {
	url           string
	maxConns      int
	compressAfter time.Duration
	retainFor     time.Duration
	timescale     pgstore.TimescaleMode
	dataDir       string
	// Deadlines (see store/deadline and pgstore.Config).
	hotTimeout, writeTimeout, queryTimeout time.Duration
	statementTimeout, lockTimeout          time.Duration
}

func (c *dbConfig) register(f *envFlags) {
	f.String(&c.url, "database-url", "DATABASE_URL", "", "PostgreSQL/TimescaleDB URL, e.g. postgres://user:pass@127.0.0.1:5432/radtrack")
	f.Int(&c.maxConns, "db-max-conns", "RADTRACK_DB_MAX_CONNS", 8, "database connections in the pool")
	f.Duration(&c.compressAfter, "compress-after", "RADTRACK_COMPRESS_AFTER", 7*24*time.Hour, "TimescaleDB: compress measurement chunks older than this (0 disables)")
	f.Duration(&c.retainFor, "retain-for", "RADTRACK_RETAIN_FOR", 0, "TimescaleDB: drop measurements older than this (0 keeps everything)")
	f.Text(&c.timescale, "timescaledb", "RADTRACK_TIMESCALEDB", pgstore.TimescaleAuto, "use TimescaleDB: auto (when the server preloads it, else plain PostgreSQL with a warning), on (refuse to start without it), off (plain PostgreSQL)")
	f.String(&c.dataDir, "data", "RADTRACK_DATA", "./data", "data directory: the embedded store when DATABASE_URL is unset, and the spool")
	f.Duration(&c.hotTimeout, "db-hot-timeout", "RADTRACK_DB_HOT_TIMEOUT", deadline.DefaultHot, "deadline of credential and session look-ups and alarm writes; beyond it alarms go to the journal and viewers")
	f.Duration(&c.writeTimeout, "db-write-timeout", "RADTRACK_DB_WRITE_TIMEOUT", deadline.DefaultWrite, "deadline of a group commit of samples; beyond it the batch is spooled")
	f.Duration(&c.queryTimeout, "db-query-timeout", "RADTRACK_DB_QUERY_TIMEOUT", deadline.DefaultQuery, "deadline of every other database call")
	f.Duration(&c.statementTimeout, "db-statement-timeout", "RADTRACK_DB_STATEMENT_TIMEOUT", pgstore.DefaultStatementTimeout, "PostgreSQL statement_timeout of serving connections (negative: off)")
	f.Duration(&c.lockTimeout, "db-lock-timeout", "RADTRACK_DB_LOCK_TIMEOUT", pgstore.DefaultLockTimeout, "PostgreSQL lock_timeout of serving connections (negative: off)")
}

// storeConfig is the part of a node's configuration that picks the store:
// PostgreSQL/TimescaleDB with DATABASE_URL, the embedded store in DATA/db
// without.
func (c *dbConfig) storeConfig() app.Config {
	return app.Config{
		DB: pgstore.Config{URL: c.url, MaxConns: int32(c.maxConns), CompressAfter: c.compressAfter, RetainFor: c.retainFor,
			Timescale: c.timescale, StatementTimeout: c.statementTimeout, LockTimeout: c.lockTimeout},
		DBTimeouts:  deadline.Timeouts{Hot: c.hotTimeout, Write: c.writeTimeout, Query: c.queryTimeout},
		EmbeddedDir: filepath.Join(c.dataDir, "db"),
	}
}

// open opens the configured store for a command.
func (c *dbConfig) open(ctx context.Context, stderr io.Writer) (store.Store, error) {
	st, _, err := app.OpenStore(ctx, c.storeConfig(), newLogger(stderr, "warn"))
	return st, err
}

// parseServeConfig reads "radtrack serve" flags and environment.
func parseServeConfig(args []string, stderr io.Writer) (app.Config, string, error) {
	var (
		c        app.Config
		db       dbConfig
		logLevel string
		maxBody  int
	)
	f := newFlagSet("serve", stderr)
	db.register(f)
	def, wdef := server.DefaultConfig(), ingest.DefaultWriterConfig()
	f.String(&c.Addr, "addr", "RADTRACK_ADDR", "127.0.0.1:8080", "HTTP listen address (API, WebSocket, map)")
	f.String(&c.OsmAndAddr, "osmand-addr", "RADTRACK_OSMAND_ADDR", "127.0.0.1:5055", "OsmAnd / Traccar Client listen address (\"\" disables)")
	f.String(&c.BGeigieAddr, "bgeigie-addr", "RADTRACK_BGEIGIE_ADDR", "127.0.0.1:5057", "bGeigie TCP listen address (\"\" disables)")
	f.String(&c.RedisURL, "redis-url", "REDIS_URL", "", "Redis URL: live push across several nodes (unset: in-process)")
	f.String(&c.RedisPrefix, "redis-prefix", "RADTRACK_REDIS_PREFIX", "radtrack:live", "Redis key prefix; nodes sharing it form one cluster")
	f.Duration(&c.LiveTick, "live-tick", "RADTRACK_LIVE_TICK", 100*time.Millisecond, "how often positions are flushed to each map viewer")
	f.Duration(&c.SpectraRetain, "spectra-retain", "RADTRACK_SPECTRA_RETAIN", 0, "delete gamma spectra older than this, hourly (0 keeps them)")
	f.Duration(&c.ConfigCheck, "config-check", "RADTRACK_CONFIG_CHECK", 5*time.Second, "how often fences and rules are checked for changes made through another node (catch-up for a missed notice)")
	f.Duration(&c.SnapshotEvery, "snapshot-every", "RADTRACK_SNAPSHOT_EVERY", time.Minute, "how often the local snapshot (credential hashes, users, rules, fences; beside the spool) is refreshed, besides after every change")
	var origins string
	f.String(&origins, "allowed-origins", "RADTRACK_ALLOWED_ORIGINS", "", "extra WebSocket origins, comma-separated (the server's own host is always allowed)")
	f.String(&logLevel, "log-level", "RADTRACK_LOG_LEVEL", "info", "log level: debug, info, warn, error")
	f.Int(&maxBody, "max-body-bytes", "RADTRACK_MAX_BODY_BYTES", int(def.MaxBodyBytes), "largest accepted request body")
	f.Int(&c.Writer.BatchSize, "batch-size", "RADTRACK_BATCH_SIZE", wdef.BatchSize, "most samples per group commit")
	f.Duration(&c.Writer.FlushInterval, "flush-interval", "RADTRACK_FLUSH_INTERVAL", wdef.FlushInterval, "how long a commit waits to gather more samples")
	f.Int(&c.Writer.Flushers, "flushers", "RADTRACK_FLUSHERS", wdef.Flushers, "concurrent group commits")
	f.Int(&c.Writer.QueueLimit, "queue-limit", "RADTRACK_QUEUE_LIMIT", wdef.QueueLimit, "most uncommitted samples held; beyond it ingest answers 503")
	f.Duration(&c.DeviceCacheTTL, "device-cache-ttl", "RADTRACK_DEVICE_CACHE_TTL", 10*time.Second, "how long a device credential is trusted before asking the database again (rotations and revocations apply at once on every node of a Redis cluster; this bounds a missed broadcast)")
	f.Duration(&c.Server.SessionTTL, "session-ttl", "RADTRACK_SESSION_TTL", def.SessionTTL, "how long a login lasts")
	f.Bool(&c.Server.SecureCookies, "secure-cookies", "RADTRACK_SECURE_COOKIES", false, "mark session cookies Secure (set behind a TLS proxy)")
	f.Duration(&c.BGeigieIdle, "bgeigie-idle-timeout", "RADTRACK_BGEIGIE_IDLE_TIMEOUT", 2*time.Minute, "close a silent bGeigie connection after this")
	f.Int(&c.BGeigieMaxConns, "bgeigie-max-conns", "RADTRACK_BGEIGIE_MAX_CONNS", 10_000, "most concurrent bGeigie connections")
	f.Int(&c.BGeigieMaxUnauth, "bgeigie-max-unauth-conns", "RADTRACK_BGEIGIE_MAX_UNAUTH_CONNS", 0, "most bGeigie connections not yet authenticated; when full the oldest is closed for a new one (0: a tenth of -bgeigie-max-conns)")
	f.Duration(&c.BGeigieAuthTimeout, "bgeigie-auth-timeout", "RADTRACK_BGEIGIE_AUTH_TIMEOUT", 10*time.Second, "close a bGeigie connection that has not authenticated (AUTH line or a legacy device's sentence) within this")
	f.Int(&c.BGeigieMaxConnsPerIP, "bgeigie-max-conns-per-ip", "RADTRACK_BGEIGIE_MAX_CONNS_PER_IP", 256, "most concurrent bGeigie connections from one client IP (0: no cap)")
	f.Int(&c.OsmAndMaxConnsPerIP, "osmand-max-conns-per-ip", "RADTRACK_OSMAND_MAX_CONNS_PER_IP", 1024, "most concurrent OsmAnd connections from one client IP (0: no cap)")
	f.Int(&c.HTTPMaxConnsPerIP, "http-max-conns-per-ip", "RADTRACK_HTTP_MAX_CONNS_PER_IP", 1024, "most concurrent API connections (requests, WebSockets) from one client IP (0: no cap; behind a load balancer every client shares its address)")
	lim := ingest.DefaultLimitConfig()
	incDef := incidents.DefaultConfig()
	f.Duration(&c.Incidents.Window, "incident-window", "RADTRACK_INCIDENT_WINDOW", incDef.Window, "an alarm seen this long after an incident's last alarm still joins it")
	f.Float(&c.Incidents.DistanceM, "incident-distance-m", "RADTRACK_INCIDENT_DISTANCE_M", incDef.DistanceM, "another vehicle's alarm joins an incident when its peak is this close to the peak of an alarm in it")
	f.Float(&c.RealarmDistanceM, "realarm-distance-m", "RADTRACK_REALARM_DISTANCE_M", rules.DefaultRealarmDistanceM, "an open alarm pages again when a peak at least twice as high appears this many metres from its peak (negative: never for that reason)")
	f.Float(&c.Limits.IPRequestsPerSec, "ip-rate", "RADTRACK_IP_RATE", lim.IPRequestsPerSec, "ingest requests per second per client IP (0: unlimited)")
	f.Int(&c.Limits.IPBurst, "ip-burst", "RADTRACK_IP_BURST", lim.IPBurst, "burst of ingest requests per client IP")
	f.Float(&c.Limits.DeviceSamplesPerSec, "device-rate", "RADTRACK_DEVICE_RATE", lim.DeviceSamplesPerSec, "samples per second per device (0: unlimited)")
	f.Int(&c.Limits.DeviceSamplesBurst, "device-burst", "RADTRACK_DEVICE_BURST", lim.DeviceSamplesBurst, "burst of samples per device (a backlog after a tunnel)")
	f.Int(&c.Server.HeavyPerUser, "heavy-queries-per-user", "RADTRACK_HEAVY_QUERIES_PER_USER", def.HeavyPerUser, "large queries (track streams, exports, dose accounting, heatmaps) one user may run at once; beyond it 429 (0: no cap)")
	f.Int(&c.Server.HeavyTotal, "heavy-queries", "RADTRACK_HEAVY_QUERIES", def.HeavyTotal, "large queries the node runs at once; each holds a database connection, keep it under the pool size (0: no cap)")
	f.Float(&c.Server.LoginsPerMinute, "login-rate", "RADTRACK_LOGIN_RATE", def.LoginsPerMinute, "login attempts per minute per client IP (0: unlimited)")
	f.String(&c.TLSCert, "tls-cert", "RADTRACK_TLS_CERT", "", "TLS certificate file (PEM) for the API and OsmAnd listeners")
	f.String(&c.TLSKey, "tls-key", "RADTRACK_TLS_KEY", "", "TLS private key file (PEM)")
	var basemaps, basemapURLs string
	f.String(&basemaps, "basemap", "RADTRACK_BASEMAP", "", "PMTiles basemap archives on this server's disk, comma-separated (served with HTTP Range; options after #: name=, attribution=)")
	f.String(&basemapURLs, "basemap-url", "RADTRACK_BASEMAP_URL", "", "internal tile servers, comma-separated: XYZ/TMS raster templates with {z}/{x}/{y}, or MapLibre style URLs (options after #: name=, attribution=, scheme=tms, tile_size=, max_zoom=)")
	var spoolMB int
	f.String(&c.SpoolDir, "spool-dir", "RADTRACK_SPOOL_DIR", "", "where acknowledged samples wait while the database is unreachable (default DATA/spool; \"off\" disables)")
	f.Int(&spoolMB, "spool-max-mb", "RADTRACK_SPOOL_MAX_MB", 1024, "largest spool; when full, ingest answers 503")
	f.Duration(&c.ShutdownTimeout, "shutdown-timeout", "RADTRACK_SHUTDOWN_TIMEOUT", 30*time.Second, "on SIGTERM: time for in-flight requests to finish, then again for the ingest queue to commit")
	finishNotify := registerNotifyFlags(f, &c.Notify, &db.dataDir)
	if err := f.Parse(args); err != nil {
		return c, "", err
	}
	finishNotify()
	switch c.SpoolDir {
	case "":
		c.SpoolDir = filepath.Join(db.dataDir, "spool")
	case "off":
		c.SpoolDir = ""
	}
	c.SpoolMaxBytes = int64(spoolMB) << 20
	if origins != "" {
		c.AllowedOrigins = strings.Split(origins, ",")
	}
	if (c.TLSCert == "") != (c.TLSKey == "") {
		return c, "", fmt.Errorf("set both RADTRACK_TLS_CERT and RADTRACK_TLS_KEY, or neither")
	}
	bm, err := server.ParseBasemaps(splitList(basemaps), splitList(basemapURLs))
	if err != nil {
		return c, "", err
	}
	c.Server.Basemaps = bm
	sc := db.storeConfig()
	c.DB, c.EmbeddedDir = sc.DB, sc.EmbeddedDir
	c.Geo = geo.DefaultConfig()
	c.Server.MaxBodyBytes = int64(maxBody)
	c.Server.RetryAfter = def.RetryAfter
	c.Server.BcryptCost = def.BcryptCost
	return c, logLevel, nil
}

// splitList splits a comma-separated setting, dropping empty entries.
func splitList(v string) []string {
	var out []string
	for _, e := range strings.Split(v, ",") {
		if e = strings.TrimSpace(e); e != "" {
			out = append(out, e)
		}
	}
	return out
}
