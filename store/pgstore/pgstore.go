// Package pgstore implements store.Store on PostgreSQL, using TimescaleDB's
// hypertables, compression and continuous aggregates when the server
// preloads TimescaleDB and plain PostgreSQL tables otherwise (TimescaleMode
// decides; a database's existing schema says which it is).
package pgstore

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/radtrack/radtrack/store"
)

// WriteMode chooses how samples reach the measurements table.
type WriteMode int

const (
	// WriteCopy streams batches with binary COPY (the production path).
	WriteCopy WriteMode = iota
	// WriteInsert uses multi-row INSERT … ON CONFLICT DO NOTHING. It was
	// for the PGlite TimescaleDB test engine, which had no COPY FROM STDIN;
	// that engine is gone (tests run on a real TimescaleDB server), so
	// nothing uses it now.
	WriteInsert
)

// Config configures a Store.
type Config struct {
	URL       string
	MaxConns  int32     // pool size; 0 → pgx default
	WriteMode WriteMode // default WriteCopy
	// CompressAfter enables TimescaleDB compression of chunks older than this
	// (0 disables the policy). Ignored on plain PostgreSQL.
	CompressAfter time.Duration
	// RetainFor drops measurements older than this (0 keeps everything).
	// TimescaleDB only; on plain PostgreSQL Open warns that it is ignored.
	RetainFor time.Duration
	// Timescale says whether to use TimescaleDB ("" is TimescaleAuto).
	Timescale TimescaleMode
	// Log receives the engine choice's warnings; nil discards them.
	Log *slog.Logger
	// StatementTimeout and LockTimeout are set on every serving connection
	// (PostgreSQL's statement_timeout and lock_timeout), so that a lock
	// pile-up or a stuck statement ends on the server too, not only in the
	// client's deadline (0: the defaults below; negative: off). Migrations
	// run on their own connection without them.
	StatementTimeout, LockTimeout time.Duration
}

// Defaults of Config's server-side timeouts and connection keepalive.
const (
	DefaultStatementTimeout = time.Minute
	DefaultLockTimeout      = 5 * time.Second
	// keepAliveIdle and keepAliveInterval/Count: a peer that vanished
	// without a FIN (a cut network) is noticed in about 30 s on an idle
	// connection instead of the kernel's two hours.
	keepAliveIdle     = 15 * time.Second
	keepAliveInterval = 5 * time.Second
	keepAliveCount    = 3
)

// Store is a PostgreSQL/TimescaleDB store.
type Store struct {
	url       string
	pool      *pgxpool.Pool
	copyBufs  sync.Pool // *[]byte: encoded COPY batches, reused
	mode      WriteMode
	timescale bool
	log       *slog.Logger
}

var _ store.Store = (*Store)(nil)

// Open connects, chooses the engine (see TimescaleMode), applies pending
// migrations and configures TimescaleDB policies. It is safe for several
// servers to call Open at once.
func Open(ctx context.Context, cfg Config) (*Store, error) {
	s, _, err := open(ctx, cfg, false)
	return s, err
}

// ConvertToTimescaleDB is "radtrack migrate -to-timescaledb": it opens the
// store like Open and turns a plain-PostgreSQL database into a TimescaleDB
// one with its data (measurements becomes a hypertable; compression, the
// dose_1m continuous aggregate and its policy as on a database created with
// TimescaleDB). The server must preload TimescaleDB. A new database is
// created as TimescaleDB; one already converted is left as it is. The
// conversion is one transaction that locks measurements while it moves the
// rows (servers still running would spool meanwhile, and set up compression
// only when restarted), so run it with the servers stopped.
func ConvertToTimescaleDB(ctx context.Context, cfg Config) (*Store, Conversion, error) {
	return open(ctx, cfg, true)
}

func open(ctx context.Context, cfg Config, convert bool) (*Store, Conversion, error) {
	var conv Conversion
	pcfg, err := poolConfig(cfg)
	if err != nil {
		return nil, conv, err
	}
	s := newStore(cfg)
	if conv, err = s.migrateOnce(ctx, cfg, pcfg, convert); err != nil {
		return nil, conv, err
	}
	if s.pool, err = pgxpool.NewWithConfig(ctx, pcfg); err != nil {
		return nil, conv, fmt.Errorf("connect to database: %w", err)
	}
	return s, conv, nil
}

// OpenUnmigrated returns a store on a database that cannot be reached now,
// for a node that starts degraded (from its local snapshot) during an
// outage: nothing is connected yet (every call fails until the database
// answers), no migration runs — the schema is the one the node last saw,
// with the engine timescale says — until Migrate succeeds.
func OpenUnmigrated(cfg Config, timescale bool) (*Store, error) {
	pcfg, err := poolConfig(cfg)
	if err != nil {
		return nil, err
	}
	s := newStore(cfg)
	s.timescale = timescale
	// pgxpool connects lazily: this does not touch the network.
	if s.pool, err = pgxpool.NewWithConfig(context.Background(), pcfg); err != nil {
		return nil, fmt.Errorf("connect to database: %w", err)
	}
	return s, nil
}

// Migrate applies pending migrations and policies to a store opened with
// OpenUnmigrated, once the database answers. The engine found must be the
// one the store was opened with (it is an error otherwise: restart the
// node).
func (s *Store) Migrate(ctx context.Context, cfg Config) error {
	pcfg, err := poolConfig(cfg)
	if err != nil {
		return err
	}
	m := newStore(cfg)
	if _, err := m.migrateOnce(ctx, cfg, pcfg, false); err != nil {
		return err
	}
	if m.timescale != s.timescale {
		return fmt.Errorf("the database's engine (timescaledb %v) is not the one the node started with (%v): restart the node", m.timescale, s.timescale)
	}
	return nil
}

func newStore(cfg Config) *Store {
	log := cfg.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Store{url: cfg.URL, mode: cfg.WriteMode, log: log}
}

// poolConfig is the serving pool's configuration: connect timeout, TCP
// keepalive and the server-side timeouts.
func poolConfig(cfg Config) (*pgxpool.Config, error) {
	pcfg, err := pgxpool.ParseConfig(cfg.URL)
	if err != nil {
		return nil, fmt.Errorf("parse database url: %w", err)
	}
	if cfg.MaxConns > 0 {
		pcfg.MaxConns = cfg.MaxConns
	}
	if pcfg.ConnConfig.ConnectTimeout == 0 {
		// An unreachable database must fail fast so ingest can spool.
		pcfg.ConnConfig.ConnectTimeout = 5 * time.Second
	}
	dialer := &net.Dialer{KeepAliveConfig: net.KeepAliveConfig{
		Enable: true, Idle: keepAliveIdle, Interval: keepAliveInterval, Count: keepAliveCount}}
	pcfg.ConnConfig.DialFunc = dialer.DialContext
	setTimeout(pcfg.ConnConfig.RuntimeParams, "statement_timeout", cfg.StatementTimeout, DefaultStatementTimeout)
	setTimeout(pcfg.ConnConfig.RuntimeParams, "lock_timeout", cfg.LockTimeout, DefaultLockTimeout)
	return pcfg, nil
}

// migrateOnce migrates and sets the policies on a pool of its own:
// migrations (a TimescaleDB conversion moves every row) may take longer
// than any statement of a running node, so that pool has no server-side
// timeouts. It sets s.timescale.
func (s *Store) migrateOnce(ctx context.Context, cfg Config, pcfg *pgxpool.Config, convert bool) (Conversion, error) {
	mcfg := pcfg.Copy()
	mcfg.MaxConns = 2
	for _, p := range []string{"statement_timeout", "lock_timeout"} {
		if _, fromURL := s.urlParams(p); !fromURL {
			delete(mcfg.ConnConfig.RuntimeParams, p)
		}
	}
	mpool, err := pgxpool.NewWithConfig(ctx, mcfg)
	if err != nil {
		return Conversion{}, fmt.Errorf("connect to database: %w", err)
	}
	defer mpool.Close()
	s.pool = mpool
	defer func() { s.pool = nil }()
	conv, err := s.migrate(ctx, cfg, convert)
	if err != nil {
		return conv, err
	}
	return conv, s.configurePolicies(ctx, cfg)
}

// urlParams reports whether the URL itself sets a run-time parameter.
func (s *Store) urlParams(name string) (string, bool) {
	pcfg, err := pgx.ParseConfig(s.url)
	if err != nil {
		return "", false
	}
	v, ok := pcfg.RuntimeParams[name]
	return v, ok
}

// setTimeout sets a server-side timeout parameter unless the URL set it.
func setTimeout(params map[string]string, name string, d, def time.Duration) {
	if _, ok := params[name]; ok {
		return
	}
	if d == 0 {
		d = def
	}
	if d < 0 {
		d = 0 // off
	}
	params[name] = strconv.FormatInt(d.Milliseconds(), 10)
}

// Timescale reports whether the TimescaleDB engine is in use.
func (s *Store) Timescale() bool { return s.timescale }

// ConnString returns the URL the store was opened with.
func (s *Store) ConnString() string { return s.url }

// Pool exposes the connection pool to tests and benchmarks in this module.
func (s *Store) Pool() *pgxpool.Pool { return s.pool }

// Ping checks that the database answers.
func (s *Store) Ping(ctx context.Context) error { return s.pool.Ping(ctx) }

// Close releases every connection.
func (s *Store) Close() { s.pool.Close() }

func (s *Store) configurePolicies(ctx context.Context, cfg Config) error {
	if !s.timescale {
		if cfg.RetainFor > 0 {
			s.log.Warn("RADTRACK_RETAIN_FOR is ignored on plain PostgreSQL: measurements are kept", "retain_for", cfg.RetainFor)
		}
		return nil
	}
	// Policies are configuration, not schema: re-set them on every start so
	// a changed setting takes effect.
	stmts := []struct {
		sql  string
		args []any
	}{
		{"SELECT remove_compression_policy('measurements', if_exists => true)", nil},
		{"SELECT remove_retention_policy('measurements', if_exists => true)", nil},
	}
	if cfg.CompressAfter > 0 {
		stmts = append(stmts, struct {
			sql  string
			args []any
		}{"SELECT add_compression_policy('measurements', compress_after => $1::interval)", []any{cfg.CompressAfter}})
	}
	if cfg.RetainFor > 0 {
		stmts = append(stmts, struct {
			sql  string
			args []any
		}{"SELECT add_retention_policy('measurements', drop_after => $1::interval)", []any{cfg.RetainFor}})
	}
	for _, st := range stmts {
		if _, err := s.pool.Exec(ctx, st.sql, st.args...); err != nil {
			return fmt.Errorf("configure timescaledb policy (%s): %w", st.sql, err)
		}
	}
	return nil
}

func isUniqueViolation(err error) bool {
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) && pgErr.Code == "23505"
}

func notFound(err error) error {
	if errors.Is(err, pgx.ErrNoRows) {
		return store.ErrNotFound
	}
	return err
}
