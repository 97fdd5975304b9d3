// Package faultproxy is a loopback TCP proxy that tests put between
// RadTrack and a real PostgreSQL or Redis to take the service "down" and
// "up" again without touching the server other tests share: Down cuts
// every open connection and refuses new ones, as a crashed or unreachable
// database would; Hang keeps every connection open and accepts new ones
// but forwards nothing, as a black-holed network, a lock pile-up or a
// frozen disk would: the client sees a server that never answers.
package faultproxy

import (
	"net"
	"sync"
	"testing"
)

// Proxy forwards 127.0.0.1:<port> to a target address.
type Proxy struct {
	ln     net.Listener
	target string

	mu   sync.Mutex
	down bool
	hung bool
	// resume is closed (and replaced) when a hang ends.
	resume chan struct{}
	conns  map[net.Conn]struct{}
	wg     sync.WaitGroup
}

// Start listens on a free loopback port; t.Cleanup stops it.
func Start(t testing.TB, target string) *Proxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &Proxy{ln: ln, target: target, conns: map[net.Conn]struct{}{}, resume: make(chan struct{})}
	p.wg.Go(p.accept)
	t.Cleanup(p.close)
	return p
}

// Addr is the proxy's address (host:port).
func (p *Proxy) Addr() string { return p.ln.Addr().String() }

// Port is the proxy's port.
func (p *Proxy) Port() int { return p.ln.Addr().(*net.TCPAddr).Port }

// Down cuts every connection and refuses new ones until Up (it ends a
// Hang: what was held is dropped with its connection).
func (p *Proxy) Down() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.down = true
	if p.hung {
		p.hung = false
		close(p.resume)
		p.resume = make(chan struct{})
	}
	for c := range p.conns {
		c.Close()
	}
}

// Hang stops forwarding in both directions without closing anything:
// connections stay open, new ones are accepted, and whatever either side
// sends is held (not lost) until Up. Nothing reaches the client, so only
// its own deadlines end its waits.
func (p *Proxy) Hang() {
	p.mu.Lock()
	p.hung = true
	p.mu.Unlock()
}

// Up forwards again; after a Hang, what was held is delivered.
func (p *Proxy) Up() {
	p.mu.Lock()
	p.down = false
	if p.hung {
		p.hung = false
		close(p.resume)
		p.resume = make(chan struct{})
	}
	p.mu.Unlock()
}

// wait blocks while the proxy hangs; false if the connection must end.
func (p *Proxy) wait() bool {
	for {
		p.mu.Lock()
		hung, down, resume := p.hung, p.down, p.resume
		p.mu.Unlock()
		if down {
			return false
		}
		if !hung {
			return true
		}
		<-resume
	}
}

// copy forwards src to dst chunk by chunk, holding each chunk while the
// proxy hangs.
func (p *Proxy) copy(dst, src net.Conn) {
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 {
			if !p.wait() {
				return
			}
			if _, werr := dst.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}

func (p *Proxy) accept() {
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		p.mu.Lock()
		if p.down {
			p.mu.Unlock()
			c.Close()
			continue
		}
		p.conns[c] = struct{}{}
		p.mu.Unlock()
		p.wg.Go(func() { p.pipe(c) })
	}
}

func (p *Proxy) pipe(client net.Conn) {
	defer p.forget(client)
	server, err := net.Dial("tcp", p.target)
	if err != nil {
		client.Close()
		return
	}
	p.mu.Lock()
	if p.down {
		p.mu.Unlock()
		server.Close()
		client.Close()
		return
	}
	p.conns[server] = struct{}{}
	p.mu.Unlock()
	defer p.forget(server)
	done := make(chan struct{}, 2)
	go func() { p.copy(server, client); server.Close(); done <- struct{}{} }()
	go func() { p.copy(client, server); client.Close(); done <- struct{}{} }()
	<-done
	<-done
}

func (p *Proxy) forget(c net.Conn) {
	c.Close()
	p.mu.Lock()
	delete(p.conns, c)
	p.mu.Unlock()
}

func (p *Proxy) close() {
	p.ln.Close()
	p.Down()
	p.wg.Wait()
}
