package localize

import (
	"maps"
	"math"
	"time"

	"github.com/radtrack/radtrack/sample"
	"github.com/radtrack/radtrack/store"
)

// WithSpectrumCounts returns samples where those without gross counts take
// them from the spectra of the same device and time (a spectroscopic
// system like the race-track NaI sends its gamma counts only as spectra):
// the channel sums of all its detectors at that time, over the spectra's
// real time, with their mean live time as "live_time_s". Samples with
// counts are kept as they are; the input is not modified.
func WithSpectrumCounts(samples []sample.Sample, spectra []store.Spectrum) []sample.Sample {
	type key struct {
		dev int64
		t   time.Time
	}
	type sum struct {
		counts, real, live float64
		n, nLive           int
	}
	by := map[key]*sum{}
	for _, sp := range spectra {
		k := key{sp.DeviceID, sp.Time.UTC()}
		s := by[k]
		if s == nil {
			s = &sum{}
			by[k] = s
		}
		s.counts += float64(sp.Total())
		if sp.RealTime > 0 {
			s.real = max(s.real, sp.RealTime)
		}
		if sp.LiveTime > 0 {
			s.live += sp.LiveTime
			s.nLive++
		}
		s.n++
	}
	out := make([]sample.Sample, len(samples))
	for i, smp := range samples {
		out[i] = smp
		if sample.Has(smp.Counts) && sample.Has(smp.CountInterval) {
			continue
		}
		s := by[key{smp.DeviceID, smp.Time.UTC()}]
		if s == nil {
			continue
		}
		interval := s.real
		live := math.NaN()
		if s.nLive > 0 {
			live = s.live / float64(s.nLive)
		}
		if !(interval > 0) {
			interval = live
		}
		if !(interval > 0) {
			continue
		}
		out[i].Counts, out[i].CountInterval = s.counts, interval
		if live > 0 && live <= interval {
			out[i].Attributes = maps.Clone(smp.Attributes)
			if out[i].Attributes == nil {
				out[i].Attributes = map[string]any{}
			}
			out[i].Attributes["live_time_s"] = live
		}
	}
	return out
}
