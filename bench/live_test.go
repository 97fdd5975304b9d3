package bench

import (
	"context"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestPositionTimes(t *testing.T) {
	frame := []byte(`{"v":1,"type":"positions","full":false,"positions":{"id":[7,9,11],"t":[1753470280000,null,-5],"lon":[1,2,3]}}`)
	var got []int64
	if n := positionTimes(frame, func(ms int64) { got = append(got, ms) }); n != 2 || got[0] != 1753470280000 || got[1] != -5 {
		t.Fatalf("positionTimes = %d %v", n, got)
	}
}

func TestLatencyHistQuantiles(t *testing.T) {
	h := new(latencyHist)
	for i := 1; i <= 1000; i++ {
		h.add(time.Duration(i) * time.Millisecond)
	}
	for _, c := range []struct {
		q    float64
		want time.Duration
	}{{0.5, 500 * time.Millisecond}, {0.99, 990 * time.Millisecond}, {1, time.Second}} {
		got := h.quantile(c.q)
		if got < c.want || float64(got) > 1.02*float64(c.want) {
			t.Errorf("q%.2f = %s, want %s within 2 %%", c.q, got, c.want)
		}
	}
	for _, us := range []int64{0, 127, 128, 129, 255, 256, 1 << 40} {
		if i := histIndex(us); histUpper(i) < us || (i > 0 && histUpper(i-1) >= us) {
			t.Errorf("value %d in bucket %d [.., %d]", us, i, histUpper(i))
		}
	}
}

// TestRunLiveSmall runs the whole benchmark, server child included, with
// tiny numbers.
func TestRunLiveSmall(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a server process")
	}
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command to build the server")
	}
	bin := filepath.Join(t.TempDir(), "radtrack")
	if out, err := exec.Command(goBin, "build", "-o", bin, "github.com/radtrack/radtrack/cmd/radtrack").CombinedOutput(); err != nil {
		t.Fatalf("build radtrack: %v\n%s", err, out)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var progress strings.Builder
	start := time.Now()
	res, err := RunLive(ctx, LiveConfig{Server: bin, Vehicles: 50, Viewers: 3, Duration: 4 * time.Second, Alarms: 2}, &progress)
	if err != nil {
		t.Fatalf("%v\nprogress:\n%s", err, progress.String())
	}
	t.Logf("in %s:\n%s", time.Since(start).Round(time.Millisecond), res)
	if res.Acked != res.Offered || res.Failed != 0 || res.Offered != 200 {
		t.Errorf("ingest: %d of %d acked, %d failed", res.Acked, res.Offered, res.Failed)
	}
	if res.Positions == 0 || res.PosFrames == 0 || res.LatP99 == 0 {
		t.Errorf("no positions received: %d in %d frames", res.Positions, res.PosFrames)
	}
	if res.HotAcked != 2 || res.AlarmsRaised < 2 || res.AlarmsMissing != 0 || res.DeliveredMin != res.AlarmsRaised {
		t.Errorf("alarms: %d hot samples, %d raised, delivered min %d, %d missing", res.HotAcked, res.AlarmsRaised, res.DeliveredMin, res.AlarmsMissing)
	}
	if res.ServerCores <= 0 || res.IdleRSSKiB == 0 && res.IdleHeapStackKiB == 0 {
		t.Errorf("server not measured: %+v", res)
	}
}

// The head of an alarm frame as the server writes it (live/PROTOCOL.md);
// anything else is left to the JSON decoder.
func TestAlarmHead(t *testing.T) {
	off, ev, id, ok := alarmHead([]byte(`{"v":1,"type":"alarm","offset":"1883912374812426241","event":"raised","alarm_id":-42,"device_id":7,"alarm":{"id":-42}}`))
	if !ok || off != "1883912374812426241" || ev != "raised" || id != -42 {
		t.Fatalf("alarmHead = %q %q %d %v", off, ev, id, ok)
	}
	for _, f := range []string{
		`{"v":1,"type":"incident","offset":"5","event":"raised","incident_id":3}`,
		`{"v":1,"type":"alarm","event":"raised","offset":"5","alarm_id":3}`,
		`{"v":1,"type":"alarm","offset":"5","event":"raised","alarm_id":x}`,
	} {
		if _, _, _, ok := alarmHead([]byte(f)); ok {
			t.Errorf("alarmHead took %s", f)
		}
	}
}
