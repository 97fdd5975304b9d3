package sim

import (
	"bytes"
	"embed"
	"fmt"
	"io"
	"sort"
	"time"

	"github.com/radtrack/radtrack/ingest/bgeigie"
	"github.com/radtrack/radtrack/sample"
)

// logs holds the CC0 Safecast drives replayed by default (data/PROVENANCE.md).
//
//go:embed data/safecast_bgeigie_BGRDD_fukushima_2012-07-01.log data/safecast_bgeigie-mini_BMRDD_los-angeles_2012-05-23.LOG
var logs embed.FS

// Embedded logs, by name.
const (
	LogFukushima  = "fukushima"   // bGeigie classic, Fukushima Prefecture, 2012-07-01: up to ≈1.9 µSv/h
	LogLosAngeles = "los-angeles" // bGeigie Mini, Los Angeles, 2012-05-23: normal background
)

// logFile is the embedded file of a log name.
func logFile(name string) (string, bool) {
	switch name {
	case LogFukushima:
		return "data/safecast_bgeigie_BGRDD_fukushima_2012-07-01.log", true
	case LogLosAngeles:
		return "data/safecast_bgeigie-mini_BMRDD_los-angeles_2012-05-23.LOG", true
	}
	return "", false
}

// LoadLog decodes an embedded log (LogFukushima, LogLosAngeles).
func LoadLog(name string) ([]sample.Sample, error) {
	file, ok := logFile(name)
	if !ok {
		return nil, fmt.Errorf("sim: no embedded log %q (have %s, %s)", name, LogFukushima, LogLosAngeles)
	}
	b, err := logs.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("sim: read embedded log %q: %w", name, err)
	}
	return ReadLog(bytes.NewReader(b))
}

// ReadLog decodes a bGeigie log with the server's own parser and keeps the
// sentences that can be placed in time: bad sentences and those stamped
// with the placeholder time (GPS time lost) are dropped.
func ReadLog(r io.Reader) ([]sample.Sample, error) {
	var out []sample.Sample
	err := bgeigie.DecodeLog(r, func(_ int, s sample.Sample, err error) error {
		if err == nil && !s.Time.IsZero() {
			out = append(out, s)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("sim: read bGeigie log: %w", err)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("sim: bGeigie log holds no usable sentence")
	}
	return out, nil
}

// Replay plays a recorded drive as a live vehicle: its first sample is at
// simulated time 0 (the run's start, "now"), the recorded gaps are kept
// (divided by speed), and at the end it loops. Positions and counts are
// the recording's; only the times are new. Not safe for concurrent use.
type Replay struct {
	uid, name string
	samples   []sample.Sample
	offsets   []float64 // s since the first sample, divided by speed
	period    float64   // s per loop, divided by speed
	i, loop   int
}

// NewReplay builds a replay of samples (in recorded order) at speed times
// real time (1 = as recorded).
func NewReplay(uid, name string, samples []sample.Sample, speed float64) (*Replay, error) {
	if len(samples) == 0 {
		return nil, fmt.Errorf("sim: replay %q has no samples", name)
	}
	if !(speed > 0) {
		return nil, fmt.Errorf("sim: replay speed %v must be positive", speed)
	}
	raw := make([]float64, len(samples)) // s since the first sample
	gaps := make([]float64, 0, len(samples))
	for i, s := range samples {
		raw[i] = s.Time.Sub(samples[0].Time).Seconds()
		if i > 0 {
			raw[i] = max(raw[i], raw[i-1]) // a clock step back must not reorder
			gaps = append(gaps, raw[i]-raw[i-1])
		}
	}
	// A loop ends one typical gap after its last sample.
	gap := bgeigie.CountInterval
	if len(gaps) > 0 {
		sort.Float64s(gaps)
		gap = max(gaps[len(gaps)/2], 1)
	}
	r := &Replay{uid: uid, name: name, samples: samples, offsets: make([]float64, len(samples))}
	for i := range raw {
		r.offsets[i] = raw[i] / speed
	}
	r.period = (raw[len(raw)-1] + gap) / speed
	return r, nil
}

// NewLogReplay replays an embedded log.
func NewLogReplay(uid, log string, speed float64) (*Replay, error) {
	samples, err := LoadLog(log)
	if err != nil {
		return nil, err
	}
	return NewReplay(uid, "Replay "+log, samples, speed)
}

func (r *Replay) UID() string  { return r.uid }
func (r *Replay) Name() string { return r.name }

// CPMPerUSvH is the calibration of the recorded bGeigie's LND 7317 tube.
func (r *Replay) CPMPerUSvH() float64 { return DefaultCPMPerUSvH }

// Len is the number of samples per loop.
func (r *Replay) Len() int { return len(r.samples) }

// Period is the simulated duration of one loop.
func (r *Replay) Period() time.Duration { return seconds(r.period) }

// Next is the simulated time of the next sample.
func (r *Replay) Next() time.Duration {
	return seconds(float64(r.loop)*r.period + r.offsets[r.i])
}

// Report returns the next recorded sample, restamped. The dose is derived
// from the recorded counts with the bGeigie calibration, as the server does.
func (r *Replay) Report(stamp time.Time) sample.Sample {
	s := r.samples[r.i]
	s.DeviceUID = r.uid
	s.Time = stamp.UTC()
	s.Attributes = map[string]any{"replay": r.name, "recorded_at": r.samples[r.i].Time.Format(time.RFC3339)}
	s.FillDose(DefaultCPMPerUSvH)
	if r.i++; r.i == len(r.samples) {
		r.i, r.loop = 0, r.loop+1
	}
	return s
}

func seconds(s float64) time.Duration { return time.Duration(s * float64(time.Second)) }
