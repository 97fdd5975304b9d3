package localization

import (
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sort"

	"github.com/radtrack/radtrack/importer"
	"github.com/radtrack/radtrack/ingest/n42"
	"github.com/radtrack/radtrack/localize"
	"github.com/radtrack/radtrack/sample"
)

// Detector is the counting system a row's vehicles carry.
type Detector int

const (
	// BGeigie: the logs' own detector, an LND 7317 pancake GM counting 5 s,
	// with the logs' real counts as background.
	BGeigie Detector = iota
	// NaI1s: a 1-s vehicle NaI log (naiCPSPerUSvH) driven along the same
	// real paths: one reading a second, positions interpolated between the
	// logs' real fixes (their 5-s GPS fixes; the path between two is taken
	// straight), background the real gross counts of the race-track NaI
	// system outside its source pass (naiBackground). A pass is at most
	// as long as the shortest stretch of that background (±26 s).
	NaI1s
)

// racetrackFile is the shared vehicle NaI drive (RSI mobile system, 153
// one-second spectra with GPS and a source pass).
const racetrackFile = "interspec_racetrack_drive_2024-10-20.n42"

// Sensitivity of the 1-s detector to Cs-137 (662 keV), cps per µSv/h of
// H*(10). Source: a 2"×2" NaI counts 900 cpm per µR/h of Cs-137
// (NUREG-1575 Rev. 1, MARSSIM, Table 6.7; the Ludlum Model 44-10
// literature, both quoted in NRC ADAMS ML21271A212, OPPD FC-19-006), i.e.
// 15 cps per µR/h. 1 R is 2.58·10⁻⁴ C/kg × 33.97 J/C = 8.76 mGy of air
// kerma, and H*(10)/K_a is 1.20 Sv/Gy at 662 keV (ICRP 74), so 1 µR/h is
// 0.0105 µSv/h: 1 430 cps per µSv/h. A 2"×4"×16" log (4 L, the usual
// vehicle crystal) presents 10.2 × 40.6 cm broadside against the 2"×2"'s
// 5.1 × 5.1 cm at the same 5-cm depth: 16 times the area, ≈ 22 800 cps
// per µSv/h. Scaled, not measured: half the sensitivity is the same as
// half the activity.
const (
	nai2x2CPMPerMicroRh = 900
	microRhInUSvH       = 2.58e-4 * 33.97 * 1.20 // Gy per R (= µGy per µR) × H*(10)/K_a
	naiAreaRatio        = (10.16 * 40.64) / (5.08 * 5.08)
	naiCPSPerUSvH       = nai2x2CPMPerMicroRh / 60 / microRhInUSvH * naiAreaRatio
)

// naiEff is the 1-s detector's efficiency relative to the reference
// calibration (the bGeigie's 334 CPM per µSv/h) that A is stated for.
const naiEff = naiCPSPerUSvH * 60 / sample.DefaultCPMPerUSvH

// naiBackground is the race-track NaI's real background: its one-second
// gross gamma counts (channel sums) and live times outside the source
// pass, as the stretches of consecutive seconds they came in. Every
// channel of that file holds an even number (59 502 of 59 502 non-zero
// values): it records twice the counts, so they are halved here (halved,
// their second-to-second scatter is near Poisson's; doubled it would be
// twice that).
type naiBackground struct {
	stretches []naiStretch
	total     int     // seconds in the file
	kept      int     // seconds outside the pass
	mean      float64 // cps
	lo, hi    float64 // range of the counts, cps
	// scatter is the variance of successive differences (within a
	// stretch) over twice the mean: 1 for Poisson counts of a steady
	// rate; more where the rate changes along the track.
	scatter float64
	// pick, when > 0, draws every pass from stretch pick − 1 alone
	// (Options.NaIStretch); passes keep the length all stretches allow.
	pick int
}

type naiStretch struct{ counts, live []float64 }

// passExcessSigma: a second belongs to the source pass while the fitted
// source adds more than this many Poisson σ of the background to it.
const passExcessSigma = 0.3

// loadNaIBackground reads the race-track file, fits its source pass
// (package localize) and keeps the seconds the fitted source adds less
// than passExcessSigma σ to.
func loadNaIBackground(dataDir string) (*naiBackground, error) {
	path := filepath.Join(dataDir, racetrackFile)
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("eval localize: %w", err)
	}
	defer f.Close()
	doc, err := n42.Decode(f)
	if err != nil {
		return nil, fmt.Errorf("eval localize: %s: %w", racetrackFile, err)
	}
	s := localize.WithSpectrumCounts(doc.Samples, importer.Spectra(doc, 0, map[string]int{}))
	for i := range s {
		if sample.Has(s[i].Counts) {
			s[i].Counts /= 2
		}
	}
	if len(s) == 0 {
		return nil, fmt.Errorf("eval localize: %s has no samples", racetrackFile)
	}
	fr := localize.NewFrame(s[0].Lat, s[0].Lon)
	rs := fr.Readings(s, 0, 0)
	if len(rs) < 60 {
		return nil, fmt.Errorf("eval localize: %s: %d readings with counts", racetrackFile, len(rs))
	}
	// The source pass is cut out with the constant-background fit of
	// independent counts: the background the rows are driven on stays the
	// same whichever model they are fitted with (with the trend it keeps
	// 121 s, not 122; whitened for the correlated excess, 113).
	est, err := localize.Fit(rs, localize.Config{Independent: true})
	if err != nil {
		return nil, fmt.Errorf("eval localize: %s: %w", racetrackFile, err)
	}
	bg := &naiBackground{total: len(rs), lo: math.Inf(1), hi: math.Inf(-1)}
	b := est.Background[0]
	var cur naiStretch
	flush := func() {
		if len(cur.counts) >= minStretchS {
			bg.stretches = append(bg.stretches, cur)
		}
		cur = naiStretch{}
	}
	var c, t, d2 float64
	var nd int
	for _, r := range rs {
		if localize.SourceCounts(r, est.X, est.Y, est.Strength, localize.Config{}) > passExcessSigma*math.Sqrt(b*r.Live) {
			flush()
			continue
		}
		if n := len(cur.counts); n > 0 {
			d := r.Counts - cur.counts[n-1]
			d2, nd = d2+d*d, nd+1
		}
		cur.counts, cur.live = append(cur.counts, r.Counts), append(cur.live, r.Live)
		c, t = c+r.Counts, t+r.Live
		bg.kept++
		bg.lo, bg.hi = min(bg.lo, r.Counts), max(bg.hi, r.Counts)
	}
	flush()
	if len(bg.stretches) == 0 || nd == 0 {
		return nil, fmt.Errorf("eval localize: %s: no stretch of %d s outside the source pass", racetrackFile, minStretchS)
	}
	bg.mean = c / t
	bg.scatter = d2 / float64(nd) / (2 * bg.mean)
	return bg, nil
}

// minStretchS: shorter stretches outside the pass are not used.
const minStretchS = 20

// halfS is the longest half-width of a 1-s pass window every stretch
// fills on its own: joined, wrapped round or played back and forth,
// stretches would add steps and humps the track never had.
func (bg *naiBackground) halfS() float64 {
	shortest := math.MaxInt
	for _, st := range bg.stretches {
		shortest = min(shortest, len(st.counts))
	}
	return float64(shortest/2 - 1)
}

// fill gives the readings consecutive seconds of one stretch (drawn by
// its length: by time along the track) in their real order or reversed,
// from a random start that fits.
func (bg *naiBackground) fill(rs []localize.Reading, rng *rand.Rand) error {
	n, total := len(rs), 0
	for _, st := range bg.stretches {
		total += len(st.counts)
	}
	k := rng.IntN(total)
	var st naiStretch
	for _, st = range bg.stretches {
		if k < len(st.counts) {
			break
		}
		k -= len(st.counts)
	}
	if bg.pick > 0 && bg.pick <= len(bg.stretches) {
		st = bg.stretches[bg.pick-1]
	}
	if len(st.counts) < n {
		return fmt.Errorf("eval localize: a background stretch of %d s for %d readings", len(st.counts), n)
	}
	k = rng.IntN(len(st.counts) - n + 1)
	rev := rng.IntN(2) == 0
	for i := range rs {
		j := k + i
		if rev {
			j = k + n - 1 - i
		}
		rs[i].Counts, rs[i].Live = st.counts[j], st.live[j]
	}
	return nil
}

// windowNaI is the pass around st as 1-s readings along the log's real
// path, each from its position at t to t + 1 s (linear between the real
// fixes), in the frame of window.
func windowNaI(st site, half float64, veh int) []localize.Reading {
	s := st.track.Samples
	c := &s[st.i]
	lo, hi := st.span(half)
	f := localize.NewFrame(c.Lat, c.Lon)
	ts := make([]float64, 0, hi-lo+1)
	xs := make([]float64, 0, hi-lo+1)
	ys := make([]float64, 0, hi-lo+1)
	for j := lo; j <= hi; j++ {
		x, y := f.ToXY(s[j].Lat, s[j].Lon)
		ts, xs, ys = append(ts, s[j].Time.Sub(c.Time).Seconds()), append(xs, x), append(ys, y)
	}
	at := func(t float64) (float64, float64) {
		k := sort.SearchFloat64s(ts, t) // first fix at or after t
		switch {
		case k == 0:
			return xs[0], ys[0]
		case k == len(ts):
			return xs[len(xs)-1], ys[len(ys)-1]
		}
		u := (t - ts[k-1]) / (ts[k] - ts[k-1])
		return xs[k-1] + u*(xs[k]-xs[k-1]), ys[k-1] + u*(ys[k]-ys[k-1])
	}
	var rs []localize.Reading
	for t := math.Ceil(ts[0]); t+1 <= ts[len(ts)-1]; t++ {
		r := localize.Reading{Live: 1, Vehicle: veh, T: t + 0.5}
		r.X0, r.Y0 = at(t)
		r.X1, r.Y1 = at(t + 1)
		rs = append(rs, r)
	}
	toNorth(rs, f, s, st.i)
	return rs
}
