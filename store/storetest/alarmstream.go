package storetest

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/radtrack/radtrack/rules"
	"github.com/radtrack/radtrack/store"
)

// testStreamedAlarms: EachAlarm gives every matching alarm oldest first,
// past the list's cap of 1000, with the list's filter and an optional
// limit.
func testStreamedAlarms(t *testing.T, s store.Store) {
	ctx := context.Background()
	const n = 1001
	// Raised by 8 writers at once (as nodes do), in no particular order.
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for w := range 8 {
		wg.Go(func() {
			for i := w; i < n; i += 8 {
				ep := episode(7, int64(100+i), Base.Add(time.Duration(n-i)*time.Second), 1.5)
				if _, _, err := s.RaiseAlarm(ctx, ep, rules.Event{Type: "raised", Key: ep.Key, Time: ep.FirstSeen, Episode: ep}); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	other := episode(8, 99, Base, 0.7)
	if _, _, err := s.RaiseAlarm(ctx, other, rules.Event{Type: "raised", Key: other.Key, Time: other.FirstSeen, Episode: other}); err != nil {
		t.Fatal(err)
	}
	if list, err := s.ListAlarms(ctx, store.AlarmFilter{DeviceID: 7}); err != nil || len(list) != 1000 {
		t.Fatalf("list: %d alarms, %v; want the cap of 1000", len(list), err)
	}
	var got []time.Time
	err := s.EachAlarm(ctx, store.AlarmFilter{DeviceID: 7}, func(ep *rules.Episode) error {
		if ep.DeviceID != 7 {
			t.Fatalf("alarm of device %d streamed", ep.DeviceID)
		}
		got = append(got, ep.FirstSeen)
		return nil
	})
	if err != nil || len(got) != n {
		t.Fatalf("stream: %d alarms, %v; want %d", len(got), err, n)
	}
	for i := 1; i < n; i++ {
		if !got[i].After(got[i-1]) {
			t.Fatalf("alarm %d first seen %v not after %v: want oldest first", i, got[i], got[i-1])
		}
	}
	count := 0
	if err := s.EachAlarm(ctx, store.AlarmFilter{From: Base.Add(time.Second), To: Base.Add(11 * time.Second), Limit: 4}, func(*rules.Episode) error {
		count++
		return nil
	}); err != nil || count != 4 {
		t.Fatalf("filtered, limit 4: %d, %v", count, err)
	}
}
