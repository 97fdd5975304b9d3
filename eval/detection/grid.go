package detection

import (
	"context"
	"errors"
	"math"
	"math/rand/v2"
	"runtime"
	"slices"
	"sync"
	"time"

	"github.com/radtrack/radtrack/rules"
	"github.com/radtrack/radtrack/sample"
)

// GridConfig is the source-injection experiment.
//
// Each trial is a synthetic straight pass at speed v through the real
// background: a stretch of a real log (its real counts, times and counting
// intervals) is taken as if the vehicle drove past a source at closest
// distance d at a time t0 inside it. The expected source counts of each
// reading come from the device calibration, inverse square and air
// attenuation; a Poisson draw of them is added to the real counts. The
// stretch starts LeadS before t0 (the background estimate warms up on real
// data) and ends TailS after it. The pass times are spread evenly over each
// counting log, with a random phase within the counting interval.
type GridConfig struct {
	Nuclides       []Nuclide
	ActivitiesMBq  []float64 // ascending
	DistancesM     []float64
	SpeedsMS       []float64
	PassesPerTrack int
	Seed           uint64
	LeadS, TailS   float64
	// IdealFAPerHour is the false-alarm rate the ideal detector is allowed
	// (the rules' measured rate): per test pFA = rate × interval / 3600,
	// one test per reading of a scan along the track (a union bound, so the
	// scanning ideal detector's rate is at most this).
	IdealFAPerHour float64
	Rules          []rules.Rule
	Workers        int // 0: GOMAXPROCS
}

// DefaultGrid is the grid `radtrack eval detection` runs.
func DefaultGrid() GridConfig {
	var acts []float64
	for e := 0.0; e <= 5.0001; e += 0.125 { // 1 MBq … 100 GBq, 8 per decade
		acts = append(acts, math.Round(math.Pow(10, e)*1000)/1000)
	}
	return GridConfig{
		Nuclides:       []Nuclide{Cs137, Co60},
		ActivitiesMBq:  acts,
		DistancesM:     []float64{5, 10, 20},
		SpeedsMS:       []float64{5, 15},
		PassesPerTrack: 40,
		Seed:           1,
		LeadS:          300,
		TailS:          120,
		Rules:          rules.DefaultRules(),
	}
}

// Point is one grid point's outcome over all its trials.
type Point struct {
	Nuclide       string
	ActivityMBq   float64
	DistanceM     float64
	SpeedMS       float64
	Trials        int
	RulesDetected int
	IdealDetected int
	// TimesToAlarm are the rules' first onset times relative to closest
	// approach, seconds, for the detected trials, sorted.
	TimesToAlarm []float64
	// ByRule counts the trials in which each rule had an onset.
	ByRule map[int64]int
}

// PRules and PIdeal are the detection probabilities.
func (p Point) PRules() float64 { return float64(p.RulesDetected) / float64(max(p.Trials, 1)) }
func (p Point) PIdeal() float64 { return float64(p.IdealDetected) / float64(max(p.Trials, 1)) }

// MedianTimeToAlarm is NaN without detections.
func (p Point) MedianTimeToAlarm() float64 {
	if len(p.TimesToAlarm) == 0 {
		return math.NaN()
	}
	return p.TimesToAlarm[len(p.TimesToAlarm)/2]
}

// passSite is one place in a log where a pass is injected.
type passSite struct {
	track *Track
	at    int // index of the reading whose interval holds closest approach
}

// ErrNoCountingLogs: injection needs logs with counts.
var ErrNoCountingLogs = errors.New("eval: no log with counts to inject a source into")

// RunGrid runs every grid point over the pass sites of the counting tracks.
func RunGrid(ctx context.Context, tracks []Track, cfg GridConfig) ([]Point, error) {
	var sites []passSite
	for i := range tracks {
		if tracks[i].Counting {
			sites = append(sites, passSites(&tracks[i], cfg)...)
		}
	}
	if len(sites) == 0 {
		return nil, ErrNoCountingLogs
	}
	var points []Point
	for _, n := range cfg.Nuclides {
		for _, d := range cfg.DistancesM {
			for _, v := range cfg.SpeedsMS {
				for _, a := range cfg.ActivitiesMBq {
					points = append(points, Point{Nuclide: n.Name, ActivityMBq: a, DistanceM: d, SpeedMS: v, ByRule: map[int64]int{}})
				}
			}
		}
	}
	nuclide := map[string]Nuclide{}
	for _, n := range cfg.Nuclides {
		nuclide[n.Name] = n
	}
	workers := cfg.Workers
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	type job struct{ point, site int }
	type result struct {
		point          int
		rules, ideal   bool
		tta            float64
		rulesWithOnset []int64
	}
	jobs := make(chan job)
	results := make(chan result)
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range jobs {
				p := &points[j.point]
				rng := rand.New(rand.NewPCG(cfg.Seed, uint64(j.point)<<20|uint64(j.site)))
				tr := runTrial(sites[j.site], Pass{Nuclide: nuclide[p.Nuclide], ActivityMBq: p.ActivityMBq, DistanceM: p.DistanceM, SpeedMS: p.SpeedMS}, cfg, rng)
				results <- result{point: j.point, rules: tr.rules, ideal: tr.ideal, tta: tr.tta, rulesWithOnset: tr.onsetRules}
			}
		}()
	}
	go func() {
		defer close(jobs)
		for pi := range points {
			for si := range sites {
				select {
				case jobs <- job{pi, si}:
				case <-ctx.Done():
					return
				}
			}
		}
	}()
	go func() { wg.Wait(); close(results) }()
	for r := range results {
		p := &points[r.point]
		p.Trials++
		if r.rules {
			p.RulesDetected++
			p.TimesToAlarm = append(p.TimesToAlarm, r.tta)
		}
		if r.ideal {
			p.IdealDetected++
		}
		for _, id := range r.rulesWithOnset {
			p.ByRule[id]++
		}
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	for i := range points {
		slices.Sort(points[i].TimesToAlarm)
	}
	return points, nil
}

// passSites spreads cfg.PassesPerTrack sites evenly over the readings of t
// that have LeadS of data before and TailS after without a gap.
func passSites(t *Track, cfg GridConfig) []passSite {
	const maxGapS = 10
	var ok []int
	s := t.Samples
	start := 0 // first index of the current gap-free run
	for i := range s {
		if i > 0 && s[i].Time.Sub(s[i-1].Time).Seconds() > maxGapS {
			start = i
		}
		if !(s[i].CPMPerUSvH > 0) || s[i].Time.Sub(s[start].Time).Seconds() < cfg.LeadS {
			continue
		}
		ok = append(ok, i)
	}
	// Keep those whose tail is gap-free too.
	valid := ok[:0]
	for _, i := range ok {
		j := i
		for j+1 < len(s) && s[j+1].Time.Sub(s[j].Time).Seconds() <= maxGapS && s[j].Time.Sub(s[i].Time).Seconds() < cfg.TailS {
			j++
		}
		if s[j].Time.Sub(s[i].Time).Seconds() >= cfg.TailS {
			valid = append(valid, i)
		}
	}
	n := min(cfg.PassesPerTrack, len(valid))
	out := make([]passSite, 0, n)
	for k := range n {
		out = append(out, passSite{track: t, at: valid[(2*k+1)*len(valid)/(2*n)]})
	}
	return out
}

type trialResult struct {
	rules, ideal bool
	tta          float64
	onsetRules   []int64
}

// runTrial injects one pass at site and runs the rules and the ideal
// detector over it.
func runTrial(site passSite, p Pass, cfg GridConfig, rng *rand.Rand) trialResult {
	all := site.track.Samples
	c := all[site.at]
	phase := rng.Float64() * c.CountInterval
	p.At = c.Time.Add(-time.Duration(phase * float64(time.Second)))
	lo, hi := site.at, site.at
	for lo > 0 && p.At.Sub(all[lo-1].Time).Seconds() <= cfg.LeadS {
		lo--
	}
	for hi+1 < len(all) && all[hi+1].Time.Sub(p.At).Seconds() <= cfg.TailS {
		hi++
	}
	seg := all[lo : hi+1]
	expected := make([]float64, len(seg))
	injected := Inject(seg, p, site.track.CPMPerUSvH, rng, expected)

	// The source matters while its dose is above 1 % of the peak (|t| up
	// to ≈ 10·d/v) or above a tenth of a typical background, whichever
	// lasts longer (a strong source raises alarms long before closest
	// approach); a level window of up to 60 s may then still be filling.
	half := min(max(10*p.DistanceM/p.SpeedMS, p.timeAbove(noticeableDoseUSvH)), cfg.LeadS-60)
	from, to := -half, half+60

	var res trialResult
	onsets, err := runRules(injected, cfg.Rules)
	if err != nil {
		panic(err) // the rules were validated before the grid started
	}
	first := math.Inf(1)
	seen := map[int64]bool{}
	for _, o := range onsets {
		dt := o.Time.Sub(p.At).Seconds()
		if dt < from || dt > to {
			continue
		}
		first = min(first, dt)
		if !seen[o.RuleID] {
			seen[o.RuleID] = true
			res.onsetRules = append(res.onsetRules, o.RuleID)
		}
	}
	if !math.IsInf(first, 1) {
		res.rules, res.tta = true, first
	}

	// The ideal detector over the same readings.
	bg := backgroundMeans(seg)
	var cs, bs, ss []float64
	for i, s := range injected {
		dt := s.Time.Sub(p.At).Seconds()
		if dt < from || dt > to || !(seg[i].CPMPerUSvH > 0) {
			continue
		}
		cs, bs, ss = append(cs, s.Counts), append(bs, bg[i]), append(ss, expected[i])
	}
	t, w, b := IdealStatistic(cs, bs, ss)
	pFA := cfg.IdealFAPerHour * c.CountInterval / 3600
	res.ideal = IdealTail(t, w, b) <= pFA
	return res
}

// backgroundMeans is the ideal detector's knowledge of the background: per
// reading, the mean counts of the real (source-free) readings within ±60 s,
// scaled to the reading's interval.
func backgroundMeans(seg []sample.Sample) []float64 {
	out := make([]float64, len(seg))
	for i, s := range seg {
		var k, t float64
		for _, o := range seg {
			if o.CPMPerUSvH > 0 && math.Abs(o.Time.Sub(s.Time).Seconds()) <= 60 {
				k += o.Counts
				t += o.CountInterval
			}
		}
		if t > 0 {
			out[i] = k / t * s.CountInterval
		}
	}
	return out
}

// Activity95 is the activity detected with probability 0.95, interpolated
// linearly in log activity between the grid points of one curve (points of
// one nuclide, distance and speed in ascending activity); +Inf if never.
func Activity95(curve []Point, prob func(Point) float64) float64 {
	for i, p := range curve {
		if prob(p) < 0.95 {
			continue
		}
		if i == 0 {
			return p.ActivityMBq
		}
		q := curve[i-1]
		f := (0.95 - prob(q)) / (prob(p) - prob(q))
		return math.Exp(math.Log(q.ActivityMBq) + f*(math.Log(p.ActivityMBq)-math.Log(q.ActivityMBq)))
	}
	return math.Inf(1)
}
