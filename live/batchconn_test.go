package live

import (
	"bytes"
	"errors"
	"net"
	"testing"
)

// recordingConn records each write the socket is given.
type recordingConn struct {
	net.Conn
	writes [][]byte
	fail   error
}

func (r *recordingConn) Write(p []byte) (int, error) {
	if r.fail != nil {
		return 0, r.fail
	}
	r.writes = append(r.writes, bytes.Clone(p))
	return len(p), nil
}

// Frames written while held leave in one write, in order; outside hold
// each write goes at once; a frame of the limit's size goes by itself after
// what was held; a failed write fails the release and every later write.
func TestBatchConn(t *testing.T) {
	rec := &recordingConn{}
	b := &batchConn{Conn: rec}
	if _, err := b.Write([]byte("a")); err != nil || len(rec.writes) != 1 {
		t.Fatalf("a write outside hold: %d writes, %v", len(rec.writes), err)
	}
	b.hold()
	for _, f := range []string{"b", "cc", "ddd"} {
		if n, err := b.Write([]byte(f)); n != len(f) || err != nil {
			t.Fatalf("held write %q: %d, %v", f, n, err)
		}
	}
	if len(rec.writes) != 1 {
		t.Fatalf("%d writes while held, want none yet", len(rec.writes)-1)
	}
	if err := b.release(); err != nil || len(rec.writes) != 2 || string(rec.writes[1]) != "bcc"+"ddd" {
		t.Fatalf("release: %v, writes %q; want one write of bccddd", err, rec.writes)
	}
	b.hold()
	big := bytes.Repeat([]byte("x"), batchLimit)
	_, _ = b.Write([]byte("e"))
	if _, err := b.Write(big); err != nil || len(rec.writes) != 4 || string(rec.writes[2]) != "e" || len(rec.writes[3]) != batchLimit {
		t.Fatalf("a frame of the limit: %v, %d writes; want the held 'e', then the frame", err, len(rec.writes))
	}
	if err := b.release(); err != nil || len(rec.writes) != 4 {
		t.Fatalf("release with nothing held: %v, %d writes", err, len(rec.writes))
	}
	broken := errors.New("connection reset")
	b.hold()
	_, _ = b.Write([]byte("f"))
	rec.fail = broken
	if err := b.release(); !errors.Is(err, broken) {
		t.Fatalf("release over a broken socket: %v", err)
	}
	rec.fail = nil
	if _, err := b.Write([]byte("g")); !errors.Is(err, broken) {
		t.Fatalf("a write after the failure: %v, want the failure", err)
	}
}
