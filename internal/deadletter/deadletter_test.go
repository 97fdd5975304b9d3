package deadletter

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/radtrack/radtrack/internal/framelog"
)

func listAll(t *testing.T, dir string) []Record {
	t.Helper()
	var out []Record
	if err := List(dir, func(r Record) error { out = append(out, r); return nil }); err != nil {
		t.Fatal(err)
	}
	return out
}

func TestAppendListAcrossRestart(t *testing.T) {
	dir := filepath.Join(t.TempDir(), DirName)
	if got := listAll(t, dir); len(got) != 0 {
		t.Fatalf("missing dir lists %d records", len(got))
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Fatal("List created the directory")
	}
	l, err := Open(dir, 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	if err := l.Append([]Record{
		{Kind: KindSample, SetAside: at, DeviceID: 7, Time: at.Add(-time.Hour), Field: "attributes", Reason: "22P05", Payload: json.RawMessage(`{"d":7}`)},
		{Kind: KindSample, SetAside: at, DeviceID: 8, Time: at.Add(-time.Minute), Reason: "x", Payload: json.RawMessage(`{"d":8}`)},
	}); err != nil {
		t.Fatal(err)
	}
	if err := l.Append([]Record{{Kind: KindFrame, SetAside: at, Reason: "unreadable", Raw: []byte{0, 1, 2}}}); err != nil {
		t.Fatal(err)
	}
	if l.Appended() != 3 || l.Bytes() == 0 {
		t.Fatalf("appended %d, %d bytes", l.Appended(), l.Bytes())
	}
	l.Close()
	reopened, err := Open(dir, 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	defer reopened.Close()
	got := listAll(t, dir)
	if len(got) != 3 || got[0].DeviceID != 7 || got[0].Field != "attributes" || string(got[0].Payload) != `{"d":7}` ||
		!got[1].Time.Equal(at.Add(-time.Minute)) || got[2].Kind != KindFrame || string(got[2].Raw) != "\x00\x01\x02" {
		t.Fatalf("listed after restart: %+v", got)
	}
	if reopened.Bytes() != l.Bytes() {
		t.Fatalf("reopened log holds %d bytes, want %d", reopened.Bytes(), l.Bytes())
	}
	if err := Remove(dir); err != nil {
		t.Fatal(err)
	}
	if got := listAll(t, dir); len(got) != 0 {
		t.Fatalf("%d records after Remove", len(got))
	}
}

func TestFullLogRefusesWholeFrames(t *testing.T) {
	dir := t.TempDir()
	l, err := Open(dir, 300)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	rec := Record{Kind: KindSample, Reason: "refused", Payload: json.RawMessage(`{"a":"` + string(make([]byte, 0)) + `"}`)}
	if err := l.Append([]Record{rec}); err != nil {
		t.Fatal(err)
	}
	big := make([]Record, 5)
	for i := range big {
		big[i] = rec
	}
	if err := l.Append(big); !errors.Is(err, framelog.ErrFull) {
		t.Fatalf("append over the bound: %v, want ErrFull", err)
	}
	if got := listAll(t, dir); len(got) != 1 {
		t.Fatalf("%d records after a refused append, want 1 (nothing of the refused frame)", len(got))
	}
}

// FuzzList: whatever bytes a damaged disk leaves in a dead-letter segment,
// List neither panics nor fails, and a record appended afterwards is
// listed.
func FuzzList(f *testing.F) {
	dir := f.TempDir()
	l, err := Open(dir, 1<<20)
	if err != nil {
		f.Fatal(err)
	}
	_ = l.Append([]Record{{Kind: KindSample, DeviceID: 1, Reason: "r", Payload: json.RawMessage(`{}`)}})
	l.Close()
	seg, err := os.ReadFile(filepath.Join(dir, "000000000001.seg"))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(seg)
	f.Add(seg[:len(seg)-3])
	f.Add([]byte{4, 0, 0, 0, 0, 0, 0, 0, 'n', 'u', 'l', 'l'})
	f.Fuzz(func(t *testing.T, segment []byte) {
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, "000000000001.seg"), segment, 0o640); err != nil {
			t.Fatal(err)
		}
		if err := List(dir, func(Record) error { return nil }); err != nil {
			t.Fatalf("List of a damaged segment: %v", err)
		}
		l, err := Open(dir, 1<<30)
		if err != nil {
			t.Fatal(err)
		}
		defer l.Close()
		if err := l.Append([]Record{{Kind: KindSample, DeviceID: 42, Reason: "after"}}); err != nil {
			t.Fatal(err)
		}
		var found bool
		_ = List(dir, func(r Record) error { found = found || (r.DeviceID == 42 && r.Reason == "after"); return nil })
		if !found {
			t.Fatal("a record appended after the damage is not listed")
		}
	})
}
