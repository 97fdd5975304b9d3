package app_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"testing"
	"time"

	"github.com/radtrack/radtrack/app"
	"github.com/radtrack/radtrack/geo"
	"github.com/radtrack/radtrack/ingest"
	"github.com/radtrack/radtrack/internal/pgtest"
	"github.com/radtrack/radtrack/server"
	"github.com/radtrack/radtrack/store/pgstore"
	"golang.org/x/crypto/bcrypt"
)

// A node stops promptly while a bGeigie unit is streaming: its connection
// must not hold the shutdown for the idle timeout (a minute here).
func TestShutdownWhileABGeigieStreams(t *testing.T) {
	scfg := server.DefaultConfig()
	scfg.BcryptCost = bcrypt.MinCost
	cfg := app.Config{
		DB: pgstore.Config{URL: pgtest.NewDatabase(t)}, Server: scfg, Writer: ingest.DefaultWriterConfig(), Geo: geo.DefaultConfig(),
		Addr: "127.0.0.1:0", BGeigieAddr: "127.0.0.1:0", BGeigieIdle: time.Minute, BGeigieMaxConns: 4,
		DeviceCacheTTL: time.Second, ShutdownTimeout: 10 * time.Second, SpoolDir: t.TempDir(), SpoolMaxBytes: 1 << 20,
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	n, err := app.New(ctx, cfg, slog.New(slog.NewTextHandler(io.Discard, nil)), nil)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- n.Run(ctx) }()
	token := addDevice(t, n, "2001", false)
	conn, err := net.Dial("tcp", n.BGeigieAddr())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprintf(conn, "AUTH %s\r\n", token)
	if reply, err := bufio.NewReader(conn).ReadString('\n'); err != nil || reply != "OK 2001\n" {
		t.Fatalf("AUTH reply %q, %v", reply, err)
	}
	// One sentence every few milliseconds, as a replay sends them, until
	// the server closes the connection.
	go func() {
		start := time.Now().UTC().Add(-time.Hour)
		for i := 0; ; i++ {
			if _, err := conn.Write([]byte(bgeigieSentence("2001", start.Add(time.Duration(i)*5*time.Second)))); err != nil {
				return
			}
			time.Sleep(2 * time.Millisecond)
		}
	}()
	waitFor(t, "samples streaming in", func() bool { return count(t, n, "SELECT count(*) FROM measurements") > 50 })
	cancel()
	stopping := time.Now()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("node stopped with: %v", err)
		}
		t.Logf("stopped %s after the cancel while a unit was streaming", time.Since(stopping).Round(time.Millisecond))
	case <-time.After(15 * time.Second):
		t.Fatal("node still stopping 15 s after the cancel: the streaming bGeigie connection holds it")
	}
}

// bgeigieSentence is a valid $BNRDD sentence (checksum included).
func bgeigieSentence(unit string, at time.Time) string {
	body := fmt.Sprintf("BNRDD,%s,%s,30,2,1234,A,5157.0000,N,00403.0000,E,10.0,A,9,1", unit, at.Format("2006-01-02T15:04:05Z"))
	var sum byte
	for i := 0; i < len(body); i++ {
		sum ^= body[i]
	}
	return fmt.Sprintf("$%s*%02X\r\n", body, sum)
}
