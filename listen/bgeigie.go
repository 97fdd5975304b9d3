package listen

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"time"

	"github.com/radtrack/radtrack/ingest"
	"github.com/radtrack/radtrack/ingest/bgeigie"
	"github.com/radtrack/radtrack/internal/lineread"
	"github.com/radtrack/radtrack/sample"
)

// BGeigie serves Safecast bGeigie sentences over TCP, one connection per
// unit, one sentence per line:
//
//	AUTH <device token>\n                      (optional first line; answered "OK <uid>" or "ERR <reason>")
//	$BNRDD,5002,2025-07-25T19:04:40Z,…*76\n   (one per line; CRLF, '#' comments, glued sentences accepted)
//
// Without AUTH the first sentence's device serial names the device, which
// an admin must have marked legacy-id-only. With AUTH, sentences of
// another serial are refused. A line that cannot be parsed is counted and
// logged, and the stream goes on. The server writes only the AUTH answer,
// and "ERR <reason>" before it closes a connection it refuses: a failed
// credential, no credential within AuthTimeout, or a device revoked (or
// its token rotated) while the connection is open.
type BGeigie struct {
	Gate *ingest.Gate
	Log  *slog.Logger
	// IdleTimeout closes a connection silent for this long (units send
	// every 5 s); it also bounds slow-loris connections.
	IdleTimeout time.Duration
	// AuthTimeout is how long a new connection has to authenticate (an
	// AUTH line or a legacy device's first sentence); 0: 10 s.
	AuthTimeout time.Duration
	// MaxConns bounds concurrent connections, MaxConnsPerIP those of one
	// client address (0: no per-address cap), and MaxUnauthenticated
	// those not authenticated yet (0: a tenth of MaxConns); see connTable.
	MaxConns           int
	MaxConnsPerIP      int
	MaxUnauthenticated int
}

// maxBatch bounds the samples handed to the pipeline at once when a
// connection delivers faster than real time (a replay).
const maxBatch = 500

// maxLoggedLineErrors per connection; further bad lines are only counted.
const maxLoggedLineErrors = 10

// DefaultAuthTimeout is a new connection's time to authenticate: a unit
// sends AUTH at once, and a legacy unit its first sentence within 5 s.
const DefaultAuthTimeout = 10 * time.Second

// Serve accepts connections until ctx ends or ln fails, then waits for
// open connections to hand over what they read.
func (b *BGeigie) Serve(ctx context.Context, ln net.Listener) error {
	var wg sync.WaitGroup
	defer wg.Wait()
	stop := context.AfterFunc(ctx, func() { ln.Close() })
	defer stop()
	unauth := b.MaxUnauthenticated
	if unauth <= 0 {
		unauth = max(1, b.MaxConns/10)
	}
	table := newConnTable(b.MaxConns, b.MaxConnsPerIP, unauth)
	for {
		conn, err := ln.Accept()
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				time.Sleep(50 * time.Millisecond)
				continue
			}
			return fmt.Errorf("bgeigie: accept: %w", err)
		}
		ip := ingest.HostOf(conn.RemoteAddr().String())
		adm, err := b.Gate.Admit(sample.SourceBGeigie, ip)
		if err != nil {
			refuseConn(conn, err)
			continue
		}
		slot, evicted, refused := table.open(conn, ip)
		if evicted != nil {
			b.Gate.Refuse(sample.SourceBGeigie, ingest.ReasonEvicted, "", "closed for a newer connection: authenticate at once", nil)
			evicted.Close()
		}
		if slot == nil {
			refuseConn(conn, b.Gate.Refuse(sample.SourceBGeigie, refused, "", "too many connections", nil))
			continue
		}
		wg.Go(func() {
			defer table.close(slot)
			b.handle(ctx, conn, adm, func() { table.authenticated(slot) })
		})
	}
}

// refuseConn tells a refused peer why ("ERR reason") and hangs up; the
// write goes to the socket buffer and never waits for the peer.
func refuseConn(conn net.Conn, err error) {
	writeErr(conn, err)
	conn.Close()
}

func writeErr(conn net.Conn, err error) {
	reason := ingest.ReasonStorage
	var rf *ingest.Refusal
	if errors.As(err, &rf) {
		reason = rf.Reason
	}
	conn.SetWriteDeadline(time.Now().Add(time.Second))
	fmt.Fprintf(conn, "ERR %s\n", reason)
}

// session is one unit's connection.
type session struct {
	b    *BGeigie
	conn net.Conn
	log  *slog.Logger
	adm  ingest.Admission
	pass *ingest.Pass // set by AUTH, or by the first legacy-id-only sentence
	// onAuth moves the connection out of the unauthenticated share; it is
	// called before anything is answered, so a unit that has read "OK"
	// can no longer be evicted.
	onAuth func()
	errors int
}

func (s *session) authenticated(pass ingest.Pass) {
	s.pass = &pass
	s.log = s.log.With("device", pass.Device.UID)
	s.onAuth()
}

// handle reads one connection until it ends; authenticated is called once
// the unit has proved itself, to move it out of the unauthenticated share.
func (b *BGeigie) handle(ctx context.Context, conn net.Conn, adm ingest.Admission, authenticated func()) {
	defer conn.Close()
	// Closing the connection when the server stops unblocks the read.
	stop := context.AfterFunc(ctx, func() { conn.SetReadDeadline(time.Now()) })
	defer stop()
	s := &session{b: b, conn: conn, adm: adm, onAuth: authenticated, log: b.Log.With("remote", conn.RemoteAddr().String())}
	authBy := time.Now().Add(b.authTimeout())
	rd := bufio.NewReaderSize(conn, bgeigie.MaxLineLength)
	var batch []sample.Sample
	first := true
	for {
		deadline := time.Now().Add(b.IdleTimeout)
		if s.pass == nil && authBy.Before(deadline) {
			deadline = authBy
		}
		conn.SetReadDeadline(deadline)
		if ctx.Err() != nil {
			// Stopping: the deadline just set may have replaced the one the
			// stop set, which would hold the server for the idle timeout;
			// read what is buffered, then return.
			conn.SetReadDeadline(time.Now())
		}
		line, err := readLine(rd)
		if len(line) > 0 {
			var ok bool
			if first && bytes.HasPrefix(line, []byte("AUTH ")) {
				ok = s.auth(ctx, bytes.TrimSpace(line[5:]))
			} else {
				batch, ok = s.decodeLine(ctx, line, batch)
			}
			if !ok {
				return
			}
			first = false
		}
		// Hand over what was read once the socket has nothing more buffered:
		// live units send one line per 5 s, replays send many at once.
		if len(batch) > 0 && (rd.Buffered() == 0 || len(batch) >= maxBatch || err != nil) {
			if !s.ingest(ctx, batch) {
				return
			}
			batch = batch[:0]
		}
		if errors.Is(err, errLineTooLong) {
			s.lineError(nil, err)
			continue
		}
		if err != nil {
			var ne net.Error
			if s.pass == nil && ctx.Err() == nil && errors.As(err, &ne) && ne.Timeout() && !time.Now().Before(authBy) {
				writeErr(conn, b.Gate.Refuse(sample.SourceBGeigie, ingest.ReasonAuthTimeout, "", "no AUTH line or sentence in time", nil))
			}
			return
		}
	}
}

func (b *BGeigie) authTimeout() time.Duration {
	if b.AuthTimeout > 0 {
		return b.AuthTimeout
	}
	return DefaultAuthTimeout
}

var errLineTooLong = fmt.Errorf("line longer than %d bytes", bgeigie.MaxLineLength)

// readLine returns the next line without its terminator (LF or CRLF); an
// over-long line is skipped and reported as errLineTooLong, so one bad line
// cannot end the stream.
func readLine(rd *bufio.Reader) ([]byte, error) {
	line, tooLong, err := lineread.Line(rd)
	if tooLong && err == nil {
		return nil, errLineTooLong
	}
	return bytes.TrimRight(line, "\r"), err
}

// auth checks an AUTH line's token; false ends the session.
func (s *session) auth(ctx context.Context, token []byte) bool {
	pass, err := s.adm.Authenticate(ctx, ingest.Credential{Token: string(token)})
	if err != nil {
		s.log.Warn("bgeigie: authentication refused", "err", err)
		writeErr(s.conn, err)
		return false
	}
	s.authenticated(pass)
	s.conn.SetWriteDeadline(time.Now().Add(5 * time.Second))
	fmt.Fprintf(s.conn, "OK %s\n", pass.Device.UID)
	return true
}

// decodeLine appends the line's samples to batch; false ends the session
// (a first sentence whose device may not report by id alone).
func (s *session) decodeLine(ctx context.Context, line []byte, batch []sample.Sample) ([]sample.Sample, bool) {
	for _, sentence := range bgeigie.Sentences(line) {
		smp, err := bgeigie.ParseSentence(sentence)
		if err != nil {
			s.lineError(sentence, err)
			continue
		}
		if s.pass == nil {
			pass, err := s.adm.Authenticate(ctx, ingest.Credential{UID: smp.DeviceUID})
			if err != nil {
				s.log.Warn("bgeigie: sentence without AUTH refused (send AUTH <token> first)", "device", smp.DeviceUID, "err", err)
				writeErr(s.conn, err)
				return batch, false
			}
			s.authenticated(pass)
		}
		if uid := s.pass.Device.UID; smp.DeviceUID != uid {
			s.lineError(sentence, fmt.Errorf("sentence of device %q on a connection of %q", smp.DeviceUID, uid))
			continue
		}
		batch = append(batch, smp)
	}
	return batch, true
}

func (s *session) lineError(line []byte, err error) {
	s.errors++
	reason := "malformed"
	switch {
	case errors.Is(err, bgeigie.ErrChecksum):
		reason = "checksum"
	case errors.Is(err, errLineTooLong):
		reason = "too_long"
	}
	s.b.Gate.CountRejected(sample.SourceBGeigie, reason)
	if s.errors <= maxLoggedLineErrors {
		s.log.Warn("bgeigie: line refused", "err", err, "line", string(line), "refused_so_far", s.errors)
	}
}

// ingest hands a batch to the gate after checking the session's
// credential again, so a device revoked (or its token rotated) while
// connected stores nothing more and the session ends (false). A unit
// cannot resend, so what the node cannot take now is retried while the
// connection waits (TCP holds the unit's further lines): a storage
// failure with backoff, the device's rate limit after the time it asks.
func (s *session) ingest(ctx context.Context, batch []sample.Sample) bool {
	backoff := 100 * time.Millisecond
	for {
		// What was read is handed over even while the server stops: the
		// writer drains after the listeners have returned.
		ictx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
		pass, err := s.pass.Recheck(ictx)
		if err == nil {
			s.pass = &pass // a calibration edit applies from this batch on
			var res ingest.Result
			res, err = pass.Ingest(ictx, batch)
			for _, r := range res.Rejected { // already counted by the pipeline
				s.log.Warn("bgeigie: sample refused", "field", r.Field, "err", r.Error)
			}
		}
		cancel()
		if err == nil {
			return true
		}
		wait := backoff
		var rf *ingest.Refusal
		errors.As(err, &rf)
		switch {
		case rf == nil:
			s.log.Error("bgeigie: ingest", "err", err)
		case rf.Reason == ingest.ReasonRevoked, rf.Reason == ingest.ReasonBadCredential, rf.Reason == ingest.ReasonUnknownDevice:
			s.log.Warn("bgeigie: device credential no longer valid, closing the connection", "reason", rf.Reason, "samples_not_stored", len(batch))
			writeErr(s.conn, err)
			return false
		case rf.Reason == ingest.ReasonNotStorable:
			s.log.Error("bgeigie: samples the store cannot hold, dropped", "samples", len(batch), "err", err)
			return true
		case rf.Reason == ingest.ReasonDeviceRateLimited:
			wait = rf.RetryAfter
		default:
			s.log.Warn("bgeigie: ingest failed, retrying", "samples", len(batch), "err", err, "backoff", backoff)
			backoff = min(2*backoff, 10*time.Second)
		}
		if ctx.Err() != nil {
			s.log.Error("bgeigie: samples not stored at shutdown", "samples", len(batch), "err", err)
			return true
		}
		select {
		case <-time.After(wait):
		case <-ctx.Done():
		}
	}
}
