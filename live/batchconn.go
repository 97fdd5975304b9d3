package live

import (
	"bufio"
	"net"
	"net/http"
	"sync"
)

// batchConn is a connection that holds what is written to it while the
// writer loop sends several frames (hold … release), and sends them in
// one write. gorilla/websocket writes each message with its own write
// call: in an emergency a viewer gets hundreds of alarm frames a second,
// and one system call per frame per viewer was a quarter of the server's
// CPU (radtrack bench live -emergency). Outside hold, writes go straight
// through. Safe for the writer loop and gorilla's control frames (a pong
// from the reader) at once: a control frame written while frames are held
// goes out with them.
type batchConn struct {
	net.Conn
	mu      sync.Mutex
	holding bool
	buf     *[]byte // from batchBufs while holding and not empty
	err     error   // the first failed write: every later one fails too
}

// batchLimit is what is held before it is written anyway: larger
// batches save no more system calls worth having, and the buffers are
// pooled among all connections.
const batchLimit = 64 << 10

var batchBufs = sync.Pool{New: func() any { b := make([]byte, 0, batchLimit); return &b }}

func (b *batchConn) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.err != nil {
		return 0, b.err
	}
	if !b.holding {
		return b.writeLocked(p)
	}
	if b.buf != nil && len(*b.buf)+len(p) > batchLimit {
		if err := b.flushLocked(); err != nil {
			return 0, err
		}
	}
	if len(p) >= batchLimit {
		return b.writeLocked(p)
	}
	if b.buf == nil {
		b.buf = batchBufs.Get().(*[]byte)
	}
	*b.buf = append(*b.buf, p...)
	return len(p), nil
}

// hold starts holding writes until release.
func (b *batchConn) hold() {
	b.mu.Lock()
	b.holding = true
	b.mu.Unlock()
}

// release writes what was held, in one write, and stops holding; the
// error is that of any held write (the socket is then unusable).
func (b *batchConn) release() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.holding = false
	if b.err != nil {
		return b.err
	}
	return b.flushLocked()
}

func (b *batchConn) flushLocked() error {
	if b.buf == nil {
		return nil
	}
	_, err := b.writeLocked(*b.buf)
	*b.buf = (*b.buf)[:0]
	batchBufs.Put(b.buf)
	b.buf = nil
	return err
}

func (b *batchConn) writeLocked(p []byte) (int, error) {
	n, err := b.Conn.Write(p)
	if err != nil {
		b.err = err
	}
	return n, err
}

// batchingWriter hands the upgrader a batchConn when it hijacks the
// request's connection.
type batchingWriter struct {
	http.ResponseWriter
	conn *batchConn
}

func (w *batchingWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	c, rw, err := http.NewResponseController(w.ResponseWriter).Hijack()
	if err != nil {
		return nil, nil, err
	}
	w.conn = &batchConn{Conn: c}
	return w.conn, rw, nil
}
