package pgstore_test

import (
	"context"
	"testing"
	"time"

	"github.com/radtrack/radtrack/internal/pgtest"
	"github.com/radtrack/radtrack/rules"
	"github.com/radtrack/radtrack/sample"
	"github.com/radtrack/radtrack/store"
	"github.com/radtrack/radtrack/store/pgstore"
)

// An export read slower than the connection's statement_timeout still
// arrives whole: a stream lifts the timeout for its own transaction (the
// caller bounds it by an idle deadline instead). 60 000 rows are more than
// the sockets buffer, so the server waits on the reader for longer than
// the 300 ms timeout.
func TestStreamOutlastsStatementTimeout(t *testing.T) {
	url := pgtest.NewDatabase(t)
	s := openWith(t, pgstore.Config{URL: url, StatementTimeout: 300 * time.Millisecond})
	devices := newDevices(t, s, 0, 1)
	from := time.Now().UTC().Add(-24 * time.Hour).Truncate(time.Second)
	write(t, s, fleet(devices, from, from.Add(60_000*time.Second), time.Second))

	n, begin := 0, time.Now()
	err := s.EachSample(context.Background(), store.StreamQuery{DeviceID: devices[0], From: from, To: from.Add(24 * time.Hour)},
		func(*sample.Sample) error {
			if n++; n%2000 == 0 {
				time.Sleep(25 * time.Millisecond)
			}
			return nil
		})
	if err != nil || n != 60_000 {
		t.Fatalf("streamed %d of 60000 rows in %s: %v", n, time.Since(begin), err)
	}
	if took := time.Since(begin); took < 600*time.Millisecond {
		t.Fatalf("the stream took %s: too fast to outlast the 300 ms statement_timeout", took)
	}
	alarms := 0
	if err := s.EachAlarm(context.Background(), store.AlarmFilter{}, func(*rules.Episode) error { alarms++; return nil }); err != nil {
		t.Fatal(err)
	}
}
