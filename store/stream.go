package store

import (
	"context"
	"time"

	"github.com/radtrack/radtrack/rules"
	"github.com/radtrack/radtrack/sample"
)

// SampleFunc receives one sample of a streamed query. The sample is only
// valid during the call (stores may reuse it); returning an error stops the
// stream and the error is returned from the query.
type SampleFunc func(s *sample.Sample) error

// StreamQuery selects the samples of one device in [From, To), oldest first,
// streamed from the database cursor without a row cap: memory stays the
// same whatever the range (exports, dose accounting).
type StreamQuery struct {
	DeviceID int64
	From, To time.Time
	// Limit stops after that many samples (0: none). It is part of the
	// query: stopping early from the callback instead can make the driver
	// read the rest of the result to end the query.
	Limit int
}

// Streamer streams stored samples. Every store implements it.
type Streamer interface {
	EachSample(ctx context.Context, q StreamQuery, fn SampleFunc) error
}

// AlarmStreamer streams alarm episodes matching a filter oldest first
// (first seen, then id), without the list's cap when f.Limit is 0.
type AlarmStreamer interface {
	EachAlarm(ctx context.Context, f AlarmFilter, fn func(*rules.Episode) error) error
}

// AreaQuery selects the samples with a GPS fix inside Box (west, south,
// east, north, degrees; west > east is not supported: see BoxAround) in
// [From, To), of Devices (nil: every device), ordered by device, then
// time.
type AreaQuery struct {
	Box      [4]float64
	From, To time.Time
	Devices  []int64
	Limit    int // stop after that many samples (0: none)
}

// AreaStreamer streams the samples of an area and a time window in one
// query (the source fit of an incident: every vehicle near it). Every store
// implements it.
type AreaStreamer interface {
	EachSampleInArea(ctx context.Context, q AreaQuery, fn SampleFunc) error
}
