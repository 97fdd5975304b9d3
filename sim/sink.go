package sim

import (
	"context"
	"fmt"

	"github.com/radtrack/radtrack/sample"
)

// Sink takes the samples of one vehicle, oldest first. A Runner may call
// Send concurrently for different vehicles but never for the same vehicle,
// so a sink keeps a vehicle's order without locking across vehicles. Send
// returns nil once every sample is acknowledged; a *SendError says how many
// were; any other error means none was. Send must not keep the slice.
type Sink interface {
	Send(ctx context.Context, vehicle string, samples []sample.Sample) error
}

// SinkFunc adapts a function, e.g. an in-process pipeline, to a Sink.
type SinkFunc func(ctx context.Context, vehicle string, samples []sample.Sample) error

func (f SinkFunc) Send(ctx context.Context, vehicle string, samples []sample.Sample) error {
	return f(ctx, vehicle, samples)
}

// Mux routes each vehicle to its own sink (the "mixed" protocol mode).
type Mux map[string]Sink

func (m Mux) Send(ctx context.Context, vehicle string, samples []sample.Sample) error {
	s, ok := m[vehicle]
	if !ok {
		return fmt.Errorf("sim: no sink for vehicle %q", vehicle)
	}
	return s.Send(ctx, vehicle, samples)
}

// SendError reports a Send in which only some samples were acknowledged.
type SendError struct {
	Acked, Failed int
	Err           error
}

func (e *SendError) Error() string {
	return fmt.Sprintf("%d of %d samples not acknowledged: %v", e.Failed, e.Acked+e.Failed, e.Err)
}

func (e *SendError) Unwrap() error { return e.Err }
