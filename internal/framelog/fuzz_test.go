package framelog

import (
	"context"
	"os"
	"path/filepath"
	"testing"
)

// FuzzReplay feeds arbitrary bytes as a segment left on disk (a crash, a
// bad disk): Open and Replay must neither panic nor hand out a frame that
// was not written whole, and a frame appended afterwards must come back.
func FuzzReplay(f *testing.F) {
	good := func(frames ...string) []byte {
		dir := f.TempDir()
		l, err := Open(dir, 1<<20)
		if err != nil {
			f.Fatal(err)
		}
		for _, fr := range frames {
			if err := l.Append([]byte(fr)); err != nil {
				f.Fatal(err)
			}
		}
		l.Close()
		b, err := os.ReadFile(filepath.Join(dir, "000000000001.seg"))
		if err != nil {
			f.Fatal(err)
		}
		return b
	}
	f.Add(good("a", "bc"))
	f.Add(good(`{"event":{"type":"raised"}}`)[:12])
	f.Add([]byte{255, 255, 255, 255, 0, 0, 0, 0})
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, segment []byte) {
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, "000000000001.seg"), segment, 0o640); err != nil {
			t.Fatal(err)
		}
		l, err := Open(dir, 1<<30)
		if err != nil {
			t.Fatal(err)
		}
		defer l.Close()
		if _, err := l.Replay(context.Background(), func(context.Context, []byte) error { return nil }); err != nil {
			t.Fatalf("replay of a damaged segment: %v", err)
		}
		if !l.Empty() {
			t.Fatal("a consumed segment was kept")
		}
		if err := l.Append([]byte("after")); err != nil {
			t.Fatal(err)
		}
		var got []string
		if _, err := l.Replay(context.Background(), func(_ context.Context, p []byte) error {
			got = append(got, string(p))
			return nil
		}); err != nil || len(got) != 1 || got[0] != "after" {
			t.Fatalf("frame appended after the damage: got %q err %v", got, err)
		}
	})
}
