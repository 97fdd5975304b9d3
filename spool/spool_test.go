package spool

import (
	"context"
	"errors"
	"math"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/radtrack/radtrack/internal/deadletter"
	"github.com/radtrack/radtrack/internal/framelog"
	"github.com/radtrack/radtrack/sample"
	"github.com/radtrack/radtrack/store"
)

func batch(device int64, start, n int) []sample.Sample {
	out := make([]sample.Sample, n)
	for i := range out {
		s := sample.New()
		s.DeviceID = device
		s.Time = time.Unix(1_700_000_000+int64(start+i), 0).UTC()
		s.ReceivedAt = s.Time.Add(time.Second)
		s.Lon, s.Lat, s.GPSValid = 4.05, 51.95, true
		s.DoseRate = 0.1 * float64(i+1)
		s.Source = sample.SourceHTTP
		s.Attributes = map[string]any{"i": float64(i)}
		out[i] = s
	}
	return out
}

type sink struct {
	got  []sample.Sample
	fail error
}

func (k *sink) write(_ context.Context, b []sample.Sample) error {
	if k.fail != nil {
		return k.fail
	}
	k.got = append(k.got, b...)
	return nil
}

func TestAppendReplayRoundTrip(t *testing.T) {
	sp, err := Open(t.TempDir(), 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	in := append(batch(1, 0, 3), batch(2, 10, 2)...)
	in[1].DoseRate = math.NaN()
	if err := sp.Append(in[:3]); err != nil {
		t.Fatal(err)
	}
	if err := sp.Append(in[3:]); err != nil {
		t.Fatal(err)
	}
	if sp.Bytes() == 0 {
		t.Fatal("spool reports no bytes after appends")
	}
	k := &sink{fail: errors.New("database down")}
	if st, err := sp.Replay(context.Background(), k.write); err == nil || st.Replayed != 0 || sp.Bytes() == 0 {
		t.Fatalf("replay into a failing sink: n=%d err=%v bytes=%d; want error, data kept", st.Replayed, err, sp.Bytes())
	}
	k.fail = nil
	st, err := sp.Replay(context.Background(), k.write)
	if err != nil || st.Replayed != 5 || len(k.got) != 5 || sp.Bytes() != 0 {
		t.Fatalf("replay: n=%d err=%v got=%d bytes=%d", st.Replayed, err, len(k.got), sp.Bytes())
	}
	for i := range in {
		a, b := in[i], k.got[i]
		if !a.Time.Equal(b.Time) || a.DeviceID != b.DeviceID || a.Lon != b.Lon || !(a.DoseRate == b.DoseRate || math.IsNaN(a.DoseRate) && math.IsNaN(b.DoseRate)) ||
			!math.IsNaN(b.Speed) || b.Satellites != -1 || b.Attributes["i"] != a.Attributes["i"] || b.Source != a.Source {
			t.Fatalf("sample %d changed in the spool:\n in %+v\nout %+v", i, a, b)
		}
	}
	// Appends after a replay go to a new segment and replay too.
	if err := sp.Append(batch(3, 0, 1)); err != nil {
		t.Fatal(err)
	}
	k.got = nil
	if st, _ := sp.Replay(context.Background(), k.write); st.Replayed != 1 {
		t.Fatalf("second replay: %d samples", st.Replayed)
	}
}

func TestFullSpoolRefuses(t *testing.T) {
	sp, err := Open(t.TempDir(), 600)
	if err != nil {
		t.Fatal(err)
	}
	if err := sp.Append(batch(1, 0, 1)); err != nil {
		t.Fatal(err)
	}
	if err := sp.Append(batch(1, 1, 5)); !errors.Is(err, ErrFull) {
		t.Fatalf("append over the bound: %v, want ErrFull", err)
	}
}

func TestSurvivesRestartAndIgnoresTornTail(t *testing.T) {
	dir := t.TempDir()
	sp, err := Open(dir, 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	if err := sp.Append(batch(1, 0, 4)); err != nil {
		t.Fatal(err)
	}
	// A crash in the middle of the next append: half a frame on disk.
	seg := filepath.Join(dir, "000000000001.seg")
	f, err := os.OpenFile(seg, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = f.Write([]byte{200, 0, 0, 0, 1, 2, 3, 4, '[', '{'})
	f.Close()

	reopened, err := Open(dir, 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	k := &sink{}
	if st, err := reopened.Replay(context.Background(), k.write); err != nil || st.Replayed != 4 {
		t.Fatalf("replay after restart: n=%d err=%v, want the 4 acknowledged samples", st.Replayed, err)
	}
	if _, err := os.Stat(seg); !os.IsNotExist(err) {
		t.Fatalf("replayed segment not removed: %v", err)
	}
}

// A refused sample that the full dead-letter log cannot take stops the
// replay and stays in the spool: nothing acknowledged is dropped.
func TestFullDeadLetterLogKeepsTheBatch(t *testing.T) {
	dir := t.TempDir()
	one := batch(1, 0, 1)
	probe, err := Open(t.TempDir(), 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	if err := probe.Append(one); err != nil {
		t.Fatal(err)
	}
	frame := probe.Bytes() // the spool frame of one sample; its dead letter is larger
	probe.Close()
	sp, err := Open(dir, frame+8)
	if err != nil {
		t.Fatal(err)
	}
	if err := sp.Append(one); err != nil {
		t.Fatal(err)
	}
	refuse := func(context.Context, []sample.Sample) error {
		return &store.RefusedError{Refusals: []store.Refusal{{Index: 0, Err: errors.New("refused")}}}
	}
	st, err := sp.Replay(context.Background(), refuse)
	if !errors.Is(err, ErrFull) || st.Replayed != 0 || len(st.DeadLettered) != 0 || sp.Bytes() != frame {
		t.Fatalf("replay with a full dead-letter log: %+v, %v, spool %d bytes; want ErrFull and the batch kept (%d bytes)", st, err, sp.Bytes(), frame)
	}
	k := &sink{}
	if st, err := sp.Replay(context.Background(), k.write); err != nil || st.Replayed != 1 || len(k.got) != 1 {
		t.Fatalf("the kept batch replays once the database takes it: %+v %v", st, err)
	}
}

// A frame this version cannot decode is set aside as it is, and the
// batches after it replay.
func TestUnreadableFrameIsSetAside(t *testing.T) {
	dir := t.TempDir()
	l, err := framelog.Open(dir, 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	if err := l.Append([]byte(`{"format":"from the future"}`)); err != nil {
		t.Fatal(err)
	}
	l.Close()
	sp, err := Open(dir, 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	if err := sp.Append(batch(2, 0, 3)); err != nil {
		t.Fatal(err)
	}
	k := &sink{}
	st, err := sp.Replay(context.Background(), k.write)
	if err != nil || st.Replayed != 3 || len(k.got) != 3 || len(st.DeadLettered) != 1 ||
		st.DeadLettered[0].Kind != deadletter.KindFrame || string(st.DeadLettered[0].Raw) != `{"format":"from the future"}` {
		t.Fatalf("replay: %+v %v; want the unreadable frame set aside and the 3 samples after it stored", st, err)
	}
	var listed int
	_ = deadletter.List(filepath.Join(dir, deadletter.DirName), func(deadletter.Record) error { listed++; return nil })
	if listed != 1 || sp.DeadLetterBytes() == 0 {
		t.Fatalf("%d records in the dead-letter log, want 1", listed)
	}
}
