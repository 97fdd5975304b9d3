package live

import (
	"context"
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
)

// Config configures a Hub. Broker is required; zero values take defaults.
type Config struct {
	Broker Broker
	Logger *slog.Logger

	// OpenAlarms returns the open alarms the viewer may see, rendered as the
	// REST API does; they go into full snapshots. Required.
	OpenAlarms func(ctx context.Context, v Viewer) ([]json.RawMessage, error)
	// Ack acknowledges an alarm for the viewer, checking permission; the
	// resulting alarm event must be published by the server through
	// PublishAlarm. Its error text is shown to the client. Nil: acks are
	// refused.
	Ack func(ctx context.Context, v Viewer, alarmID int64, comment string) error

	Tick           time.Duration // position flush period per connection; 100ms
	BBoxMargin     float64       // bbox widening per side, fraction of its size; 0.1
	AlarmQueue     int           // alarm events queued per connection before CloseLagging; 1024
	MaxPending     int           // unsent vehicle updates per connection before a full resend; 65536
	MaxReplay      int           // longest replay on resume before a full snapshot instead; 10000
	AllowedOrigins []string      // extra allowed Origin values ("*": any); same host always allowed
	PingInterval   time.Duration // 25s
	PongWait       time.Duration // 8s
	WriteTimeout   time.Duration // deadline per frame write; 2s
	ReadLimit      int64         // largest client message; 8 KiB
	CallTimeout    time.Duration // OpenAlarms, Ack and log reads; 5s
	PublishTimeout time.Duration // one position publish to the broker; 2s
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
	setDur(&c.PingInterval, 25*time.Second)
	setDur(&c.PongWait, 8*time.Second)
	setDur(&c.WriteTimeout, 2*time.Second)
	setDur(&c.CallTimeout, 5*time.Second)
	setDur(&c.PublishTimeout, 2*time.Second)
	setInt(&c.AlarmQueue, 1024)
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

	// mu guards the connection set and lastOffset together: an event is
	// queued to exactly the connections registered when lastOffset passes
	// it, which is what makes snapshot offsets exact.
	mu         sync.RWMutex
	conns      map[*conn]struct{}
	lastOffset int64
	closing    bool
	connWG     sync.WaitGroup

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
	AlarmOffset    int64  // newest alarm offset delivered to this node
}

// NewHub returns a hub; call Run to start it.
func NewHub(cfg Config) (*Hub, error) {
	if err := cfg.setDefaults(); err != nil {
		return nil, err
	}
	h := &Hub{
		cfg:        cfg,
		log:        cfg.Logger.With("component", "live"),
		broker:     cfg.Broker,
		ready:      make(chan struct{}),
		conns:      make(map[*conn]struct{}),
		latest:     make(map[int64]Position),
		dirty:      make(map[int64]struct{}),
		outbound:   make(map[int64]Position),
		outWake:    make(chan struct{}, 1),
		resyncWake: make(chan struct{}, 1),
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
	n, off := len(h.conns), h.lastOffset
	h.mu.RUnlock()
	return Stats{
		Connections: n, AlarmOffset: off,
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
	close(h.ready)

	var wg sync.WaitGroup
	wg.Go(func() { h.brokerLoop(ctx) })
	wg.Go(func() { h.tickLoop(ctx) })
	wg.Go(func() { h.publishLoop(ctx) })
	wg.Go(func() { h.resyncLoop(ctx) })
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
	h.lastOffset = last
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
		Resync:    h.requestResync,
		Reset:     h.resetAlarms,
	}
	bo := newBackoff(100*time.Millisecond, 5*time.Second)
	for ctx.Err() == nil {
		h.mu.RLock()
		after := h.lastOffset
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

func (h *Hub) currentOffset() int64 {
	h.mu.RLock()
	defer h.mu.RUnlock()
	return h.lastOffset
}
