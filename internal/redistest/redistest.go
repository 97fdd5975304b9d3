// Package redistest runs a redis-server process of a test's own on a free
// loopback port, so that the test can freeze it (SIGSTOP: connections stay
// open and nothing answers, as with a hung server or a black-holed
// network) without touching the Redis other tests share.
package redistest

import (
	"bytes"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Server is one redis-server process.
type Server struct {
	t    testing.TB
	cmd  *exec.Cmd
	addr string
	out  *bytes.Buffer
	mu   sync.Mutex // guards out
	done chan struct{}
}

// Start runs redis-server without persistence on a free port and waits
// until it answers; t.Cleanup kills it. A machine without redis-server
// skips the test, or fails it under CI=true.
func Start(t testing.TB) *Server {
	t.Helper()
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("redis-server is not installed: scripts/test.sh installs it")
		}
		t.Skip("redis-server is not installed: run scripts/services.sh")
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	s := &Server{t: t, addr: "127.0.0.1:" + strconv.Itoa(port), out: &bytes.Buffer{}, done: make(chan struct{})}
	s.cmd = exec.Command(bin, "--port", strconv.Itoa(port), "--bind", "127.0.0.1",
		"--save", "", "--appendonly", "no", "--dir", t.TempDir())
	s.cmd.Stdout, s.cmd.Stderr = (*lockedBuffer)(s), (*lockedBuffer)(s)
	if err := s.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { _ = s.cmd.Wait(); close(s.done) }()
	t.Cleanup(s.kill)
	for deadline := time.Now().Add(10 * time.Second); ; {
		if s.ping() == nil {
			return s
		}
		select {
		case <-s.done:
			t.Fatalf("redis-server exited at start:\n%s", s.Output())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("redis-server did not answer within 10 s:\n%s", s.Output())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Addr is host:port.
func (s *Server) Addr() string { return s.addr }

// URL is the redis:// URL of database 0.
func (s *Server) URL() string { return "redis://" + s.addr + "/0" }

// Freeze stops the process (SIGSTOP): the kernel still accepts connections
// and buffers what clients send, nothing is answered.
func (s *Server) Freeze() { s.signal(syscall.SIGSTOP) }

// Thaw resumes a frozen process, which then runs what was buffered.
func (s *Server) Thaw() { s.signal(syscall.SIGCONT) }

func (s *Server) signal(sig syscall.Signal) {
	s.t.Helper()
	if err := s.cmd.Process.Signal(sig); err != nil {
		s.t.Fatalf("signal redis-server: %v", err)
	}
}

func (s *Server) kill() {
	_ = s.cmd.Process.Signal(syscall.SIGKILL)
	<-s.done
}

// ping speaks RESP by hand: the package needs no client library.
func (s *Server) ping() error {
	c, err := net.DialTimeout("tcp", s.addr, time.Second)
	if err != nil {
		return err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(time.Second))
	if _, err := c.Write([]byte("PING\r\n")); err != nil {
		return err
	}
	buf := make([]byte, 7)
	n, err := c.Read(buf)
	if err != nil {
		return err
	}
	if string(buf[:n]) != "+PONG\r\n" {
		return fmt.Errorf("PING answered %q", buf[:n])
	}
	return nil
}

// Output is what the process printed so far.
func (s *Server) Output() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.out.String()
}

type lockedBuffer Server

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.out.Write(p)
}
