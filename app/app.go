// Package app assembles one RadTrack node from configuration: store,
// pipeline, HTTP API and the protocol listeners, and runs it until its
// context ends, then drains. Commands and end-to-end tests start nodes
// through it, so they run exactly what production runs.
package app

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/radtrack/radtrack/alarms"
	"github.com/radtrack/radtrack/geo"
	"github.com/radtrack/radtrack/incidents"
	"github.com/radtrack/radtrack/ingest"
	"github.com/radtrack/radtrack/internal/revocations"
	"github.com/radtrack/radtrack/internal/snapshot"
	"github.com/radtrack/radtrack/listen"
	"github.com/radtrack/radtrack/live"
	"github.com/radtrack/radtrack/localize"
	"github.com/radtrack/radtrack/metrics"
	"github.com/radtrack/radtrack/notify"
	"github.com/radtrack/radtrack/rules"
	"github.com/radtrack/radtrack/sample"
	"github.com/radtrack/radtrack/server"
	"github.com/radtrack/radtrack/spool"
	"github.com/radtrack/radtrack/store"
	"github.com/radtrack/radtrack/store/deadline"
	"github.com/radtrack/radtrack/store/pgstore"
	"github.com/radtrack/radtrack/store/sqlitestore"
)

// Config is everything a node reads.
type Config struct {
	DB pgstore.Config
	// DBTimeouts bound every call into PostgreSQL (see store/deadline),
	// so a hanging database is handled as an outage.
	DBTimeouts deadline.Timeouts
	Server     server.Config
	Writer     ingest.WriterConfig
	Geo        geo.Config // fence hysteresis
	// RealarmDistanceM: a new peak this far from an open alarm's peak pages
	// again (rules/realarm.go); 0 = rules.DefaultRealarmDistanceM, negative = never.
	RealarmDistanceM float64
	// Incidents is the grouping window of alarms into incidents.
	Incidents incidents.Config

	Addr        string // HTTP API (and later the map); required
	OsmAndAddr  string // OsmAnd / Traccar Client listener; "" disables
	BGeigieAddr string // bGeigie TCP listener; "" disables

	DeviceCacheTTL  time.Duration
	ShutdownTimeout time.Duration
	BGeigieIdle     time.Duration
	BGeigieMaxConns int
	// BGeigieAuthTimeout is a new bGeigie connection's time to
	// authenticate (0: 10 s); BGeigieMaxUnauth caps connections not yet
	// authenticated (0: a tenth of BGeigieMaxConns).
	BGeigieAuthTimeout time.Duration
	BGeigieMaxUnauth   int
	// Concurrent connections per client IP on each listener (0: no cap).
	HTTPMaxConnsPerIP, OsmAndMaxConnsPerIP, BGeigieMaxConnsPerIP int
	// SilenceTick is how often silence rules are checked (0: 5 s).
	SilenceTick time.Duration
	// SpectraRetain: spectra older than this are deleted hourly (0 keeps
	// them; spectra_retention.go).
	SpectraRetain time.Duration
	// Limits are the ingest abuse limits (zero rates disable them).
	Limits ingest.LimitConfig
	// EmbeddedDir is where the embedded store lives when DB.URL is empty.
	EmbeddedDir string
	// SpoolDir holds acknowledged samples while the database is
	// unreachable ("" disables the spool: ingest then answers 503).
	SpoolDir      string
	SpoolMaxBytes int64
	// RedisURL connects the live push of several nodes ("" = in-process).
	RedisURL    string
	RedisPrefix string // keys and channel prefix; nodes sharing it form one cluster
	// LiveTick is how often positions are flushed to each viewer (0: 100 ms).
	LiveTick time.Duration
	// SnapshotEvery is how often the node refreshes its local snapshot
	// (besides at start and after every change it hears of; 0: 1 min).
	SnapshotEvery time.Duration
	// ConfigCheck is how often the node checks whether fences or rules
	// changed through another node whose notice it missed (0: 5 s).
	ConfigCheck time.Duration
	// AllowedOrigins are extra WebSocket origins (the server's own host is
	// always allowed).
	AllowedOrigins []string
	// TLSCert and TLSKey, when both set, serve the API and the OsmAnd
	// listener over TLS (bGeigie units speak plain TCP).
	TLSCert, TLSKey string
	// Notify configures incident notifications (app/notify.go).
	Notify NotifyConfig
}

// Core is the data path shared by a serving node and the offline tools
// (import): store, pipeline with its stages, group-commit writer.
type Core struct {
	Store store.Store
	// PG is the PostgreSQL/TimescaleDB store when one is configured, nil
	// on the embedded default.
	PG       *pgstore.Store
	Alarms   *alarms.Service
	Metrics  *metrics.Metrics
	Writer   *ingest.Writer
	Pipeline *ingest.Pipeline
	Devices  *ingest.Devices
	// Incidents groups the alarms of live samples.
	Incidents *incidents.Service

	spool   *spool.Spool
	journal *alarms.Journal
	// snapshots answers look-ups from the local snapshot during an
	// outage (nil without a spool directory or PostgreSQL); degraded: the
	// node started from it and has not migrated the database yet.
	snapshots    *snapshot.Fallback
	snapshotPath string
	degraded     atomic.Bool
	// notifyTap passes alarm events to the notifier (outage paging).
	notifyTap *alarmTap
}

// OpenCore opens the store (migrating it) and builds the pipeline. pub,
// if not nil, receives every stored alarm event; extra stages run after the
// rules for every sample.
func OpenCore(ctx context.Context, cfg Config, log *slog.Logger, pub alarms.Publisher, extra ...ingest.Stage) (*Core, error) {
	var (
		snap     *snapshot.Snapshot
		degraded bool
		snapPath string
	)
	if cfg.SpoolDir != "" && cfg.DB.URL != "" {
		snapPath = filepath.Join(cfg.SpoolDir, snapshot.FileName)
		var err error
		if snap, err = snapshot.Load(snapPath); err != nil && !errors.Is(err, snapshot.ErrNone) {
			log.Error("local snapshot unreadable: a database outage will refuse devices not seen since start", "err", err)
		}
	}
	st, pg, err := OpenStore(ctx, cfg, log)
	if openErr := err; err != nil {
		if snap == nil || pgstore.Classify(err) != store.Transient {
			return nil, err
		}
		// The database does not answer: start degraded from the local
		// snapshot rather than not at all.
		if pg, err = pgstore.OpenUnmigrated(cfg.DB, snap.Timescale); err != nil {
			return nil, err
		}
		st, degraded = pg, true
		log.Warn("database unreachable: starting degraded from the local snapshot (known devices report into the spool, rules evaluate, alarms are journaled; no open alarm is restored)",
			"snapshot_taken", snap.TakenAt, "devices", len(snap.Devices), "rules", len(snap.Rules), "fences", len(snap.Fences), "err", openErr)
	}
	var fallback *snapshot.Fallback
	if pg != nil {
		// Every path — credentials, sessions, alarms, commits, reads —
		// goes through Core.Store, so every call gets a deadline here.
		st = deadline.Wrap(pg, cfg.DBTimeouts, log)
		if degraded {
			// It did not answer: nothing at start waits for it again
			// (calls fail at once until a probe is answered).
			st.(interface{ MarkUnresponsive(error) }).MarkUnresponsive(errors.New("unreachable at start"))
		}
		if snapPath != "" {
			fallback = snapshot.NewFallback(st, pgstore.Classify)
			if snap != nil {
				fallback.Use(snap) // until the node takes a fresh one
			}
			if degraded {
				fallback.StartDegraded()
			}
			st = fallback
		}
	}
	m := metrics.New()
	wcfg := cfg.Writer
	inc := incidents.New(st, cfg.Incidents, log)
	tap := &alarmTap{} // the notifier, once open (notify_outage.go)
	aopt := alarms.Options{Geo: cfg.Geo, Publisher: publishers{pub, tap, inc}}
	closeAll := func() { st.Close() }
	if cfg.SpoolDir != "" && pg != nil {
		sp, err := spool.Open(cfg.SpoolDir, cfg.SpoolMaxBytes)
		if err != nil {
			st.Close()
			return nil, err
		}
		if b := sp.Bytes(); b > 0 {
			log.Warn("spool holds samples from a previous run; replaying", "bytes", b, "dir", cfg.SpoolDir)
		}
		journal, err := alarms.OpenJournal(filepath.Join(cfg.SpoolDir, "alarms"), cfg.SpoolMaxBytes)
		if err != nil {
			sp.Close()
			st.Close()
			return nil, err
		}
		closeAll = func() { sp.Close(); journal.Close(); st.Close() }
		wcfg.Spool, wcfg.Classify = sp, pgstore.Classify
		aopt.Journal, aopt.Classify = journal, pgstore.Classify
		m.RegisterAlarmJournal(func() metrics.JournalStats {
			js := journal.Stats()
			return metrics.JournalStats{Bytes: js.Bytes, Journaled: js.Journaled, Replayed: js.Replayed,
				DeadLetterBytes: js.DeadLetterBytes, DeadLettered: js.DeadLettered}
		})
	}
	if batches(st) {
		// Episode progress rides with the group commit (issue 19).
		aopt.Coalescer = ingest.NewCoalescer()
		wcfg.Alarms = aopt.Coalescer
	} else {
		log.Warn("the store takes no batched alarm updates: every sample inside an alarm condition updates its episode in its own round trip")
	}
	svc, err := alarms.New(ctx, st, aopt, log)
	if err != nil {
		closeAll()
		return nil, fmt.Errorf("load rules, fences and open alarms: %w", err)
	}
	if fallback != nil {
		fallback.EndStartup()
	}
	if cfg.RealarmDistanceM != 0 {
		svc.Engine().SetRealarmDistance(cfg.RealarmDistanceM)
	}
	inc.SetActor(svc)
	w := ingest.NewWriter(st, wcfg, m, log)
	c := &Core{
		spool: wcfg.Spool, journal: aopt.Journal, PG: pg, snapshots: fallback, snapshotPath: snapPath,
		Store: st, Alarms: svc, Incidents: inc, Metrics: m, Writer: w,
		Pipeline:  ingest.NewPipeline(w, m, append([]ingest.Stage{svc}, extra...)...),
		Devices:   ingest.NewDevices(st, cfg.DeviceCacheTTL),
		notifyTap: tap,
	}
	c.degraded.Store(degraded)
	return c, nil
}

// OpenStore opens PostgreSQL/TimescaleDB when a URL is configured, else the
// embedded store in the data directory.
func OpenStore(ctx context.Context, cfg Config, log *slog.Logger) (store.Store, *pgstore.Store, error) {
	if cfg.DB.URL == "" {
		dir := cfg.EmbeddedDir
		if dir == "" {
			return nil, nil, errors.New("no DATABASE_URL and no data directory for the embedded store")
		}
		st, err := sqlitestore.Open(ctx, sqlitestore.Config{Dir: dir})
		if err != nil {
			return nil, nil, fmt.Errorf("open embedded store: %w", err)
		}
		log.Info("store ready", "engine", "embedded", "path", st.Path())
		return st, nil, nil
	}
	dbcfg := cfg.DB
	if dbcfg.Log == nil {
		dbcfg.Log = log // the engine choice's warnings
	}
	pg, err := pgstore.Open(ctx, dbcfg)
	if err != nil {
		return nil, nil, fmt.Errorf("open store: %w", err)
	}
	log.Info("store ready", "engine", "postgresql", "timescaledb", pg.Timescale())
	return pg, pg, nil
}

// Close commits what is queued and closes the store; spooled samples stay
// on disk for the next start.
func (c *Core) Close(ctx context.Context) error {
	err := c.Writer.Close(ctx)
	if c.spool != nil {
		err = errors.Join(err, c.spool.Close())
	}
	if c.journal != nil {
		err = errors.Join(err, c.journal.Close())
	}
	c.Store.Close()
	return err
}

// Node is a running RadTrack server.
type Node struct {
	*Core
	cfg  Config
	log  *slog.Logger
	live liveParts
	// revocations journals logouts and token revocations the database
	// could not take yet (beside the spool; nil without one).
	revocations *revocations.Set
	// snapshotNow (cap 1) asks runSnapshots for a fresh snapshot.
	snapshotNow chan struct{}
	notify      *notifier // alarm events to the notification dispatcher
	sources     *localize.Estimator

	httpLn, osmandLn, bgeigieLn net.Listener
}

// New opens the core, creates the first admin if there is no user, and
// binds every listener, so that addresses are known (port 0 works) before
// Run.
func New(ctx context.Context, cfg Config, log *slog.Logger, firstAdmin func(username, password string)) (*Node, error) {
	n := &Node{cfg: cfg, log: log, snapshotNow: make(chan struct{}, 1)}
	broker, rdb, err := newBroker(cfg, log)
	if err != nil {
		return nil, err
	}
	n.live = liveParts{broker: broker, redis: rdb}
	// The hub's callbacks reach the core through n, which is complete
	// before the hub runs. The hub is the node's one consumer of the
	// broker: peer resolutions and cluster changes come through it.
	n.live.hub, err = live.NewHub(live.Config{
		Broker: broker, Logger: log, Tick: cfg.LiveTick, AllowedOrigins: cfg.AllowedOrigins,
		OpenAlarms: func(ctx context.Context, v live.Viewer) ([]json.RawMessage, error) {
			return openAlarms(ctx, n.Store, n.Alarms, n.log, v.Devices)
		},
		OpenIncidents: func(ctx context.Context, v live.Viewer) ([]json.RawMessage, error) {
			return openIncidents(ctx, n.Store, n.log, v.Devices)
		},
		OpenSources: func(ctx context.Context, v live.Viewer) ([]json.RawMessage, error) {
			return openSources(ctx, n.Store, n.log, v.Devices)
		},
		Ack: n.ackFromSocket,
		// Resolutions made on any node free the key in this node's engine,
		// so the next alarm of that device and rule is raised here too.
		OnAlarmEvents: func(evs []live.AlarmEvent) {
			live.ResolvedEpisodes(evs, n.Alarms.ForgetResolved, func(ev live.AlarmEvent, err error) {
				n.log.Error("decode peer alarm event", "alarm", ev.AlarmID, "err", err)
			})
		},
		OnChange: func(c live.Change) { n.live.cluster.onChange(c); n.snapshotChanged(c) },
		OnResync: func() { n.live.cluster.onResync() },
	})
	if err != nil {
		n.closeRedis()
		return nil, fmt.Errorf("live hub: %w", err)
	}
	n.live.cluster = newClusterChanges(n.live.hub, cfg.ConfigCheck, log)
	n.notify = newNotifier(cfg.Notify, cfg.DB, log)
	core, err := OpenCore(ctx, cfg, log, live.AlarmPublisher{Hub: n.live.hub}, live.PositionStage{Hub: n.live.hub,
		// Device-health alarms (silence) do not ring a vehicle red.
		HasAlarm: func(device int64) bool { return n.Alarms.Engine().HasOpenExcept(device, rules.KindSilence) }})
	if err != nil {
		n.closeRedis()
		return nil, err
	}
	n.Core = core
	incPub := live.IncidentPublisher{Hub: n.live.hub}
	core.Incidents.Subscribe(func(ctx context.Context, ev incidents.Event) {
		if err := incPub.PublishIncident(ctx, ev); err != nil {
			log.Error("publish incident event", "incident", ev.Incident.ID, "type", ev.Type, "err", err)
		}
	})
	n.sources = n.startSources()
	if err := n.notify.open(core); err != nil {
		_ = core.Close(ctx)
		n.closeRedis()
		return nil, err
	}
	if core.spool != nil {
		if n.revocations, err = revocations.Open(filepath.Join(cfg.SpoolDir, "revocations"), revocations.DefaultMax); err != nil {
			_ = core.Close(ctx)
			n.closeRedis()
			return nil, fmt.Errorf("open credential revocation journal: %w", err)
		}
	}
	n.live.cluster.store, n.live.cluster.alarms, n.live.cluster.devices = core.Store, core.Alarms, core.Devices
	core.Devices.SetPeers(n.live.cluster)
	core.Metrics.RegisterAlarmStates(core.Alarms.OpenByState)
	core.Metrics.RegisterLive(func() metrics.LiveStats {
		st := n.live.hub.Stats()
		return metrics.LiveStats{Connections: st.Connections, Lagging: st.Lagging, PositionFrames: st.PositionFrames,
			AlarmFrames: st.AlarmFrames, BytesWritten: st.BytesWritten, PublishErrors: st.PublishErrors}
	})
	if err := n.init(ctx, firstAdmin); err != nil {
		n.closeListeners()
		_ = core.Close(ctx)
		n.closeRedis()
		return nil, err
	}
	return n, nil
}

func (n *Node) closeRedis() {
	if n.live.redis != nil {
		_ = n.live.redis.Close()
	}
}

func (n *Node) init(ctx context.Context, firstAdmin func(username, password string)) error {
	password, created, err := server.EnsureAdmin(ctx, n.Store, "admin", n.cfg.Server.BcryptCost)
	if err != nil {
		return fmt.Errorf("first admin: %w", err)
	}
	if created && firstAdmin != nil {
		firstAdmin("admin", password)
	}
	if n.httpLn, err = net.Listen("tcp", n.cfg.Addr); err != nil {
		return fmt.Errorf("listen on %s: %w", n.cfg.Addr, err)
	}
	if n.cfg.OsmAndAddr != "" {
		if n.osmandLn, err = net.Listen("tcp", n.cfg.OsmAndAddr); err != nil {
			return fmt.Errorf("osmand: listen on %s: %w", n.cfg.OsmAndAddr, err)
		}
	}
	if n.cfg.BGeigieAddr != "" {
		if n.bgeigieLn, err = net.Listen("tcp", n.cfg.BGeigieAddr); err != nil {
			return fmt.Errorf("bgeigie: listen on %s: %w", n.cfg.BGeigieAddr, err)
		}
	}
	return nil
}

// Addr returns the bound HTTP API address.
func (n *Node) Addr() string { return n.httpLn.Addr().String() }

// OsmAndAddr returns the bound OsmAnd address, "" if disabled.
func (n *Node) OsmAndAddr() string { return addrOf(n.osmandLn) }

// BGeigieAddr returns the bound bGeigie address, "" if disabled.
func (n *Node) BGeigieAddr() string { return addrOf(n.bgeigieLn) }

func addrOf(ln net.Listener) string {
	if ln == nil {
		return ""
	}
	return ln.Addr().String()
}

// Run serves until ctx ends, then stops taking data, lets every accepted
// sample commit, and closes the store.
func (n *Node) Run(ctx context.Context) error {
	srv := server.New(n.cfg.Server, server.Deps{
		Store: n.Store, Pipeline: n.Pipeline, Devices: n.Devices, Alarms: n.Alarms, Incidents: n.Incidents, Limits: ingest.NewLimits(n.cfg.Limits),
		Metrics: n.Metrics, Log: n.log, Live: n.live.hub, Redis: n.redisPing(),
		Revocations: n.revocations, Peers: n.live.cluster, Notify: n.notify.dispatcher(),
		CAP: notify.CAPConfig{Sender: n.cfg.Notify.CAPSender},
	})
	n.live.cluster.server.Store(srv)
	// One gate for every ingest door: the per-IP and per-device budgets
	// are shared by all protocols.
	gate := srv.Gate()
	refusedConn := func(protocol string) func(string) {
		return func(string) {
			gate.Refuse(protocol, ingest.ReasonTooManyConns, "", "too many connections from this address", nil)
		}
	}
	api := server.NewHTTPServer(n.cfg.Addr, srv)
	servers := []*http.Server{api}
	errs := make(chan error, 3)
	httpLn := server.LimitConnsPerIP(n.httpLn, n.cfg.HTTPMaxConnsPerIP, refusedConn(sample.SourceHTTP))
	go func() { errs <- n.serveHTTP(api, httpLn) }()
	n.log.Info("listening", "api", n.Addr(), "osmand", n.OsmAndAddr(), "bgeigie", n.BGeigieAddr())
	if n.osmandLn != nil {
		osm := server.NewHTTPServer(n.cfg.OsmAndAddr, &listen.OsmAnd{Gate: gate, Log: n.log, MaxBody: 64 << 10})
		servers = append(servers, osm)
		osmLn := server.LimitConnsPerIP(n.osmandLn, n.cfg.OsmAndMaxConnsPerIP, refusedConn(sample.SourceOsmAnd))
		go func() { errs <- n.serveHTTP(osm, osmLn) }()
	}
	bgCtx, stopBGeigie := context.WithCancel(context.WithoutCancel(ctx))
	var bgDone sync.WaitGroup
	if n.bgeigieLn != nil {
		bg := &listen.BGeigie{Gate: gate, Log: n.log, IdleTimeout: n.cfg.BGeigieIdle, AuthTimeout: n.cfg.BGeigieAuthTimeout,
			MaxConns: n.cfg.BGeigieMaxConns, MaxConnsPerIP: n.cfg.BGeigieMaxConnsPerIP, MaxUnauthenticated: n.cfg.BGeigieMaxUnauth}
		bgDone.Go(func() {
			if err := bg.Serve(bgCtx, n.bgeigieLn); err != nil {
				errs <- err
			}
		})
	}

	tickCtx, stopTicks := context.WithCancel(ctx)
	defer stopTicks()
	go n.silenceTicks(tickCtx)
	go n.runSpectraRetention(tickCtx)
	if n.journal != nil {
		go n.Alarms.RunJournal(tickCtx, time.Second)
	}
	var configDone sync.WaitGroup
	configDone.Go(func() { n.live.cluster.watchConfig(tickCtx) })
	configDone.Go(func() { srv.RunRevocations(tickCtx, time.Second) })
	configDone.Go(func() { srv.RunSites(tickCtx) })
	if n.snapshots != nil {
		configDone.Go(func() { n.runSnapshots(tickCtx) })
	}
	configDone.Go(func() { n.notify.run(tickCtx) })
	configDone.Go(func() { n.Incidents.Run(tickCtx, time.Second) })
	configDone.Go(func() { n.sources.Run(tickCtx) })

	// The live push outlives the listeners during shutdown so that alarms
	// raised by the last requests still reach viewers.
	liveCtx, stopLive := context.WithCancel(context.WithoutCancel(ctx))
	var liveDone sync.WaitGroup
	liveDone.Go(func() {
		if err := n.live.hub.Run(liveCtx); err != nil && liveCtx.Err() == nil {
			n.log.Error("live hub stopped", "err", err)
		}
	})

	var runErr error
	select {
	case runErr = <-errs:
		n.log.Error("listener failed, shutting down", "err", runErr)
	case <-ctx.Done():
	}

	n.log.Info("shutting down", "queued_samples", n.Writer.Queued())
	stopping := time.Now()
	sctx, cancel := context.WithTimeout(context.Background(), n.cfg.ShutdownTimeout)
	defer cancel()
	for _, s := range servers {
		if err := s.Shutdown(sctx); err != nil && !errors.Is(err, http.ErrServerClosed) {
			runErr = errors.Join(runErr, fmt.Errorf("stop http server: %w", err))
		}
	}
	stopBGeigie()
	bgDone.Wait()
	stopTicks() // no silence ticks, journal drains or config reloads on a closing core
	configDone.Wait()
	n.log.Info("listeners stopped", "took", time.Since(stopping).Round(time.Millisecond), "queued_samples", n.Writer.Queued())
	// The queue gets a full timeout of its own: slow listeners must not
	// eat the time its commits need.
	dctx, cancelDrain := context.WithTimeout(context.Background(), n.cfg.ShutdownTimeout)
	defer cancelDrain()
	if err := n.Core.Close(dctx); err != nil {
		runErr = errors.Join(runErr, fmt.Errorf("drain ingest queue (%d samples left): %w", n.Writer.Queued(), err))
	}
	// Give queued alarm pushes a moment, then stop the live push.
	for deadline := time.Now().Add(2 * time.Second); n.live.hub.UnloggedAlarms() > 0 && time.Now().Before(deadline); {
		time.Sleep(20 * time.Millisecond)
	}
	stopLive()
	liveDone.Wait()
	n.closeRedis()
	n.log.Info("stopped")
	return runErr
}

// redisPing returns a readiness check of Redis, nil without Redis.
func (n *Node) redisPing() func(context.Context) error {
	if n.live.redis == nil {
		return nil
	}
	return func(ctx context.Context) error { return n.live.redis.Ping(ctx).Err() }
}

// silenceTicks checks the silence rules periodically.
func (n *Node) silenceTicks(ctx context.Context) {
	every := n.cfg.SilenceTick
	if every <= 0 {
		every = 5 * time.Second
	}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if err := n.Alarms.Tick(ctx); err != nil {
				n.log.Error("silence rules", "err", err)
			}
		}
	}
}

func (n *Node) serveHTTP(s *http.Server, ln net.Listener) error {
	var err error
	if n.cfg.TLSCert != "" && n.cfg.TLSKey != "" {
		err = s.ServeTLS(ln, n.cfg.TLSCert, n.cfg.TLSKey)
	} else {
		err = s.Serve(ln)
	}
	if !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

func (n *Node) closeListeners() {
	for _, ln := range []net.Listener{n.httpLn, n.osmandLn, n.bgeigieLn} {
		if ln != nil {
			ln.Close()
		}
	}
}

// batches reports whether st stores batched episode updates: both real
// stores do, also behind the deadline wrapper.
func batches(st store.Store) bool {
	if d, ok := st.(interface{ Batches() bool }); ok {
		return d.Batches()
	}
	_, ok := st.(store.AlarmBatcher)
	return ok
}
