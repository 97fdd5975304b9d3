package sqlitestore_test

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/radtrack/radtrack/store"
	"github.com/radtrack/radtrack/store/sqlitestore"
	"github.com/radtrack/radtrack/store/storetest"
)

const killDirEnv = "RADTRACK_SQLITE_KILL_DIR"

// TestAckedSamplesSurviveKill writes batches in a child process that prints
// how many samples WriteSamples has acknowledged, kills it with SIGKILL in
// the middle of writing, and checks that every acknowledged sample is in
// the database. (Power loss is SyncFull's job and cannot be tested here.)
func TestAckedSamplesSurviveKill(t *testing.T) {
	if dir := os.Getenv(killDirEnv); dir != "" {
		writeUntilKilled(dir)
		return
	}
	if testing.Short() {
		t.Skip("spawns a writer process")
	}
	dir := t.TempDir()
	cmd := exec.Command(os.Args[0], "-test.run=^TestAckedSamplesSurviveKill$")
	cmd.Env = append(os.Environ(), killDirEnv+"="+dir)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	acked, lines := 0, bufio.NewScanner(out)
	for lines.Scan() {
		n, ok := strings.CutPrefix(lines.Text(), "acked ")
		if !ok {
			continue
		}
		if acked, err = strconv.Atoi(n); err != nil {
			t.Fatal(err)
		}
		if acked >= 20_000 {
			break
		}
	}
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()
	if acked < 20_000 {
		t.Fatalf("writer acknowledged only %d samples before it stopped", acked)
	}

	s := open(t, dir)
	d, err := s.DeviceByUID(context.Background(), "veh-kill")
	if err != nil {
		t.Fatal(err)
	}
	track, err := s.Track(context.Background(), store.TrackQuery{DeviceID: d.ID, From: storetest.Base, To: storetest.Base.Add(1000 * time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	if len(track) < acked {
		t.Fatalf("after SIGKILL %d samples stored, %d were acknowledged", len(track), acked)
	}
	t.Logf("acknowledged %d, stored %d", acked, len(track))
}

// writeUntilKilled is the child: it writes 1000-sample batches forever and
// reports each acknowledgement on stdout.
func writeUntilKilled(dir string) {
	ctx := context.Background()
	s, err := sqlitestore.Open(ctx, sqlitestore.Config{Dir: dir})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	d, err := s.CreateDevice(ctx, store.Device{UID: "veh-kill", Name: "kill"}, nil)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	for n := 0; ; n += 1000 {
		if err := s.WriteSamples(ctx, storetest.Samples(d.ID, storetest.Base.Add(time.Duration(n)*time.Second), 1000)); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(2)
		}
		fmt.Printf("acked %d\n", n+1000)
	}
}
