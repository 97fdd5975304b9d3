package rules

import (
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/radtrack/radtrack/sample"
)

var t0 = time.Date(2026, 3, 1, 8, 0, 0, 0, time.UTC)

// at returns t0 plus i five-second intervals.
func at(i int) time.Time { return t0.Add(time.Duration(i) * 5 * time.Second) }

// doseSample is a live sample with a GPS fix and a dose, no counts.
func doseSample(device int64, t time.Time, dose, lon, lat float64) sample.Sample {
	s := sample.New()
	s.DeviceID, s.Time, s.ReceivedAt = device, t, t
	s.Lon, s.Lat, s.GPSValid = lon, lat, true
	s.DoseRate = dose
	return s
}

// countSample is a live 5-second counts sample (bGeigie-like), dose filled
// the way the pipeline would.
func countSample(device int64, t time.Time, counts float64) sample.Sample {
	s := doseSample(device, t, math.NaN(), 4.4, 51.2)
	s.Counts, s.CountInterval = counts, 5
	s.FillDose(sample.DefaultCPMPerUSvH)
	return s
}

// poisson draws from Poisson(λ) by multiplying uniforms (Knuth); fine for
// the λ ≤ a few hundred used here.
func poisson(rng *rand.Rand, lambda float64) float64 {
	limit, p, k := math.Exp(-lambda), 1.0, 0.0
	for {
		p *= rng.Float64()
		if p <= limit {
			return k
		}
		k++
	}
}

func newEngine(t testing.TB, rules ...Rule) *Engine {
	t.Helper()
	e, err := NewEngine(rules)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func levelRule(id int64, usvh float64) Rule {
	return Rule{ID: id, Name: "level", Kind: KindLevel, Severity: SeverityAlarm, Enabled: true,
		Level: &LevelParams{ThresholdUSvH: usvh}}
}

func backgroundRule(id int64) Rule {
	bg := DefaultBackground()
	return Rule{ID: id, Name: "background", Kind: KindBackground, Severity: SeverityAlarm, Enabled: true,
		Background: &bg}
}

func countTypes(events []Event) map[EventType]int {
	n := map[EventType]int{}
	for _, ev := range events {
		n[ev.Type]++
	}
	return n
}
