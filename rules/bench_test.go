package rules

import (
	"math/rand/v2"
	"sync/atomic"
	"testing"
)

// benchInputs: a bGeigie-like device inside a patrol area at background,
// the common case: every default rule runs, nothing alarms.
func benchInputs(device int64, n int) []Input {
	rng := rand.New(rand.NewPCG(uint64(device), 1))
	in := make([]Input, n)
	for i := range in {
		s := countSample(device, at(i), poisson(rng, bgMean))
		s.Lon += 1e-4 * float64(i)
		in[i] = Input{Sample: s, Inside: []int64{200}}
	}
	return in
}

func BenchmarkEvaluateDefaultRules(b *testing.B) {
	e := newEngine(b, DefaultRules()...)
	in := benchInputs(1, 1<<16)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		x := in[i%len(in)]
		// Keep time moving forward past the end of the prepared inputs.
		x.Sample.Time = at(i)
		x.Sample.ReceivedAt = x.Sample.Time
		e.Evaluate(x)
		i++
	}
}

// Many devices at once, one goroutine per device as in the pipeline.
func BenchmarkEvaluateDefaultRulesParallel(b *testing.B) {
	e := newEngine(b, DefaultRules()...)
	var devices atomic.Int64
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		in := benchInputs(devices.Add(1), 1<<12)
		i := 0
		for pb.Next() {
			x := in[i%len(in)]
			x.Sample.Time = at(i)
			x.Sample.ReceivedAt = x.Sample.Time
			e.Evaluate(x)
			i++
		}
	})
}

// A device above OIL3 the whole time (dose and background alarms open on
// every sample): the emergency case of issue #19, where each sample
// updates every open episode.
func BenchmarkEvaluateInAlarm(b *testing.B) {
	e := newEngine(b, DefaultRules()...)
	in := benchInputs(1, 1<<16)
	rng := rand.New(rand.NewPCG(7, 7))
	for i := range in {
		// ≈ 1.7 µSv/h: about 50× the background's counts.
		in[i].Sample = countSample(1, at(i), poisson(rng, 50*bgMean))
		in[i].Sample.Lon += 1e-4 * float64(i)
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		x := in[i%len(in)]
		x.Sample.Time = at(i)
		x.Sample.ReceivedAt = x.Sample.Time
		e.Evaluate(x)
		i++
	}
}

// BenchmarkEvaluateIntoInAlarm is BenchmarkEvaluateInAlarm with the
// previous result's buffer passed back, as alarms.Service does.
func BenchmarkEvaluateIntoInAlarm(b *testing.B) {
	e := newEngine(b, DefaultRules()...)
	in := benchInputs(1, 1<<16)
	rng := rand.New(rand.NewPCG(7, 7))
	for i := range in {
		in[i].Sample = countSample(1, at(i), poisson(rng, 50*bgMean))
		in[i].Sample.Lon += 1e-4 * float64(i)
	}
	b.ReportAllocs()
	var buf []Event
	i := 0
	for b.Loop() {
		x := in[i%len(in)]
		x.Sample.Time = at(i)
		x.Sample.ReceivedAt = x.Sample.Time
		buf = e.EvaluateInto(x, buf)
		i++
	}
}
