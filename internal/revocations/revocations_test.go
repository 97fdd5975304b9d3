package revocations

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/radtrack/radtrack/store"
)

var t0 = time.Date(2026, 11, 22, 8, 0, 0, 0, time.UTC)

func hashOf(s string) []byte { h := sha256.Sum256([]byte(s)); return h[:] }

func session(name string, at time.Duration) Record {
	return Record{SessionHash: hashOf(name), At: t0.Add(at)}
}

func TestRecordsSurviveReopenUntilRemoved(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(dir, 10)
	if err != nil {
		t.Fatal(err)
	}
	uid := int64(7)
	tok := Record{TokenID: 42, TokenHash: hashOf("rtu_x"), At: t0.Add(time.Second),
		Audit: &store.AuditEntry{UserID: &uid, Username: "olga", Action: "token.revoke", Target: "token/42"}}
	for _, r := range []Record{session("a", 0), tok, session("b", 2*time.Second)} {
		if err := s.Add(r); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Add(session("a", time.Hour)); err != nil || s.Len() != 3 {
		t.Fatalf("adding a held credential again: %v, len %d, want 3", err, s.Len())
	}

	s, err = Open(dir, 10) // a restart
	if err != nil {
		t.Fatal(err)
	}
	if !s.Holds(hashOf("a"), 0) || !s.Holds(hashOf("b"), 0) || !s.Holds(nil, 42) || !s.Holds(hashOf("rtu_x"), 0) {
		t.Fatal("a record was lost across a reopen")
	}
	if s.Holds(hashOf("c"), 0) || s.Holds(nil, 43) || s.Holds(nil, 0) {
		t.Fatal("holds a credential never added")
	}
	p := s.Pending()
	if len(p) != 3 || !bytes.Equal(p[0].SessionHash, hashOf("a")) || p[1].TokenID != 42 || p[1].Audit == nil || p[1].Audit.Username != "olga" || *p[1].Audit.UserID != 7 {
		t.Fatalf("pending = %+v", p)
	}

	if err := s.Remove(p[0], p[1]); err != nil {
		t.Fatal(err)
	}
	s, err = Open(dir, 10)
	if err != nil {
		t.Fatal(err)
	}
	if s.Len() != 1 || !s.Holds(hashOf("b"), 0) || s.Holds(hashOf("a"), 0) || s.Holds(nil, 42) {
		t.Fatalf("after removing two: %+v", s.Pending())
	}
	if err := s.Remove(s.Pending()...); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, fileName)); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("an empty set leaves no file: %v", err)
	}
	if s, err = Open(dir, 10); err != nil || s.Len() != 0 {
		t.Fatalf("reopen empty: %d, %v", s.Len(), err)
	}
}

func TestTornLastFrameIsDroppedAndAppendsContinue(t *testing.T) {
	dir := t.TempDir()
	s, _ := Open(dir, 10)
	_ = s.Add(session("a", 0))
	_ = s.Add(session("b", time.Second))
	path := filepath.Join(dir, fileName)
	data, _ := os.ReadFile(path)
	if err := os.WriteFile(path, data[:len(data)-5], 0o640); err != nil { // crash mid-append of "b"
		t.Fatal(err)
	}
	s, err := Open(dir, 10)
	if err != nil {
		t.Fatal(err)
	}
	if s.Len() != 1 || !s.Holds(hashOf("a"), 0) {
		t.Fatalf("after a torn frame: %+v", s.Pending())
	}
	if err := s.Add(session("c", 2*time.Second)); err != nil {
		t.Fatal(err)
	}
	s, _ = Open(dir, 10)
	if s.Len() != 2 || !s.Holds(hashOf("c"), 0) {
		t.Fatalf("an append after a torn frame was lost: %+v", s.Pending())
	}
}

func TestFullAndInvalid(t *testing.T) {
	s, _ := Open(t.TempDir(), 2)
	_ = s.Add(session("a", 0))
	_ = s.Add(session("b", 0))
	if err := s.Add(session("c", 0)); !errors.Is(err, ErrFull) || s.Holds(hashOf("c"), 0) {
		t.Fatalf("third record in a set of two: %v", err)
	}
	for _, r := range []Record{
		{At: t0},
		{SessionHash: []byte("short"), At: t0},
		{SessionHash: hashOf("a"), TokenID: 3, At: t0},
		{TokenID: 3, TokenHash: []byte("short"), At: t0},
	} {
		if err := InMemory(5).Add(r); err == nil {
			t.Errorf("Add(%+v) accepted an invalid record", r)
		}
	}
	m := InMemory(5)
	if err := m.Add(Record{TokenID: 9, At: t0}); err != nil || !m.Holds(nil, 9) || m.Durable() {
		t.Fatalf("in-memory set: %v", err)
	}
}

func FuzzDecode(f *testing.F) {
	var file []byte
	for _, r := range []Record{session("a", 0), {TokenID: 5, TokenHash: hashOf("t"), At: t0}} {
		frame, _ := encode(r)
		file = append(file, frame...)
	}
	f.Add(file)
	f.Add(file[:len(file)-3])
	f.Add([]byte{})
	f.Add([]byte{0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0})
	f.Fuzz(func(t *testing.T, data []byte) {
		recs, good := Decode(data)
		if good < 0 || good > len(data) {
			t.Fatalf("good = %d of %d bytes", good, len(data))
		}
		var again []byte
		for _, r := range recs {
			if err := r.Validate(); err != nil {
				t.Fatalf("decoded an invalid record %+v: %v", r, err)
			}
			frame, err := encode(r)
			if err != nil {
				t.Fatal(err)
			}
			again = append(again, frame...)
		}
		// What decodes, re-encoded, decodes to the same records.
		recs2, good2 := Decode(again)
		if len(recs2) != len(recs) || good2 != len(again) {
			t.Fatalf("re-decoded %d records (%d bytes), want %d (%d)", len(recs2), good2, len(recs), len(again))
		}
	})
}

// FuzzDecodePayload frames arbitrary payloads with a correct checksum, so
// the record decoding behind the checksum is exercised too.
func FuzzDecodePayload(f *testing.F) {
	f.Add([]byte(`{"session_hash":"` + "YWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWE=" + `","at":"2026-11-22T08:00:00Z"}`))
	f.Add([]byte(`{"token_id":5,"at":"2026-11-22T08:00:00Z","audit":{"action":"token.revoke"}}`))
	f.Add([]byte(`{"token_id":-1}`))
	f.Add([]byte(`null`))
	f.Fuzz(func(t *testing.T, payload []byte) {
		if len(payload) > maxRecordBytes {
			return
		}
		frame := binary.LittleEndian.AppendUint32(nil, uint32(len(payload)))
		frame = binary.LittleEndian.AppendUint32(frame, crc32.Checksum(payload, crcTable))
		frame = append(frame, payload...)
		recs, good := Decode(frame)
		if (len(recs) == 1) != (good == len(frame)) || len(recs) > 1 {
			t.Fatalf("%d records, %d of %d bytes", len(recs), good, len(frame))
		}
		if len(recs) == 1 {
			if err := recs[0].Validate(); err != nil {
				t.Fatalf("decoded an invalid record: %v", err)
			}
		}
	})
}
