package app_test

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/radtrack/radtrack/app"
	"github.com/radtrack/radtrack/auth"
	"github.com/radtrack/radtrack/geo"
	"github.com/radtrack/radtrack/ingest"
	"github.com/radtrack/radtrack/rules"
	"github.com/radtrack/radtrack/server"
	"github.com/radtrack/radtrack/store"
)

// runEmbedded starts a node on the embedded store in dir and returns it
// with a function that stops it and waits.
func runEmbedded(t *testing.T, dir string) (*app.Node, func()) {
	t.Helper()
	scfg := server.DefaultConfig()
	scfg.BcryptCost = bcrypt.MinCost
	cfg := app.Config{
		EmbeddedDir: dir, Server: scfg, Writer: ingest.DefaultWriterConfig(), Geo: geo.DefaultConfig(),
		Addr: "127.0.0.1:0", DeviceCacheTTL: time.Second, ShutdownTimeout: 10 * time.Second,
	}
	ctx, cancel := context.WithCancel(context.Background())
	n, err := app.New(ctx, cfg, slog.New(slog.NewTextHandler(io.Discard, nil)), nil)
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- n.Run(ctx) }()
	stopped := false
	stop := func() {
		if stopped {
			return
		}
		stopped = true
		cancel()
		if err := <-done; err != nil {
			t.Errorf("node stopped with: %v", err)
		}
	}
	t.Cleanup(stop)
	return n, stop
}

func TestEmbeddedStoreKeepsEverythingAcrossRestart(t *testing.T) {
	dir := t.TempDir()
	n, stop := runEmbedded(t, dir)
	ctx := context.Background()
	token, hash, _ := auth.NewDeviceToken()
	dev, err := n.Store.CreateDevice(ctx, store.Device{UID: "van-emb", Name: "Van emb"}, hash)
	if err != nil {
		t.Fatal(err)
	}
	fence, err := n.Store.CreateFence(ctx, store.Fence{Name: "Gate", Kind: "restricted",
		Feature: []byte(`{"type":"Feature","properties":{"name":"Gate","kind":"restricted","radius_m":50},"geometry":{"type":"Point","coordinates":[4.05,51.95]}}`)})
	if err != nil {
		t.Fatal(err)
	}
	// 30 acknowledged samples through the real HTTP path; the last 5 hot.
	t0 := time.Now().Add(-10 * time.Minute).Truncate(time.Second)
	var body string
	for i := range 30 {
		dose := 0.1
		if i >= 25 {
			dose = 2
		}
		body += sampleLine(t0.Add(time.Duration(i)*time.Second), 4.1, 51.9, dose)
	}
	postJSON(t, n.Addr(), token, body)
	stop()

	again, _ := runEmbedded(t, dir)
	track, err := again.Store.Track(ctx, store.TrackQuery{DeviceID: dev.ID, From: t0, To: t0.Add(time.Hour)})
	if err != nil || len(track) != 30 {
		t.Fatalf("after restart: %d samples (want every acknowledged 30), %v", len(track), err)
	}
	if f, err := again.Store.Fence(ctx, fence.ID); err != nil || f.Name != "Gate" {
		t.Fatalf("fence after restart: %+v, %v", f, err)
	}
	open, err := again.Store.ListAlarms(ctx, store.AlarmFilter{States: []rules.State{rules.StateRaised}})
	if err != nil || len(open) != 2 {
		t.Fatalf("open alarms after restart: %d (want notice + OIL3), %v", len(open), err)
	}
	// The restarted node continues those episodes instead of raising new ones.
	postJSON(t, again.Addr(), token, sampleLine(t0.Add(40*time.Second), 4.1, 51.9, 2))
	all, _ := again.Store.ListAlarms(ctx, store.AlarmFilter{})
	if len(all) != 2 {
		t.Fatalf("%d alarms after a hot sample on the restarted node, want still 2", len(all))
	}
}
