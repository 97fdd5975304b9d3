package live

import (
	"context"
	"encoding/json"
	"sync"
	"time"

	"github.com/gorilla/websocket"
)

// alarmItem is one alarm event, encoded once and shared by all connections.
type alarmItem struct {
	offset, deviceID int64
	frame            []byte
}

// syncRequest asks the writer for a snapshot: a full one, or a resume from
// an offset (replay, or full snapshot if the log cannot replay).
type syncRequest struct {
	resume bool
	after  int64
}

// ctrlMsg is what the reader asks the writer to send.
type ctrlMsg struct {
	frame []byte
	sync  *syncRequest
	// sub, with its ok in frame: the writer switches to it before writing
	// the reply, so that no frame of the new subscription goes ahead of
	// its ok and none of the old one after it.
	sub *subscription
}

// conn is one viewer's WebSocket. The reader goroutine handles client
// messages; the writer goroutine is the only one writing data frames.
// Everything the hub hands over is queued under mu and signalled on wake, so
// the hub never waits for a socket.
type conn struct {
	h   *Hub
	ws  *websocket.Conn
	out *batchConn // ws's socket; nil: every frame is its own write
	v   Viewer

	wake       chan struct{} // cap 1: alarms or positions are waiting
	ctrl       chan ctrlMsg  // replies and sync requests from the reader
	done       chan struct{} // closed once: the connection is ending
	doneOnce   sync.Once
	writerDone chan struct{}

	mu        sync.Mutex
	alarmQ    []*alarmItem
	batches   []*tickBatch // ticks not flushed yet, oldest first
	pendingN  int          // positions in batches
	full      bool         // resend everything visible (subscription change, overflow)
	posReady  bool         // set by the tick: at most one flush per tick
	sub       subscription
	closeCode int
	closeText string

	// writer only
	sentOffset int64 // alarm events up to here are handled
	coveredSeq int64 // tick batches up to here are covered by a snapshot or full frame
	wrote      bool  // a frame was written since the last heartbeat tick
}

func newConn(h *Hub, ws *websocket.Conn, v Viewer) *conn {
	return &conn{
		h: h, ws: ws, v: v,
		wake:       make(chan struct{}, 1),
		ctrl:       make(chan ctrlMsg, 4),
		done:       make(chan struct{}),
		writerDone: make(chan struct{}),
	}
}

func (c *conn) signal() {
	select {
	case c.wake <- struct{}{}:
	default:
	}
}

// shutdown ends the connection: both goroutines return soon after.
func (c *conn) shutdown() {
	c.doneOnce.Do(func() {
		close(c.done)
	})
}

// connContext is the parent of every call made for a connection (snapshot,
// replay, ack): done when the connection ends, which includes hub shutdown.
// It stands in for a context.WithCancel per connection, whose bookkeeping
// (about 0.5 KiB) would stay allocated for the life of an idle connection.
type connContext struct{ c *conn }

func (x connContext) Deadline() (time.Time, bool) { return time.Time{}, false }
func (x connContext) Done() <-chan struct{}       { return x.c.done }
func (x connContext) Value(key any) any           { return x.c.h.runCtx.Value(key) }
func (x connContext) Err() error {
	if x.c.closing() {
		return context.Canceled
	}
	return nil
}

// callContext bounds one call made for the connection.
func (c *conn) callContext() (context.Context, context.CancelFunc) {
	return context.WithTimeout(connContext{c}, c.h.cfg.CallTimeout)
}

// kick ends the connection with a close code for the client; the first
// code wins. It never blocks: the writer sends the close frame.
func (c *conn) kick(code int, text string) {
	c.mu.Lock()
	if c.closeCode == 0 {
		c.closeCode, c.closeText = code, text
		if code == CloseLagging {
			c.h.stats.lagging.Add(1)
		}
	}
	c.mu.Unlock()
	c.shutdown()
}

func (c *conn) closing() bool {
	select {
	case <-c.done:
		return true
	default:
		return false
	}
}

// pushAlarm queues an alarm event. Called by the hub under h.mu.
func (c *conn) pushAlarm(it *alarmItem) {
	if it.deviceID != 0 && !c.v.canSee(it.deviceID) {
		return
	}
	c.mu.Lock()
	if c.closeCode != 0 {
		c.mu.Unlock()
		return
	}
	if len(c.alarmQ) >= c.h.cfg.AlarmQueue {
		c.mu.Unlock()
		// Never drop an alarm silently: the client reconnects and replays.
		c.kick(CloseLagging, "lagging, resume")
		return
	}
	c.alarmQ = append(c.alarmQ, it)
	c.mu.Unlock()
	c.signal()
}

// maxPendingBatches bounds the ticks a connection may lag behind before its
// updates are dropped for one full frame (1.6 s at the default tick).
const maxPendingBatches = 16

// offer queues this tick's batch (nil: nothing moved) for the writer.
// Filtering happens in the writer, so the tick costs O(1) per connection.
func (c *conn) offer(b *tickBatch) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if b != nil && !c.full {
		if len(c.batches) >= maxPendingBatches || c.pendingN+len(b.ps) > c.h.cfg.MaxPending {
			// Cheaper to resend everything once than to keep growing.
			c.full, c.batches, c.pendingN = true, nil, 0
		} else {
			c.batches = append(c.batches, b)
			c.pendingN += len(b.ps)
		}
	}
	if c.full || len(c.batches) > 0 {
		c.posReady = true
		c.signal()
	}
}

// send hands a frame or request to the writer; it waits while the writer is
// busy (back-pressure on this client only) and gives up when it ends.
func (c *conn) send(m ctrlMsg) {
	select {
	case c.ctrl <- m:
	case <-c.done:
	}
}

func (c *conn) reply(re string, id json.RawMessage, err error) {
	msg := ""
	if err != nil {
		msg = err.Error()
	}
	c.send(ctrlMsg{frame: replyFrame(re, id, msg)})
}
