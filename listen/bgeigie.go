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
	"github.com/radtrack/radtrack/store"
)

// BGeigie serves Safecast bGeigie sentences over TCP, one connection per
// unit, one sentence per line:
//
//	AUTH <device token>\n                      (optional first line; answered "OK <uid>" or "ERR <reason>")
//	$BNRDD,5002,2025-07-25T19:04:40Z,…*76\n   (one per line; CRLF, '#' comments, glued sentences accepted)
//
// Without AUTH the sentence's device serial names the device, which an admin
// must have marked legacy-id-only. With AUTH, sentences of another serial
// are refused. A line that cannot be parsed is counted and logged, and the
// stream goes on; nothing is written back after the AUTH answer.
type BGeigie struct {
	Pipeline *ingest.Pipeline
	Devices  *ingest.Devices
	Log      *slog.Logger
	// IdleTimeout closes a connection silent for this long (units send
	// every 5 s); it also bounds slow-loris connections.
	IdleTimeout time.Duration
	// MaxConns bounds concurrent connections.
	MaxConns int
}

// maxBatch bounds the samples handed to the pipeline at once when a
// connection delivers faster than real time (a replay).
const maxBatch = 500

// maxLoggedLineErrors per connection; further bad lines are only counted.
const maxLoggedLineErrors = 10

// Serve accepts connections until ctx ends or ln fails, then waits for
// open connections to hand over what they read.
func (b *BGeigie) Serve(ctx context.Context, ln net.Listener) error {
	var wg sync.WaitGroup
	defer wg.Wait()
	stop := context.AfterFunc(ctx, func() { ln.Close() })
	defer stop()
	slots := make(chan struct{}, max(1, b.MaxConns))
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
		select {
		case slots <- struct{}{}:
		default:
			b.Pipeline.CountRefused(sample.SourceBGeigie, "too_many_connections")
			conn.Close()
			continue
		}
		wg.Go(func() {
			defer func() { <-slots }()
			b.handle(ctx, conn)
		})
	}
}

// session is one unit's connection.
type session struct {
	b      *BGeigie
	conn   net.Conn
	log    *slog.Logger
	dev    *store.Device // set by AUTH, or by the first legacy-id-only sentence
	authed bool          // dev came from a token
	errors int
}

func (b *BGeigie) handle(ctx context.Context, conn net.Conn) {
	defer conn.Close()
	// Closing the connection when the server stops unblocks the read.
	stop := context.AfterFunc(ctx, func() { conn.SetReadDeadline(time.Now()) })
	defer stop()
	s := &session{b: b, conn: conn, log: b.Log.With("remote", conn.RemoteAddr().String())}
	rd := bufio.NewReaderSize(conn, bgeigie.MaxLineLength)
	var batch []sample.Sample
	first := true
	for {
		conn.SetReadDeadline(time.Now().Add(b.IdleTimeout))
		if ctx.Err() != nil {
			// Stopping: the deadline just set may have replaced the one the
			// stop set, which would hold the server for the idle timeout;
			// read what is buffered, then return.
			conn.SetReadDeadline(time.Now())
		}
		line, err := readLine(rd)
		if len(line) > 0 {
			if first && bytes.HasPrefix(line, []byte("AUTH ")) {
				if !s.auth(ctx, bytes.TrimSpace(line[5:])) {
					return
				}
			} else {
				batch = s.decodeLine(ctx, line, batch)
			}
			first = false
		}
		// Hand over what was read once the socket has nothing more buffered:
		// live units send one line per 5 s, replays send many at once.
		if len(batch) > 0 && (rd.Buffered() == 0 || len(batch) >= maxBatch || err != nil) {
			s.ingest(ctx, batch)
			batch = batch[:0]
		}
		if errors.Is(err, errLineTooLong) {
			s.lineError(nil, err)
			continue
		}
		if err != nil {
			return
		}
	}
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

func (s *session) auth(ctx context.Context, token []byte) bool {
	dev, err := s.b.Devices.ByToken(ctx, string(token))
	if err != nil {
		s.b.Pipeline.CountRefused(sample.SourceBGeigie, authReason(err))
		s.log.Warn("bgeigie: authentication refused", "err", err)
		fmt.Fprintf(s.conn, "ERR %s\n", authReason(err))
		return false
	}
	s.dev, s.authed = &dev, true
	s.log = s.log.With("device", dev.UID)
	fmt.Fprintf(s.conn, "OK %s\n", dev.UID)
	return true
}

func (s *session) decodeLine(ctx context.Context, line []byte, batch []sample.Sample) []sample.Sample {
	for _, sentence := range bgeigie.Sentences(line) {
		smp, err := bgeigie.ParseSentence(sentence)
		if err != nil {
			s.lineError(sentence, err)
			continue
		}
		if err := s.resolve(ctx, smp.DeviceUID); err != nil {
			s.lineError(sentence, err)
			continue
		}
		batch = append(batch, smp)
	}
	return batch
}

// resolve checks that a sentence's serial belongs to the session's device.
func (s *session) resolve(ctx context.Context, uid string) error {
	if s.dev != nil {
		if s.dev.UID != uid {
			return fmt.Errorf("sentence of device %q on a connection of %q", uid, s.dev.UID)
		}
		return nil
	}
	dev, err := s.b.Devices.ByUIDAndKey(ctx, uid, "")
	if err != nil {
		return fmt.Errorf("device %q: %w (send AUTH <token> first)", uid, err)
	}
	s.dev = &dev
	s.log = s.log.With("device", dev.UID)
	return nil
}

func (s *session) lineError(line []byte, err error) {
	s.errors++
	reason := "malformed"
	switch {
	case errors.Is(err, bgeigie.ErrChecksum):
		reason = "checksum"
	case errors.Is(err, errLineTooLong):
		reason = "too_long"
	case errors.Is(err, ingest.ErrBadCredential), errors.Is(err, ingest.ErrUnknownDevice), errors.Is(err, ingest.ErrRevoked):
		reason = "unauthenticated"
	}
	s.b.Pipeline.CountRejected(sample.SourceBGeigie, reason)
	if s.errors <= maxLoggedLineErrors {
		s.log.Warn("bgeigie: line refused", "err", err, "line", string(line), "refused_so_far", s.errors)
	}
}

// ingest hands a batch to the pipeline. A unit cannot resend, so a storage
// failure is retried with backoff while the connection waits (TCP holds the
// unit's further lines) rather than dropping samples.
func (s *session) ingest(ctx context.Context, batch []sample.Sample) {
	backoff := 100 * time.Millisecond
	for {
		// What was read is handed over even while the server stops: the
		// writer drains after the listeners have returned.
		ictx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
		res, err := s.b.Pipeline.Ingest(ictx, *s.dev, sample.SourceBGeigie, batch)
		cancel()
		if err == nil {
			for _, r := range res.Rejected { // already counted by the pipeline
				s.log.Warn("bgeigie: sample refused", "field", r.Field, "err", r.Error)
			}
			return
		}
		if ctx.Err() != nil {
			s.log.Error("bgeigie: samples not stored at shutdown", "samples", len(batch), "err", err)
			return
		}
		s.log.Warn("bgeigie: ingest failed, retrying", "samples", len(batch), "err", err, "backoff", backoff)
		select {
		case <-time.After(backoff):
		case <-ctx.Done():
		}
		backoff = min(2*backoff, 10*time.Second)
	}
}
