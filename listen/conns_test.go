package listen

import (
	"net"
	"testing"

	"github.com/radtrack/radtrack/ingest"
)

func pipeConn(t *testing.T) net.Conn {
	a, b := net.Pipe()
	t.Cleanup(func() { a.Close(); b.Close() })
	return a
}

func TestConnTableKeepsRoomForAuthenticatedUnits(t *testing.T) {
	tab := newConnTable(4, 3, 2) // 4 in all, 3 per address, 2 unauthenticated
	open := func(ip string) (*connSlot, net.Conn, ingest.Reason) {
		return tab.open(pipeConn(t), ip)
	}
	// Two units authenticate.
	for range 2 {
		s, ev, r := open("10.0.0.1")
		if s == nil || ev != nil {
			t.Fatalf("open: %v %v %q", s, ev, r)
		}
		tab.authenticated(s)
	}
	// A third connection of the same address is still within its cap;
	// the fourth is not.
	s3, _, _ := open("10.0.0.1")
	if s, _, r := open("10.0.0.1"); s != nil || r != ingest.ReasonTooManyConns {
		t.Fatalf("fourth connection of one address: %v %q, want refused", s, r)
	}
	// Unauthenticated share full (s3 and s4): the next evicts the oldest.
	s4, ev, _ := open("10.0.0.2")
	if ev != nil {
		t.Fatal("evicted while there was room")
	}
	s5, ev, _ := open("10.0.0.3")
	if s5 == nil || ev != s3.conn {
		t.Fatalf("a new connection with the unauthenticated share full: %v evicted %v, want the oldest (s3)", s5, ev)
	}
	if o, u := tab.counts(); o != 4 || u != 2 {
		t.Fatalf("open %d unauthenticated %d, want 4 and 2", o, u)
	}
	tab.close(s3) // the evicted connection's goroutine ends: no double release
	if o, _ := tab.counts(); o != 4 {
		t.Fatalf("closing an evicted slot again changed the count to %d", o)
	}
	if n := tab.perIP.Open("10.0.0.1"); n != 2 {
		t.Fatalf("10.0.0.1 holds %d slots, want its 2 units", n)
	}
	// Every slot taken, two authenticated: a new connection evicts s4.
	tab.authenticated(s5)
	s6, ev, _ := open("10.0.0.4")
	if s6 == nil || ev != s4.conn {
		t.Fatalf("table full: %v evicted %v, want s4 evicted", s6, ev)
	}
	tab.authenticated(s6)
	// All four authenticated: nothing to evict, the new one is refused.
	if s, ev, r := open("10.0.0.5"); s != nil || ev != nil || r != ingest.ReasonTooManyConns {
		t.Fatalf("every slot authenticated: %v %v %q, want refused", s, ev, r)
	}
	tab.close(s6)
	if s, _, _ := open("10.0.0.5"); s == nil {
		t.Fatal("a closed slot was not given back")
	}
}
