package sim

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/radtrack/radtrack/sample"
)

// BGeigieSender streams each vehicle as a bGeigie unit: one TCP connection
// per vehicle, opened with "AUTH <token>" (answered "OK <uid>"), then one
// $BNRDD sentence per sample with CRLF. The protocol has no per-sentence
// acknowledgement, so "acknowledged" means written to the socket. A
// connection the server closed, or a failed write, is reopened and the
// whole batch written again (the server keeps one row per device and time).
//
// Samples must carry counts over 5 s, the bGeigie's fixed interval.
type BGeigieSender struct {
	Addr         string            // listener host:port, e.g. 127.0.0.1:5057
	Tokens       map[string]string // device token per vehicle uid; read-only while sending
	Retry        Retry
	DialTimeout  time.Duration // default 5 s; also bounds the AUTH answer
	WriteTimeout time.Duration // default 10 s

	retries atomic.Int64
	mu      sync.Mutex
	units   map[string]*unit
}

// unit is one vehicle's connection.
type unit struct {
	mu    sync.Mutex
	conn  net.Conn
	gone  chan struct{} // closed when the server hangs up
	total float64       // counts reported so far, field 5 of the sentence
}

// Retries counts attempts beyond the first.
func (b *BGeigieSender) Retries() int64 { return b.retries.Load() }

func (b *BGeigieSender) unit(vehicle string) *unit {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.units == nil {
		b.units = map[string]*unit{}
	}
	u, ok := b.units[vehicle]
	if !ok {
		u = &unit{}
		b.units[vehicle] = u
	}
	return u
}

// Send writes the batch's sentences on the vehicle's connection.
func (b *BGeigieSender) Send(ctx context.Context, vehicle string, samples []sample.Sample) error {
	token, ok := b.Tokens[vehicle]
	if !ok {
		return fmt.Errorf("bgeigie: no device token for %q", vehicle)
	}
	u := b.unit(vehicle)
	u.mu.Lock()
	defer u.mu.Unlock()

	var buf bytes.Buffer
	var bad []error
	total := u.total
	for _, s := range samples {
		line, err := Sentence(vehicle, s, total+s.Counts)
		if err != nil {
			bad = append(bad, err)
			continue
		}
		total += s.Counts
		buf.WriteString(line)
		buf.WriteString("\r\n")
	}
	written := len(samples) - len(bad)
	if written > 0 {
		err := b.Retry.do(ctx, &b.retries, func(ctx context.Context) error {
			return b.write(ctx, u, vehicle, token, buf.Bytes())
		})
		if err != nil {
			return fmt.Errorf("bgeigie %s: %w", vehicle, err)
		}
		u.total = total
	}
	if len(bad) > 0 {
		return &SendError{Acked: written, Failed: len(bad), Err: fmt.Errorf("bgeigie %s: %w", vehicle, errors.Join(bad...))}
	}
	return nil
}

// write makes one attempt: (re)connect if needed, then write everything.
func (b *BGeigieSender) write(ctx context.Context, u *unit, vehicle, token string, data []byte) error {
	if u.conn != nil {
		select {
		case <-u.gone:
			u.close()
		default:
		}
	}
	if u.conn == nil {
		if err := b.connect(ctx, u, vehicle, token); err != nil {
			return err
		}
	}
	conn := u.conn
	// Ending ctx unblocks a write stuck on a full socket buffer. The own
	// deadline is set first, so that the stop's always comes after it.
	conn.SetWriteDeadline(time.Now().Add(withDefault(b.WriteTimeout, 10*time.Second)))
	stop := context.AfterFunc(ctx, func() { conn.SetWriteDeadline(time.Unix(1, 0)) })
	_, err := conn.Write(data)
	stop()
	if err != nil {
		u.close()
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return &retryable{err: fmt.Errorf("write: %w", err)}
	}
	return nil
}

// connect dials and authenticates. A refused token is final, except
// "auth_error", which means the server could not check it just now.
func (b *BGeigieSender) connect(ctx context.Context, u *unit, vehicle, token string) error {
	timeout := withDefault(b.DialTimeout, 5*time.Second)
	d := net.Dialer{Timeout: timeout}
	conn, err := d.DialContext(ctx, "tcp", b.Addr)
	if err != nil {
		return connError(ctx, fmt.Errorf("connect %s: %w", b.Addr, err))
	}
	conn.SetDeadline(time.Now().Add(timeout))
	stop := context.AfterFunc(ctx, func() { conn.SetDeadline(time.Unix(1, 0)) })
	defer stop()
	br := bufio.NewReader(conn)
	if _, err := fmt.Fprintf(conn, "AUTH %s\r\n", token); err != nil {
		conn.Close()
		return connError(ctx, fmt.Errorf("send AUTH: %w", err))
	}
	answer, err := br.ReadString('\n')
	if err != nil {
		conn.Close()
		return connError(ctx, fmt.Errorf("read AUTH answer: %w", err))
	}
	answer = strings.TrimSpace(answer)
	switch {
	case answer == "OK "+vehicle:
	case strings.HasPrefix(answer, "OK "):
		// The server would refuse every sentence: they carry our serial.
		conn.Close()
		return fmt.Errorf("token belongs to device %q, not %q", strings.TrimPrefix(answer, "OK "), vehicle)
	case answer == "ERR auth_error":
		conn.Close()
		return &retryable{err: fmt.Errorf("server could not check the token: %s", answer)}
	default:
		conn.Close()
		return fmt.Errorf("server refused AUTH: %q", answer)
	}
	conn.SetDeadline(time.Time{})
	// The server writes nothing after OK: a read that ends means it hung up
	// (idle timeout, restart), and the next write must reconnect first.
	gone := make(chan struct{})
	go func() {
		_, _ = io.Copy(io.Discard, br)
		close(gone)
	}()
	u.conn, u.gone = conn, gone
	return nil
}

func (u *unit) close() {
	if u.conn != nil {
		u.conn.Close()
		u.conn = nil
	}
}

// Close closes every connection.
func (b *BGeigieSender) Close() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, u := range b.units {
		u.mu.Lock()
		u.close()
		u.mu.Unlock()
	}
	return nil
}
