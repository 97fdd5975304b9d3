package server_test

import (
	"errors"
	"io"
	"net"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/radtrack/radtrack/server"
)

// One address holds at most the cap of connections; more are closed at
// once, other addresses are not affected, and a closed connection gives
// its slot back.
func TestLimitConnsPerIPClosesConnectionsOverTheCap(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var refusedCount atomic.Int32
	limited := server.LimitConnsPerIP(ln, 3, func(ip string) {
		if ip == "127.0.0.31" {
			refusedCount.Add(1)
		}
	})
	srv := server.NewHTTPServer("", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") }))
	go srv.Serve(limited)
	t.Cleanup(func() { srv.Close() })
	addr := ln.Addr().String()
	dial := func(from string) net.Conn {
		d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(from)}, Timeout: 5 * time.Second}
		c, err := d.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		return c
	}
	// hungUp reports whether the server closed c within d.
	hungUp := func(c net.Conn, d time.Duration) bool {
		c.SetReadDeadline(time.Now().Add(d))
		_, err := c.Read(make([]byte, 1))
		var ne net.Error
		return !(err != nil && errors.As(err, &ne) && ne.Timeout())
	}
	idle := []net.Conn{dial("127.0.0.31"), dial("127.0.0.31"), dial("127.0.0.31")}
	extra := []net.Conn{dial("127.0.0.31"), dial("127.0.0.31")}
	for i, c := range extra {
		if !hungUp(c, 2*time.Second) {
			t.Fatalf("connection %d over the cap still open", i+4)
		}
	}
	if got := refusedCount.Load(); got != 2 {
		t.Fatalf("refused called %d times, want 2", got)
	}
	for i, c := range idle {
		if hungUp(c, 50*time.Millisecond) {
			t.Fatalf("connection %d within the cap closed", i+1)
		}
	}
	// Another address is served while the first holds its three.
	client := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{DialContext: (&net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP("127.0.0.32")}}).DialContext}}
	resp, err := client.Get("http://" + addr + "/")
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("another address: %v %v", resp, err)
	}
	resp.Body.Close()
	// A slot given back is usable again (the server notices the close
	// when its read fails, so allow it a moment).
	idle[0].Close()
	deadline := time.Now().Add(5 * time.Second)
	for {
		c := dial("127.0.0.31")
		if !hungUp(c, 100*time.Millisecond) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("a closed connection's slot was not given back")
		}
	}
}
