package live

import (
	"errors"
	"math"
	"slices"
	"testing"
	"time"
)

func latestIDs(ps []Position) []int64 {
	ids := make([]int64, len(ps))
	for i := range ps {
		ids[i] = ps[i].DeviceID
	}
	return ids
}

// TestHubLatestPositions: the REST view of the hub's state is what a
// snapshot carries — on one node, and on another node of a Redis cluster,
// battery included.
func TestHubLatestPositions(t *testing.T) {
	idle, err := NewHub(Config{Broker: NewMemoryBroker(1), OpenAlarms: newAlarmStore().OpenAlarms})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := idle.LatestPositions(Viewer{}, nil); !errors.Is(err, ErrNotReady) {
		t.Fatalf("hub before Run: %v, want ErrNotReady", err)
	}
	t.Run("memory", func(t *testing.T) {
		t.Parallel()
		h := startHub(t, NewMemoryBroker(100), nil)
		checkLatestPositions(t, h, h)
	})
	t.Run("redis", func(t *testing.T) {
		t.Parallel()
		prefix := redisPrefix(t)
		ba, _ := newTestRedisBroker(t, prefix, "", RedisConfig{})
		bb, _ := newTestRedisBroker(t, prefix, "", RedisConfig{})
		// The reader is another node: it learns the positions over Redis.
		checkLatestPositions(t, startHub(t, ba, nil), startHub(t, bb, nil))
		// A node started later loads them from the latest hash.
		bc, _ := newTestRedisBroker(t, prefix, "", RedisConfig{})
		got, err := startHub(t, bc, nil).LatestPositions(Viewer{}, nil)
		if err != nil || len(got) != 3 || got[2].Battery != 87 || !math.IsNaN(got[0].Battery) {
			t.Fatalf("late node: %+v, %v; want 3 vehicles, battery 87 only on device 9", got, err)
		}
	})
}

// checkLatestPositions publishes on hub a and reads on hub reader.
func checkLatestPositions(t *testing.T, a, reader *testHub) {
	t.Helper()
	now := time.Now().UTC()
	p9 := pos(9, 179.5, 10, now) // east of the antimeridian
	p9.Battery = 87
	a.PublishPositions(pos(1, 4.05, 51.95, now), p9, pos(5, -179.5, 10, now))

	all := Viewer{}
	var got []Position
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		var err error
		got, err = reader.LatestPositions(all, nil)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) == 3 || time.Now().After(deadline) {
			break
		}
	}
	if ids := latestIDs(got); len(ids) != 3 || ids[0] != 1 || ids[1] != 5 || ids[2] != 9 {
		t.Fatalf("ids %v, want [1 5 9] ordered by id", ids)
	}
	if got[2].Battery != 87 || got[2].Name != "car 9" || got[2].Lon != 179.5 {
		t.Errorf("device 9 = %+v, want battery 87 carried through the broker", got[2])
	}

	restricted := Viewer{Devices: func(id int64) bool { return id != 5 }}
	for _, c := range []struct {
		v    Viewer
		box  []float64
		want []int64
	}{
		{restricted, nil, []int64{1, 9}},
		{all, []float64{179, 9, -179, 11}, []int64{5, 9}}, // crosses the antimeridian
		{restricted, []float64{179, 9, -179, 11}, []int64{9}},
		{all, []float64{4.051, 51, 5, 52}, nil}, // no margin around the box
	} {
		got, err := reader.LatestPositions(c.v, c.box)
		if ids := latestIDs(got); err != nil || !slices.Equal(ids, c.want) {
			t.Errorf("box %v: ids %v, %v; want %v", c.box, ids, err, c.want)
		}
	}
	if _, err := reader.LatestPositions(all, []float64{1, 2, 3}); err == nil {
		t.Error("bbox of three numbers accepted")
	}
}
