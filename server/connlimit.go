package server

import (
	"net"
	"sync"

	"github.com/radtrack/radtrack/ingest"
	"github.com/radtrack/radtrack/ratelimit"
)

// LimitConnsPerIP wraps an HTTP listener so that one client address holds
// at most max connections at once (max <= 0: ln unchanged). A connection
// beyond that is closed as soon as it is accepted, and refused is told
// its address (for metrics). With ReadHeaderTimeout and MaxHeaderBytes
// (NewHTTPServer) this bounds what idle or slow sockets from one host can
// take; behind a load balancer every client shares its address, so raise
// the cap or limit there.
func LimitConnsPerIP(ln net.Listener, max int, refused func(ip string)) net.Listener {
	if max <= 0 {
		return ln
	}
	return &limitedListener{Listener: ln, conns: ratelimit.NewConns(max), refused: refused}
}

type limitedListener struct {
	net.Listener
	conns   *ratelimit.Conns
	refused func(ip string)
}

func (l *limitedListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		ip := ingest.HostOf(c.RemoteAddr().String())
		if !l.conns.Acquire(ip) {
			// Counted before the close: whoever sees the hang-up sees it
			// counted (the test did not, one run in many).
			if l.refused != nil {
				l.refused(ip)
			}
			c.Close()
			continue
		}
		return &limitedConn{Conn: c, release: sync.OnceFunc(func() { l.conns.Release(ip) })}, nil
	}
}

// limitedConn gives its slot back once, on the first Close (the server
// and a hijacking WebSocket may both close it).
type limitedConn struct {
	net.Conn
	release func()
}

func (c *limitedConn) Close() error {
	err := c.Conn.Close()
	c.release()
	return err
}
