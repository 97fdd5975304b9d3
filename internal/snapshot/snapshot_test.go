package snapshot_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/radtrack/radtrack/internal/pgtest"
	"github.com/radtrack/radtrack/internal/snapshot"
	"github.com/radtrack/radtrack/rules"
	"github.com/radtrack/radtrack/store"
	"github.com/radtrack/radtrack/store/pgstore"
)

// Take reads every credential hash, user, unexpired session, API token,
// rule and fence; Write and Load keep them whole, hashes included.
func TestTakeWriteLoad(t *testing.T) {
	ctx := context.Background()
	pg, err := pgstore.Open(ctx, pgstore.Config{URL: pgtest.NewDatabase(t)})
	if err != nil {
		t.Fatal(err)
	}
	defer pg.Close()
	dev, err := pg.CreateDevice(ctx, store.Device{UID: "van-1", Name: "Van 1", CPMPerUSvH: 334}, []byte("device-hash"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := pg.CreateDevice(ctx, store.Device{UID: "legacy-1", Name: "Legacy", CPMPerUSvH: 334, LegacyIDOnly: true}, nil); err != nil {
		t.Fatal(err)
	}
	u, err := pg.CreateUser(ctx, store.User{Username: "ops", Role: "operator", PasswordHash: "$2a$bcrypt"})
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	if err := pg.CreateSession(ctx, []byte("live-session"), u.ID, now.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if err := pg.CreateSession(ctx, []byte("old-session"), u.ID, now.Add(-time.Hour)); err != nil {
		t.Fatal(err)
	}
	if _, err := pg.CreateAPIToken(ctx, u.ID, "grafana", []byte("api-hash")); err != nil {
		t.Fatal(err)
	}
	if _, err := pg.SeedRules(ctx, rules.DefaultRules()); err != nil {
		t.Fatal(err)
	}
	s, err := snapshot.Take(ctx, pg, pg.Pool(), pg.Timescale(), now)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), snapshot.FileName)
	if err := snapshot.Write(path, s); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("snapshot file %v %v, want mode 0600", fi.Mode(), err)
	}
	got, err := snapshot.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Devices) != 2 || got.Devices[0].ID != dev.ID || !bytes.Equal(got.Devices[0].TokenHash, []byte("device-hash")) || got.Devices[1].TokenHash != nil {
		t.Errorf("devices: %+v", got.Devices)
	}
	if len(got.Users) != 1 || got.Users[0].PasswordHash != "$2a$bcrypt" || got.Users[0].Role != "operator" {
		t.Errorf("users: %+v", got.Users)
	}
	if len(got.Sessions) != 1 || !bytes.Equal(got.Sessions[0].Hash, []byte("live-session")) {
		t.Errorf("sessions: %+v, want only the unexpired one", got.Sessions)
	}
	if len(got.Tokens) != 1 || !bytes.Equal(got.Tokens[0].Hash, []byte("api-hash")) {
		t.Errorf("tokens: %+v", got.Tokens)
	}
	if len(got.Rules) != len(rules.DefaultRules()) || len(got.Rules) == 0 {
		t.Errorf("%d rules, want the %d defaults", len(got.Rules), len(rules.DefaultRules()))
	}
	if entries, _ := os.ReadDir(filepath.Dir(path)); len(entries) != 1 {
		t.Errorf("%d files beside the snapshot, want none (no temporary file left)", len(entries)-1)
	}
}

func TestLoadRefusesWhatItCannotTrust(t *testing.T) {
	dir := t.TempDir()
	if _, err := snapshot.Load(filepath.Join(dir, "none.json")); !errors.Is(err, snapshot.ErrNone) {
		t.Fatalf("missing file: %v, want ErrNone", err)
	}
	for name, body := range map[string]string{"torn": `{"format":1,"devices":[`, "future": `{"format":2}`} {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		if _, err := snapshot.Load(p); err == nil || errors.Is(err, snapshot.ErrNone) {
			t.Errorf("%s snapshot loaded: %v", name, err)
		}
	}
}
