package listen

import (
	"container/list"
	"net"
	"sync"

	"github.com/radtrack/radtrack/ingest"
	"github.com/radtrack/radtrack/ratelimit"
)

// connTable admits TCP connections (bGeigie): at most max in all, perIP
// from one address, and at most maxUnauth that have not authenticated
// yet. When a new connection finds no room, the oldest unauthenticated
// one is evicted — it had the longest time to authenticate — so a flood
// of idle sockets can neither lock real units out nor grow past
// maxUnauth, and authenticated units keep max - maxUnauth slots at least.
type connTable struct {
	max, maxUnauth int
	perIP          *ratelimit.Conns

	mu     sync.Mutex
	total  int
	unauth list.List // *connSlot, oldest first
}

// connSlot is one admitted connection.
type connSlot struct {
	conn   net.Conn
	ip     string
	elem   *list.Element // in unauth; nil once authenticated
	closed bool
}

func newConnTable(maxConns, maxPerIP, maxUnauth int) *connTable {
	maxConns = max(1, maxConns)
	return &connTable{max: maxConns, maxUnauth: min(maxConns, max(1, maxUnauth)), perIP: ratelimit.NewConns(maxPerIP)}
}

// open admits conn from ip. It returns the slot, or the reason it was
// refused; evicted, if not nil, is a connection the caller must close.
func (t *connTable) open(conn net.Conn, ip string) (slot *connSlot, evicted net.Conn, refused ingest.Reason) {
	if !t.perIP.Acquire(ip) {
		return nil, nil, ingest.ReasonTooManyConns
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.unauth.Len() >= t.maxUnauth || t.total >= t.max {
		front := t.unauth.Front()
		if front == nil { // every slot belongs to an authenticated unit
			t.perIP.Release(ip)
			return nil, nil, ingest.ReasonTooManyConns
		}
		oldest := front.Value.(*connSlot)
		t.removeLocked(oldest)
		evicted = oldest.conn
	}
	slot = &connSlot{conn: conn, ip: ip}
	slot.elem = t.unauth.PushBack(slot)
	t.total++
	return slot, evicted, ""
}

// authenticated moves slot out of the unauthenticated share.
func (t *connTable) authenticated(slot *connSlot) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if !slot.closed && slot.elem != nil {
		t.unauth.Remove(slot.elem)
		slot.elem = nil
	}
}

// close gives slot back; closing an evicted slot again is harmless.
func (t *connTable) close(slot *connSlot) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.removeLocked(slot)
}

func (t *connTable) removeLocked(slot *connSlot) {
	if slot.closed {
		return
	}
	slot.closed = true
	if slot.elem != nil {
		t.unauth.Remove(slot.elem)
		slot.elem = nil
	}
	t.total--
	t.perIP.Release(slot.ip)
}

// counts returns the open and the unauthenticated connections.
func (t *connTable) counts() (open, unauth int) {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.total, t.unauth.Len()
}
