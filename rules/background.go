package rules

import (
	"math"
	"time"

	"github.com/radtrack/radtrack/sample"
)

// backgroundEstimator follows one device's local background for one
// background rule, and tests each new interval against it.
//
// Design (design.md §6): counts in one interval are Poisson, but a moving
// vehicle sees its background change ×10 within minutes, so the background
// is a short-memory exponentially weighted mean of the count rate rather
// than a long-run average. Its guards:
//   - warm-up: no test until WarmupS seconds of counting have been averaged;
//   - exclusion: intervals with tail probability below ExcludePValue do not
//     feed the mean, so a source does not raise its own background;
//   - trend: the background is the larger of a slow mean (TimeConstantS,
//     stable) and a fast one (FastTimeConstantS), so a rising background is
//     followed without a lag that would look like a source;
//   - margin: λ is taken MarginFraction above that estimate, an allowance
//     for its own statistical error and for the road ahead, so p keeps its
//     meaning when the estimate is a little low;
//   - re-baseline: if every interval has been excluded for RebaselineS, the
//     vehicle has entered a higher area and that level becomes background
//     (an alarm already raised stays open; only its condition ends).
//
// A gap in the data longer than staleAfterTimeConstants × TimeConstantS
// restarts the warm-up: after a pause the vehicle may be anywhere.
type backgroundEstimator struct {
	counts localMean // counts per second, from samples carrying counts
	dose   localMean // µSv/h, fallback for samples with a dose and no counts
}

const staleAfterTimeConstants = 5

// backgroundVerdict is the outcome of testing one sample.
type backgroundVerdict struct {
	tested       bool    // false while warming up or without a usable reading
	anomalous    bool    // the alarm condition holds for this sample
	significance float64 // −log10 of the Poisson tail probability; 0 for the dose test
}

// observe tests s against the background and then updates the background
// with s unless s was itself anomalous enough to be excluded.
func (b *backgroundEstimator) observe(s *sample.Sample, p *BackgroundParams) backgroundVerdict {
	if sample.Has(s.Counts) && sample.Has(s.CountInterval) && s.CountInterval > 0 {
		return b.observeCounts(s.Counts, s.CountInterval, s.Time, p)
	}
	if sample.Has(s.DoseRate) {
		return b.observeDose(s.DoseRate, s.Time, p)
	}
	return backgroundVerdict{}
}

func (b *backgroundEstimator) observeCounts(k, interval float64, t time.Time, p *BackgroundParams) backgroundVerdict {
	m := &b.counts
	m.restartIfStale(t, p)
	rate := k / interval
	if !m.ready {
		m.accept(rate, interval, p)
		return backgroundVerdict{}
	}
	// Below one count per effective averaging window (≈ 2τ) the estimate
	// cannot tell rates apart; flooring λ there stops a silent detector
	// from turning its first count into an alarm.
	bgRate := math.Max(m.level(), 1/(2*p.TimeConstantS)) * (1 + p.MarginFraction)
	lambda := bgRate * interval
	if tailAtLeastHalf(k, lambda) && p.PValue <= 0.5 && p.ExcludePValue <= 0.5 {
		// At most the median, so P(X ≥ k) ≥ ½: neither an alarm nor
		// excluded whatever the exact tail, which costs a series of
		// tens of terms per sample (most samples of every vehicle land
		// here). See tailAtLeastHalf.
		m.accept(rate, interval, p)
		return backgroundVerdict{tested: true}
	}
	logP := logPoissonTail(k, lambda)
	v := backgroundVerdict{
		tested:       true,
		anomalous:    logP < math.Log(p.PValue),
		significance: -logP / math.Ln10,
	}
	if logP < math.Log(p.ExcludePValue) {
		m.exclude(rate, interval, p)
	} else {
		m.accept(rate, interval, p)
	}
	return v
}

// observeDose is the fallback for devices that send a dose but no counts: a
// dose has no counting statistics, so the test is a ratio to the local
// background with a minimum absolute excess.
func (b *backgroundEstimator) observeDose(dose float64, t time.Time, p *BackgroundParams) backgroundVerdict {
	m := &b.dose
	// Weight each reading by the time it stands for, within sane bounds.
	weight := 1.0
	if !m.lastAt.IsZero() {
		weight = min(max(t.Sub(m.lastAt).Seconds(), 1), p.TimeConstantS)
	}
	m.restartIfStale(t, p)
	if !m.ready {
		m.accept(dose, weight, p)
		return backgroundVerdict{}
	}
	bg := m.level() // the ratio already is the margin
	v := backgroundVerdict{
		tested:    true,
		anomalous: dose >= p.DoseRatio*bg && dose-bg >= p.MinDoseDeltaUSvH,
	}
	// Exclude at the geometric midpoint between background and alarm ratio.
	if dose >= math.Sqrt(p.DoseRatio)*bg && dose-bg >= p.MinDoseDeltaUSvH/2 {
		m.exclude(dose, weight, p)
	} else {
		m.accept(dose, weight, p)
	}
	return v
}

// localMean is a pair of exponentially weighted means (slow and fast) with
// warm-up, exclusion and re-baselining. Weights are seconds (counting time
// or reading spacing).
type localMean struct {
	slow, fast float64
	ready      bool

	warmSum, warmWeight float64 // plain weighted mean during warm-up
	runSum, runWeight   float64 // the current unbroken run of excluded readings
	lastAt              time.Time
}

func (m *localMean) restartIfStale(t time.Time, p *BackgroundParams) {
	if !m.lastAt.IsZero() && t.Sub(m.lastAt).Seconds() > staleAfterTimeConstants*p.TimeConstantS {
		*m = localMean{}
	}
	m.lastAt = t
}

func (m *localMean) accept(v, weight float64, p *BackgroundParams) {
	m.runSum, m.runWeight = 0, 0
	if !m.ready {
		m.warmSum += v * weight
		m.warmWeight += weight
		if m.warmWeight >= p.WarmupS {
			m.setLevel(m.warmSum / m.warmWeight)
		}
		return
	}
	m.slow += weightOf(weight, p.TimeConstantS) * (v - m.slow)
	m.fast += weightOf(weight, p.FastTimeConstantS) * (v - m.fast)
}

// weightOf is the EWMA weight 1 − e^(−w/τ) of a reading covering w seconds.
func weightOf(w, tau float64) float64 { return -math.Expm1(-w / tau) }

func (m *localMean) level() float64 { return max(m.slow, m.fast) }

func (m *localMean) setLevel(v float64) {
	m.slow, m.fast, m.ready = v, v, true
}

func (m *localMean) exclude(v, weight float64, p *BackgroundParams) {
	m.runSum += v * weight
	m.runWeight += weight
	if m.runWeight >= p.RebaselineS {
		m.setLevel(m.runSum / m.runWeight)
		m.runSum, m.runWeight = 0, 0
	}
}
