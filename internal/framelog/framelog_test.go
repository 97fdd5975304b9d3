package framelog

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
)

// collect consumes frames into got until failAt frames were taken (then
// it fails once per call).
type collector struct {
	got    []string
	failAt int // -1: never
}

func (c *collector) consume(_ context.Context, p []byte) error {
	if c.failAt >= 0 && len(c.got) >= c.failAt {
		return errors.New("sink down")
	}
	c.got = append(c.got, string(p))
	return nil
}

func appendAll(t *testing.T, l *Log, frames ...string) {
	t.Helper()
	for _, f := range frames {
		if err := l.Append([]byte(f)); err != nil {
			t.Fatal(err)
		}
	}
}

func TestReplayInOrderAndResumeAfterFailure(t *testing.T) {
	l, err := Open(t.TempDir(), 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	appendAll(t, l, "a", "b", "c")
	c := &collector{failAt: 2}
	n, err := l.Replay(context.Background(), c.consume)
	if err == nil || n != 2 || !slices.Equal(c.got, []string{"a", "b"}) {
		t.Fatalf("replay into a sink failing at the third frame: n=%d err=%v got=%q", n, err, c.got)
	}
	if l.Empty() {
		t.Fatal("log empty although a frame was not consumed")
	}
	appendAll(t, l, "d") // goes to a new segment: the first one was closed for replay
	c.failAt = -1
	if n, err := l.Replay(context.Background(), c.consume); err != nil || n != 2 {
		t.Fatalf("second replay: n=%d err=%v", n, err)
	}
	if want := []string{"a", "b", "c", "d"}; !slices.Equal(c.got, want) {
		t.Fatalf("frames %q, want %q (each once, in order)", c.got, want)
	}
	if !l.Empty() || l.Bytes() != 0 {
		t.Fatalf("after a full replay: empty=%v bytes=%d", l.Empty(), l.Bytes())
	}
}

// A crash in the middle of a replay (the process dies after consuming some
// frames) must not hand those frames out again after a restart.
func TestCursorSurvivesRestart(t *testing.T) {
	dir := t.TempDir()
	l, err := Open(dir, 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	appendAll(t, l, "1", "2", "3", "4")
	c := &collector{failAt: 3}
	if n, _ := l.Replay(context.Background(), c.consume); n != 3 {
		t.Fatalf("consumed %d frames, want 3", n)
	}
	// No Close: as after kill -9.
	reopened, err := Open(dir, 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	c2 := &collector{failAt: -1}
	if n, err := reopened.Replay(context.Background(), c2.consume); err != nil || !slices.Equal(c2.got, []string{"4"}) {
		t.Fatalf("after restart: n=%d err=%v got=%q, want only the unconsumed frame", n, err, c2.got)
	}
	// The cursor names segment 1, now deleted: a new segment must not take
	// that id, or the stale cursor would skip its first frames.
	appendAll(t, reopened, "5", "6")
	again, err := Open(dir, 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	c3 := &collector{failAt: -1}
	if _, err := again.Replay(context.Background(), c3.consume); err != nil || !slices.Equal(c3.got, []string{"5", "6"}) {
		t.Fatalf("frames after the log emptied: got %q err %v", c3.got, err)
	}
}

func TestTornTailIsIgnored(t *testing.T) {
	dir := t.TempDir()
	l, err := Open(dir, 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	appendAll(t, l, "kept")
	f, err := os.OpenFile(filepath.Join(dir, "000000000001.seg"), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = f.Write([]byte{200, 0, 0, 0, 1, 2, 3, 4, 'x'}) // half a frame: a crash mid-append
	f.Close()
	reopened, err := Open(dir, 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	c := &collector{failAt: -1}
	if n, err := reopened.Replay(context.Background(), c.consume); err != nil || n != 1 || c.got[0] != "kept" {
		t.Fatalf("replay: n=%d err=%v got=%q", n, err, c.got)
	}
}

func TestCorruptCursorReplaysSegmentAgain(t *testing.T) {
	dir := t.TempDir()
	l, err := Open(dir, 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	appendAll(t, l, "1", "2")
	c := &collector{failAt: 1}
	_, _ = l.Replay(context.Background(), c.consume)
	if err := os.WriteFile(filepath.Join(dir, cursorFile), []byte("garbage-garbage-garb"), 0o640); err != nil {
		t.Fatal(err)
	}
	reopened, err := Open(dir, 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	c2 := &collector{failAt: -1}
	if _, err := reopened.Replay(context.Background(), c2.consume); err != nil || !slices.Equal(c2.got, []string{"1", "2"}) {
		t.Fatalf("with an unreadable cursor: got %q err %v, want the whole segment again", c2.got, err)
	}
}

func TestFullLogRefuses(t *testing.T) {
	l, err := Open(t.TempDir(), 20)
	if err != nil {
		t.Fatal(err)
	}
	appendAll(t, l, "0123456789") // 18 bytes with the header
	if err := l.Append([]byte("x")); !errors.Is(err, ErrFull) {
		t.Fatalf("append over the bound: %v, want ErrFull", err)
	}
}

func TestManySegments(t *testing.T) {
	dir := t.TempDir()
	l, err := Open(dir, 1<<30)
	if err != nil {
		t.Fatal(err)
	}
	big := make([]byte, 3<<20)
	var want []string
	for i := range 12 { // 36 MiB: three segments
		copy(big, fmt.Sprintf("%04d", i))
		appendAll(t, l, string(big))
		want = append(want, fmt.Sprintf("%04d", i))
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) < 3 {
		t.Fatalf("%d files, want several segments", len(entries))
	}
	var got []string
	if _, err := l.Replay(context.Background(), func(_ context.Context, p []byte) error {
		got = append(got, string(p[:4]))
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got, want) {
		t.Fatalf("frames %q, want %q", got, want)
	}
}

// Scan reads without consuming, without creating the directory, and stops
// a segment at a torn frame like Replay.
func TestScanLooksWithoutConsuming(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "log")
	if err := Scan(dir, func([]byte) error { t.Fatal("frame in a missing dir"); return nil }); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Fatal("Scan created the directory")
	}
	l, err := Open(dir, 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"a", "bb", "ccc"} {
		if err := l.Append([]byte(p)); err != nil {
			t.Fatal(err)
		}
	}
	l.Close()
	f, err := os.OpenFile(filepath.Join(dir, "000000000001.seg"), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = f.Write([]byte{9, 0, 0, 0, 1, 2}) // a torn frame
	f.Close()
	for range 2 {
		var got []string
		if err := Scan(dir, func(p []byte) error { got = append(got, string(p)); return nil }); err != nil {
			t.Fatal(err)
		}
		if strings.Join(got, ",") != "a,bb,ccc" {
			t.Fatalf("Scan = %q, want the three whole frames, twice", got)
		}
	}
}

// Two replays at once (the writer's loop and a manual one): each frame is
// consumed once, and neither fails on a segment the other removed.
func TestConcurrentReplaysConsumeEachFrameOnce(t *testing.T) {
	l, err := Open(t.TempDir(), 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 200 {
		appendAll(t, l, fmt.Sprint(i))
	}
	var (
		mu  sync.Mutex
		got = map[string]int{}
	)
	consume := func(_ context.Context, p []byte) error {
		mu.Lock()
		defer mu.Unlock()
		got[string(p)]++
		return nil
	}
	errs := make(chan error, 4)
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			_, err := l.Replay(context.Background(), consume)
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatalf("concurrent replay: %v", err)
		}
	}
	if len(got) != 200 {
		t.Fatalf("%d distinct frames consumed, want 200", len(got))
	}
	for f, n := range got {
		if n != 1 {
			t.Fatalf("frame %q consumed %d times", f, n)
		}
	}
}
