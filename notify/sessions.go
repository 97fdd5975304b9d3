package notify

import (
	"context"
	"errors"
	"net"
	"sync"
	"time"

	gomail "github.com/wneessen/go-mail"
	"github.com/wneessen/go-mail/smtp"
)

// SMTP sessions kept open between mails. A storm sends hundreds of mails
// in seconds; each on its own session would pay a TCP connection, the
// greeting, EHLO, STARTTLS (a TLS handshake) and AUTH, several round
// trips to a server that may be far away. A session stays open after a
// mail for the next one, up to maxIdleSessions of them and for at most
// maxSessionIdle: RFC 5321 §4.5.3.2.7 lets a server drop a client idle for
// 5 minutes, and many drop one sooner, so an idle session is also checked
// (go-mail's NOOP before each mail) before it carries one.
const (
	maxIdleSessions = 16 // the dispatcher's default number of workers
	maxSessionIdle  = 30 * time.Second
)

// session is one open SMTP session.
type session struct {
	client *gomail.Client
	smtp   *smtp.Client

	mu   sync.Mutex
	conn net.Conn // set by the dial; closed by close or by an ending context
}

func (s *session) setConn(c net.Conn) {
	s.mu.Lock()
	s.conn = c
	s.mu.Unlock()
}

// close drops the connection without QUIT: used after a failure, and
// for idle sessions, where waiting on the server helps nobody.
func (s *session) close() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.conn != nil {
		s.conn.Close()
	}
}

// send sends msg within ctx: the connection's deadline is ctx's, and it
// is closed if ctx ends first (go-mail's own timeout is per command).
func (s *session) send(ctx context.Context, msg *gomail.Msg) error {
	s.mu.Lock()
	conn := s.conn
	s.mu.Unlock()
	if deadline, ok := ctx.Deadline(); ok {
		_ = conn.SetDeadline(deadline)
	}
	stop := context.AfterFunc(ctx, s.close)
	err := s.client.SendWithSMTPClient(s.smtp, msg)
	if !stop() && err == nil {
		err = ctx.Err() // closed under it: not to be kept (deliver still counts a mail accepted)
	}
	return err
}

// isConnCheck tells whether err is go-mail's check of a session before a
// mail (its NOOP) failing: nothing of the mail was sent.
func isConnCheck(err error) bool {
	var se *gomail.SendError
	return errors.As(err, &se) && se.Reason == gomail.ErrConnCheck
}

// sessionPool holds idle sessions, the most recently used on top.
type sessionPool struct {
	mu     sync.Mutex
	idle   []idleSession
	max    int
	closed bool
}

type idleSession struct {
	s     *session
	since time.Time
}

func newSessionPool(max int) sessionPool { return sessionPool{max: max} }

// take returns an idle session (kept true), or nil when there is none
// fresh enough; sessions idle too long are closed on the way.
func (p *sessionPool) take(now time.Time) (s *session, kept bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for len(p.idle) > 0 {
		top := p.idle[len(p.idle)-1]
		p.idle = p.idle[:len(p.idle)-1]
		if now.Sub(top.since) < maxSessionIdle {
			return top.s, true
		}
		top.s.close()
	}
	return nil, false
}

// put keeps s for the next mail, or closes it when the pool is full or
// closed. The oldest idle sessions are closed first.
func (p *sessionPool) put(s *session, now time.Time) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed || p.max <= 0 {
		s.close()
		return
	}
	if len(p.idle) >= p.max {
		p.idle[0].s.close()
		p.idle = append(p.idle[:0], p.idle[1:]...)
	}
	p.idle = append(p.idle, idleSession{s, now})
}

// close closes every idle session, and every session put back later.
func (p *sessionPool) close() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.closed = true
	for _, is := range p.idle {
		is.s.close()
	}
	p.idle = nil
}
