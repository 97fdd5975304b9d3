package live

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"
)

// Close codes the hub sends besides the standard ones (1001 going away on
// shutdown, 1011 when a snapshot cannot be built). See PROTOCOL.md.
const (
	// CloseLagging: the connection fell behind on alarm events (its queue
	// overflowed) or this node's alarm feed had a gap. Reconnect with the
	// last offset you processed; nothing is lost.
	CloseLagging = 4008
	// CloseCredentialEnded: the session or API token the connection was
	// opened with ended (logout, revocation) or its user changed
	// (password, role, disabled). Do not resume with it: authenticate
	// again (a reconnect with the same credential gets 401).
	CloseCredentialEnded = 4001
)

// Config configures a Hub. Broker is required; zero values take defaults.
type Config struct {
	Broker Broker
	Logger *slog.Logger

	// OpenAlarms returns the open alarms the viewer may see, rendered as the
	// REST API does; they go into full snapshots. Required.
	OpenAlarms func(ctx context.Context, v Viewer) ([]json.RawMessage, error)
	// OpenIncidents returns the unresolved incidents the viewer may see, as
	// the REST API renders them; they go into full snapshots beside the
	// alarms. Nil: snapshots carry no incidents field.
	OpenIncidents func(ctx context.Context, v Viewer) ([]json.RawMessage, error)
	// OpenSources returns the stored source estimates of the open
	// incidents the viewer may see; they go into full snapshots beside the
	// incidents. Nil: snapshots carry no sources field.
	OpenSources func(ctx context.Context, v Viewer) ([]json.RawMessage, error)
	// Ack acknowledges an alarm for the viewer, checking permission; the
	// resulting alarm event must be published by the server through
	// PublishAlarm. Its error text is shown to the client. Nil: acks are
	// refused.
	Ack func(ctx context.Context, v Viewer, alarmID int64, comment string) error

	// The node's other interests in what the cluster says, fed by the
	// hub's one consumer of the broker. Each is called on the broker's
	// goroutine and must not block; nil ones are skipped.
	//
	// OnAlarmEvents gets every event of the alarm log once, in log order,
	// this node's own included (e.g. to apply peers' resolutions).
	OnAlarmEvents func([]AlarmEvent)
	// OnChange gets every change notice, this node's own included.
	OnChange func(Change)
	// OnResync: change notices may have been missed (the broker's
	// subscription was re-established); drop what they would have.
	OnResync func()

	Tick           time.Duration // position flush period per connection; 100ms
	BBoxMargin     float64       // bbox widening per side, fraction of its size; 0.1
	AlarmQueue     int           // alarm events queued per connection before CloseLagging; 16384
	MaxPending     int           // unsent vehicle updates per connection before a full resend; 65536
	MaxReplay      int           // longest replay on resume before a full snapshot instead; 10000
	AllowedOrigins []string      // extra allowed Origin values ("*": any); same host always allowed
	PingInterval   time.Duration // 25s
	PongWait       time.Duration // 8s
	WriteTimeout   time.Duration // deadline per frame write; 2s
	ReadLimit      int64         // largest client message; 8 KiB
	CallTimeout    time.Duration // OpenAlarms, Ack and log reads; 5s
	PublishTimeout time.Duration // one publish or append to the broker; 2s
	// LocalFallback: an event of this node that the log has not brought
	// back within this goes to this node's viewers ahead of it; 100ms
	// (the position tick: an early delivery costs only an "offset" frame
	// later, so erring early is cheap).
	LocalFallback time.Duration
	// ResumeRing is how many recent alarm frames the hub keeps to resume
	// viewers from node-local offsets; 4096.
	ResumeRing int
	// MaxUnlogged bounds this node's events waiting for the log; beyond it
	// the oldest queued "updated" events are dropped; 100000.
	MaxUnlogged int
	// ProgressEvery is how long an "updated" event that only moves an
	// episode's last seen and sample count may wait (coalesced with the
	// alarm's later ones); one with a higher peak waits one tick; 5s.
	ProgressEvery time.Duration
	// Heartbeat: a connection that was sent nothing for this long gets a
	// heartbeat frame, so a client can tell a silent socket from a dead
	// one (browsers do not see WebSocket pings); 10s.
	Heartbeat time.Duration
}

func (c *Config) setDefaults() error {
	if c.Broker == nil {
		return errors.New("live: Config.Broker is required")
	}
	if c.OpenAlarms == nil {
		return errors.New("live: Config.OpenAlarms is required")
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	setDur := func(d *time.Duration, def time.Duration) {
		if *d <= 0 {
			*d = def
		}
	}
	setInt := func(n *int, def int) {
		if *n <= 0 {
			*n = def
		}
	}
	setDur(&c.Tick, 100*time.Millisecond)
	setDur(&c.ProgressEvery, 5*time.Second)
	setDur(&c.PingInterval, 25*time.Second)
	setDur(&c.PongWait, 8*time.Second)
	setDur(&c.WriteTimeout, 2*time.Second)
	setDur(&c.CallTimeout, 5*time.Second)
	setDur(&c.PublishTimeout, 2*time.Second)
	setDur(&c.LocalFallback, 100*time.Millisecond)
	setDur(&c.Heartbeat, 10*time.Second)
	setInt(&c.ResumeRing, 4096)
	setInt(&c.MaxUnlogged, 100_000)
	// Items are shared between connections and the queue grows only when
	// used: a burst of thousands of raises at once (a fleet entering a
	// contaminated area) must not close every viewer as lagging.
	setInt(&c.AlarmQueue, 16384)
	setInt(&c.MaxPending, 65536)
	setInt(&c.MaxReplay, 10000)
	if c.BBoxMargin <= 0 {
		c.BBoxMargin = 0.1
	}
	if c.ReadLimit <= 0 {
		c.ReadLimit = 8 << 10
	}
	return nil
}

// Hub owns the live connections of one node. Positions are latest-wins per
// vehicle and flushed once per tick; alarm events go out at once, in offset
// order. No lock of the hub is held while a socket is written.
type Hub struct {
	cfg      Config
	log      *slog.Logger
	broker   Broker
	upgrader websocket.Upgrader

	started atomic.Bool
	ready   chan struct{}
	runCtx  context.Context // Run's context, set before ready; parent of every connection

	// mu guards the connection set and the alarm stream together: an
	// item is queued to exactly the connections registered when lastIssued
	// passes it, which is what makes snapshot offsets exact.
	mu         sync.RWMutex
	conns      map[*conn]struct{}
	lastLog    int64 // newest log offset read from the broker
	lastIssued int64 // newest offset handed to connections (log or local)
	closing    bool
	connWG     sync.WaitGroup

	// This node's events on their way to the log (hub_alarms.go), and the
	// recent frames for resumes; under mu.
	node         string // prefix of the event ids this hub assigns
	eidSeq       uint64
	unlogged     []*localEvent // published, not read back from the log yet
	toAppend     []*localEvent // of those, not appended yet
	provisional  int           // of unlogged, those delivered ahead of the log
	logDown      bool          // the last append failed
	ring         []*alarmItem  // newest ResumeRing items, offsets increasing
	ringBase     int64         // offset issued just before ring[0]; -1: none
	appendWake   chan struct{}
	fallbackWake chan struct{}
	// "updated" events waiting for the next tick, latest per alarm, in
	// the order their alarms were first updated since the last tick.
	coalesced      map[coalesceKey]*pendingUpdate
	coalescedOrder []coalesceKey
	ticks          int // tick goroutine only

	posMu   sync.RWMutex
	latest  map[int64]Position
	dirty   map[int64]struct{} // updated since the last tick
	tickSeq int64              // seq of the newest tickBatch

	outMu    sync.Mutex
	outbound map[int64]Position // local positions waiting for the broker
	outWake  chan struct{}

	resyncWake chan struct{}

	tickConns []*conn // tick goroutine only

	bufPool sync.Pool // *[]byte frame buffers
	posPool sync.Pool // *[]Position scratch

	stats hubStats
}

type hubStats struct {
	lagging, positionFrames, alarmFrames, bytes, publishErrors atomic.Uint64
}

// Stats are counters for metrics.
type Stats struct {
	Connections    int
	Lagging        uint64 // connections closed with CloseLagging
	PositionFrames uint64
	AlarmFrames    uint64
	BytesWritten   uint64
	PublishErrors  uint64 // failed position publishes to the broker
	AlarmOffset    int64  // newest alarm log offset delivered to this node
	UnloggedAlarms int    // this node's alarm events not appended to the log yet
}

// NewHub returns a hub; call Run to start it.
func NewHub(cfg Config) (*Hub, error) {
	if err := cfg.setDefaults(); err != nil {
		return nil, err
	}
	var node [6]byte
	_, _ = rand.Read(node[:])
	h := &Hub{
		node:         hex.EncodeToString(node[:]),
		ringBase:     -1,
		appendWake:   make(chan struct{}, 1),
		fallbackWake: make(chan struct{}, 1),
		coalesced:    map[coalesceKey]*pendingUpdate{},
		cfg:          cfg,
		log:          cfg.Logger.With("component", "live"),
		broker:       cfg.Broker,
		ready:        make(chan struct{}),
		conns:        make(map[*conn]struct{}),
		latest:       make(map[int64]Position),
		dirty:        make(map[int64]struct{}),
		outbound:     make(map[int64]Position),
		outWake:      make(chan struct{}, 1),
		resyncWake:   make(chan struct{}, 1),
	}
	h.upgrader = websocket.Upgrader{
		// Small read buffer: clients send a few small messages. Writes borrow
		// a buffer from the shared pool only while a frame is being written,
		// so an idle connection holds none.
		ReadBufferSize:    512,
		WriteBufferSize:   4096,
		WriteBufferPool:   &sync.Pool{},
		CheckOrigin:       h.checkOrigin,
		EnableCompression: false,
	}
	return h, nil
}

// Ready is closed once Run has loaded the alarm offset and the latest
// positions; ServeWS answers 503 before.
func (h *Hub) Ready() <-chan struct{} { return h.ready }

// Stats returns the current counters.
func (h *Hub) Stats() Stats {
	h.mu.RLock()
	n, off, unlogged := len(h.conns), h.lastLog, len(h.toAppend)
	h.mu.RUnlock()
	return Stats{
		Connections: n, AlarmOffset: off, UnloggedAlarms: unlogged,
		Lagging:        h.stats.lagging.Load(),
		PositionFrames: h.stats.positionFrames.Load(),
		AlarmFrames:    h.stats.alarmFrames.Load(),
		BytesWritten:   h.stats.bytes.Load(),
		PublishErrors:  h.stats.publishErrors.Load(),
	}
}

// Run starts the hub and blocks until ctx ends; it then closes every
// connection (1001) and returns once they and its goroutines are gone.
// If the broker is unreachable at start, Run keeps retrying.
func (h *Hub) Run(ctx context.Context) error {
	if !h.started.CompareAndSwap(false, true) {
		return errors.New("live: Hub.Run called twice")
	}
	bo := newBackoff(100*time.Millisecond, 5*time.Second)
	for {
		err := h.load(ctx)
		if err == nil {
			break
		}
		h.log.Warn("live feed not ready, retrying", "err", err)
		if !bo.wait(ctx) {
			return nil
		}
	}
	h.runCtx = ctx
	// Events published before Run waited for nothing yet.
	h.mu.Lock()
	for _, le := range h.unlogged {
		le.at = time.Now()
	}
	h.mu.Unlock()
	close(h.ready)

	var wg sync.WaitGroup
	wg.Go(func() { h.brokerLoop(ctx) })
	wg.Go(func() { h.tickLoop(ctx) })
	wg.Go(func() { h.publishLoop(ctx) })
	wg.Go(func() { h.resyncLoop(ctx) })
	wg.Go(func() { h.appendLoop(ctx) })
	wg.Go(func() { h.fallbackLoop(ctx) })
	<-ctx.Done()

	h.mu.Lock()
	h.closing = true
	for c := range h.conns {
		c.kick(websocket.CloseGoingAway, "server shutting down")
	}
	h.mu.Unlock()
	wg.Wait()
	h.connWG.Wait()
	return nil
}

func (h *Hub) load(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, h.cfg.CallTimeout)
	defer cancel()
	last, err := h.broker.LastAlarmOffset(ctx)
	if err != nil {
		return fmt.Errorf("load alarm offset: %w", err)
	}
	ps, err := h.broker.LatestPositions(ctx)
	if err != nil {
		return fmt.Errorf("load latest positions: %w", err)
	}
	h.mu.Lock()
	h.lastLog, h.lastIssued, h.ringBase = last, last, last
	h.mu.Unlock()
	h.applyPositions(ps, false)
	return nil
}

// brokerLoop keeps the broker's delivery running, restarting it from the
// last delivered offset if it ever gives up.
func (h *Hub) brokerLoop(ctx context.Context) {
	sink := Sink{
		Positions: func(ps []Position) { h.applyPositions(ps, false) },
		Alarms:    h.dispatchAlarms,
		Changes:   h.cfg.OnChange,
		Resync: func() {
			h.requestResync()
			if h.cfg.OnResync != nil {
				h.cfg.OnResync()
			}
		},
		Reset: h.resetAlarms,
	}
	bo := newBackoff(100*time.Millisecond, 5*time.Second)
	for ctx.Err() == nil {
		h.mu.RLock()
		after := h.lastLog
		h.mu.RUnlock()
		err := h.broker.Run(ctx, after, sink)
		if ctx.Err() != nil {
			return
		}
		h.log.Error("live broker stopped, restarting", "err", err)
		bo.wait(ctx)
	}
}

func (h *Hub) register(c *conn) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closing {
		return false
	}
	h.conns[c] = struct{}{}
	h.connWG.Add(1)
	return true
}

func (h *Hub) unregister(c *conn) {
	h.mu.Lock()
	delete(h.conns, c)
	h.mu.Unlock()
	h.connWG.Done()
}

// CloseViewers ends, with CloseCredentialEnded, every connection of this
// node whose viewer match selects, and returns how many: a socket must not
// keep rights its credential no longer has.
func (h *Hub) CloseViewers(match func(Viewer) bool, reason string) int {
	h.mu.Lock()
	var ending []*conn
	for c := range h.conns {
		if match(c.v) {
			ending = append(ending, c)
		}
	}
	h.mu.Unlock()
	for _, c := range ending {
		c.kick(CloseCredentialEnded, reason)
	}
	return len(ending)
}

// PublishChange tells every node, this one included, that something they
// cache changed (at most once: see Change).
func (h *Hub) PublishChange(ctx context.Context, c Change) error {
	ctx, cancel := context.WithTimeout(ctx, h.cfg.PublishTimeout)
	defer cancel()
	if err := h.broker.PublishChange(ctx, c); err != nil {
		return fmt.Errorf("live: %w", err)
	}
	return nil
}
