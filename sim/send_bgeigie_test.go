package sim

import (
	"bufio"
	"context"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/radtrack/radtrack/ingest/bgeigie"
)

// fakeUnitServer is a loopback bGeigie listener: it answers AUTH with
// answer and records every line after it, per connection.
type fakeUnitServer struct {
	ln     net.Listener
	answer string
	mu     sync.Mutex
	conns  [][]string // lines per connection, AUTH first
	closeC chan struct{}
}

func newFakeUnitServer(t *testing.T, answer string, hangUpAfter int) *fakeUnitServer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	f := &fakeUnitServer{ln: ln, answer: answer}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			f.mu.Lock()
			idx := len(f.conns)
			f.conns = append(f.conns, nil)
			f.mu.Unlock()
			go f.serve(c, idx, hangUpAfter)
		}
	}()
	return f
}

func (f *fakeUnitServer) serve(c net.Conn, idx, hangUpAfter int) {
	defer c.Close()
	br := bufio.NewReader(c)
	for n := 0; ; n++ {
		line, err := br.ReadString('\n')
		if err != nil {
			return
		}
		f.mu.Lock()
		f.conns[idx] = append(f.conns[idx], line)
		f.mu.Unlock()
		if n == 0 {
			c.Write([]byte(f.answer + "\n"))
			if !strings.HasPrefix(f.answer, "OK") {
				return
			}
		}
		if hangUpAfter > 0 && n == hangUpAfter {
			return // as the server's idle timeout or a restart would
		}
	}
}

func (f *fakeUnitServer) lines() [][]string {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := make([][]string, len(f.conns))
	for i, c := range f.conns {
		out[i] = append([]string(nil), c...)
	}
	return out
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(3 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestBGeigieSenderAuthThenSentences(t *testing.T) {
	srv := newFakeUnitServer(t, "OK sim-003", 0)
	b := &BGeigieSender{Addr: srv.ln.Addr().String(), Tokens: map[string]string{"sim-003": "tok-3"}}
	defer b.Close()
	samples := patrolSamples(t, 6, 5*time.Second)
	if err := b.Send(context.Background(), "sim-003", samples[:4]); err != nil {
		t.Fatal(err)
	}
	if err := b.Send(context.Background(), "sim-003", samples[4:]); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "7 lines", func() bool { l := srv.lines(); return len(l) == 1 && len(l[0]) == 7 })
	lines := srv.lines()[0]
	if lines[0] != "AUTH tok-3\r\n" {
		t.Fatalf("first line %q, want AUTH", lines[0])
	}
	total := 0.0
	for i, line := range lines[1:] {
		if !strings.HasSuffix(line, "\r\n") || !strings.HasPrefix(line, "$BNRDD,sim-003,") {
			t.Errorf("line %d: %q", i, line)
		}
		s, err := bgeigie.ParseSentence([]byte(line))
		if err != nil {
			t.Fatalf("line %d %q: %v", i, line, err)
		}
		total += samples[i].Counts
		if s.Counts != samples[i].Counts || s.Attributes["total_counts"] != int64(total) {
			t.Errorf("line %d: counts %v total %v", i, s.Counts, s.Attributes["total_counts"])
		}
	}
}

func TestBGeigieSenderReconnects(t *testing.T) {
	srv := newFakeUnitServer(t, "OK v", 1) // hangs up after one sentence
	b := &BGeigieSender{Addr: srv.ln.Addr().String(), Tokens: map[string]string{"v": "t"}, Retry: Retry{Base: time.Millisecond}}
	defer b.Close()
	samples := patrolSamples(t, 2, 5*time.Second)
	if err := b.Send(context.Background(), "v", samples[:1]); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the hang-up", func() bool {
		u := b.unit("v")
		select {
		case <-u.gone:
			return true
		default:
			return false
		}
	})
	if err := b.Send(context.Background(), "v", samples[1:]); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "a second connection", func() bool { l := srv.lines(); return len(l) == 2 && len(l[1]) == 2 })
	if l := srv.lines()[1]; l[0] != "AUTH t\r\n" || !strings.HasPrefix(l[1], "$BNRDD,v,") {
		t.Errorf("second connection: %q", l)
	}
}

func TestBGeigieSenderRefusedToken(t *testing.T) {
	srv := newFakeUnitServer(t, "ERR bad_credential", 0)
	b := &BGeigieSender{Addr: srv.ln.Addr().String(), Tokens: map[string]string{"v": "t"}, Retry: Retry{Base: time.Millisecond}}
	defer b.Close()
	err := b.Send(context.Background(), "v", patrolSamples(t, 1, 5*time.Second))
	if err == nil || !strings.Contains(err.Error(), "bad_credential") || b.Retries() != 0 {
		t.Fatalf("err %v after %d retries, want a final refusal", err, b.Retries())
	}
	// A 2 s count cannot be a bGeigie sentence.
	err = b.Send(context.Background(), "v", patrolSamples(t, 1, 2*time.Second))
	if err == nil || !strings.Contains(err.Error(), "5 s") {
		t.Errorf("err %v", err)
	}
}
