package spool

import (
	"context"
	"errors"
	"math"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/radtrack/radtrack/sample"
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
