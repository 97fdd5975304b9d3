package ingest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"testing"
	"time"

	"github.com/radtrack/radtrack/metrics"
	"github.com/radtrack/radtrack/sample"
	"github.com/radtrack/radtrack/store"
)

// Pass.Ingest maps every way a batch can fail to one reason and status;
// the store is a sink that fails as told (the real stores' errors are
// exercised by the app and server tests).
func TestGateMapsIngestFailures(t *testing.T) {
	sink := &gateSink{}
	m := metrics.New()
	w := newTestWriter(sink, WriterConfig{BatchSize: 10, FlushInterval: time.Millisecond, Flushers: 1, QueueLimit: 4})
	t.Cleanup(func() { _ = w.Close(context.Background()) })
	g := NewGate(GateConfig{Pipeline: NewPipeline(w, m), RetryAfter: 3 * time.Second,
		Limits: NewLimits(LimitConfig{DeviceSamplesPerSec: 0.001, DeviceSamplesBurst: 100}),
		Log:    slog.New(slog.NewTextHandler(io.Discard, nil))})
	adm, err := g.Admit("http", "127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	pass := Pass{a: adm, Device: store.Device{ID: 7, UID: "van-7", CPMPerUSvH: 334}}
	one := func() []sample.Sample {
		return []sample.Sample{{Time: time.Now().Add(-time.Minute), Lat: 51.9, Lon: 4.1, GPSValid: true}}
	}
	for _, c := range []struct {
		name       string
		storeErr   error
		samples    []sample.Sample
		ctx        func() context.Context
		reason     Reason
		status     int
		field      string
		retryAfter bool
	}{
		{"text a store cannot hold", fmt.Errorf("copy: %w", &sample.FieldError{Field: "attributes.note", Reason: "contains NUL"}), one(), nil,
			ReasonNotStorable, http.StatusBadRequest, "attributes.note", false},
		{"database error", errors.New("connection reset by peer"), one(), nil, ReasonStorage, http.StatusServiceUnavailable, "", true},
		{"queue full", nil, make([]sample.Sample, 5), nil, ReasonQueueFull, http.StatusServiceUnavailable, "", true},
		{"client gone", nil, one(), func() context.Context {
			ctx, cancel := context.WithCancel(context.Background())
			cancel()
			return ctx
		}, ReasonClientGone, 499, "", false},
		{"device over its budget", nil, make([]sample.Sample, 200), nil, ReasonDeviceRateLimited, http.StatusTooManyRequests, "", true},
	} {
		t.Run(c.name, func(t *testing.T) {
			sink.mu.Lock()
			sink.err = c.storeErr
			sink.mu.Unlock()
			ctx := context.Background()
			if c.ctx != nil {
				ctx = c.ctx()
			}
			for i := range c.samples {
				c.samples[i] = one()[0]
				c.samples[i].Time = c.samples[i].Time.Add(time.Duration(i) * time.Second)
			}
			_, err := pass.Ingest(ctx, c.samples)
			var rf *Refusal
			if !errors.As(err, &rf) {
				t.Fatalf("error %v is not a *Refusal", err)
			}
			if rf.Reason != c.reason || rf.Status != c.status || rf.Field != c.field || (rf.RetryAfter > 0) != c.retryAfter {
				t.Fatalf("refusal %+v, want reason %s status %d field %q retry-after %v", rf, c.reason, c.status, c.field, c.retryAfter)
			}
		})
	}
}
