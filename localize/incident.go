package localize

import (
	"context"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/radtrack/radtrack/sample"
	"github.com/radtrack/radtrack/store"
)

// IncidentStore is what an incident's localisation reads.
type IncidentStore interface {
	ListDevices(ctx context.Context) ([]store.Device, error)
	EachSampleInArea(ctx context.Context, q store.AreaQuery, fn store.SampleFunc) error
	SpectraRange(ctx context.Context, q store.SpectrumQuery) ([]store.Spectrum, error)
}

// IncidentOptions choose the readings of an incident's fit.
type IncidentOptions struct {
	// Readings from Margin before the incident's first alarm to Margin
	// after its last, within RadiusM of its peak, from every device.
	Margin  time.Duration
	RadiusM float64
	// MaxSamples bounds the samples read per device (the one area query
	// reads at most this many times the devices).
	MaxSamples int
	// Device, if set, limits the readings to the devices it accepts (a
	// viewer's site subtree: a fit must not reveal other sites' vehicles).
	Device func(id int64) bool
}

// DefaultIncidentOptions: three minutes either side (a vehicle's approach
// and departure at town speeds), 400 m (a 100 GBq Cs-137 source is lost in
// a bGeigie's background beyond ~150 m; the rest is background).
func DefaultIncidentOptions() IncidentOptions {
	return IncidentOptions{Margin: 3 * time.Minute, RadiusM: 400, MaxSamples: 20000}
}

// Pass is one device's contiguous stretch of readings near the incident;
// each has its own background.
type Pass struct {
	DeviceID   int64     `json:"device_id"`
	From       time.Time `json:"from"`
	To         time.Time `json:"to"`
	Readings   int       `json:"readings"`
	Background float64   `json:"background_cps"`
	// Closest is the pass's closest approach to the estimate, metres.
	Closest float64 `json:"closest_m"`
	// Path is where its readings were taken, (lon, lat).
	Path [][2]float64 `json:"path"`
}

// Located is a mode of the fit in map coordinates.
type Located struct {
	Lat      float64      `json:"lat"`
	Lon      float64      `json:"lon"`
	Strength float64      `json:"strength_cps_1m"` // A, for a detector of the reference calibration
	Ellipse  *Ellipse     `json:"ellipse,omitempty"`
	Ring     [][2]float64 `json:"ellipse_ring,omitempty"` // (lon, lat), closed
	LogL     float64      `json:"-"`
}

// IncidentSource is an incident's source estimate.
type IncidentSource struct {
	IncidentID int64     `json:"incident_id"`
	From       time.Time `json:"from"`
	To         time.Time `json:"to"`
	RadiusM    float64   `json:"radius_m"`
	// Through is the incident's last_seen the fit was made for: an
	// estimate stands for the incident while it has not changed.
	Through time.Time `json:"through"`
	Located
	StrengthSE *float64 `json:"strength_se"` // null without an ellipse
	// ActivityMBq is the Cs-137 activity that strength means for an
	// unshielded source (Γ_H 0.09 µSv·m²/(MBq·h), the reference
	// calibration): an order of magnitude, not a measurement; null when
	// some counts came from spectra (a spectrometer's efficiency is not
	// its device's dose calibration).
	ActivityMBq *float64 `json:"cs137_equivalent_mbq"`
	TS          float64  `json:"ts"`
	Significant bool     `json:"significant"` // TS / SignificanceScale ≥ SignificantTS (Estimate.Significant)
	Dispersion  float64  `json:"dispersion"`
	// Scale is what the region's level and TS are read against
	// (Estimate.Scale: the dispersion, or the background's correlation
	// along the passes); Whitened: the fit weighed the readings by that
	// correlation (Estimate.Whitened; ts is then the whitened criterion's).
	Scale     float64 `json:"region_scale"`
	Whitened  bool    `json:"whitened"`
	Ambiguous bool    `json:"ambiguous"`
	// Unbounded: "no source" is within the 95 % level, so the region is
	// the whole plane; no mode then carries an ellipse or ring (a ring
	// would claim a region the readings do not give).
	Unbounded    bool      `json:"region_unbounded"`
	Alternatives []Located `json:"alternatives"`
	Passes       []Pass    `json:"passes"`
	Readings     int       `json:"readings"`
	Vehicles     int       `json:"vehicles"`
}

// SignificantTS: below it TS / SignificanceScale is no evidence of a source
// (about 4.5 σ for χ² with 3 degrees of freedom).
const SignificantTS = 25

// ErrNoPosition: the incident has no GPS position to centre the fit on.
var ErrNoPosition = errors.New("localize: the incident has no valid position")

// passGapS splits a device's readings into passes.
const passGapS = 60

// ForIncident fits a source to the counts of every device near inc. It
// reads the samples of the window in a box around the incident in one
// query (store.AreaQuery), every device at once.
func ForIncident(ctx context.Context, st IncidentStore, inc store.Incident, opt IncidentOptions) (IncidentSource, error) {
	if !inc.PeakGPSValid || !finite(inc.PeakLat, inc.PeakLon) {
		return IncidentSource{}, ErrNoPosition
	}
	from, to := inc.FirstSeen.Add(-opt.Margin), inc.LastSeen.Add(opt.Margin)
	fr := NewFrame(inc.PeakLat, inc.PeakLon)
	devices, err := st.ListDevices(ctx)
	if err != nil {
		return IncidentSource{}, fmt.Errorf("localize: devices: %w", err)
	}
	out := IncidentSource{IncidentID: inc.ID, From: from, To: to, RadiusM: opt.RadiusM, Through: inc.LastSeen, Alternatives: []Located{}, Passes: []Pass{}}
	var ids []int64
	for _, d := range devices {
		if opt.Device == nil || opt.Device(d.ID) {
			ids = append(ids, d.ID)
		}
	}
	if len(ids) == 0 {
		return IncidentSource{}, ErrNoReadings
	}
	byDevice := map[int64][]sample.Sample{}
	q := store.AreaQuery{Box: store.BoxAround(inc.PeakLon, inc.PeakLat, opt.RadiusM), From: from, To: to, Devices: ids}
	if opt.MaxSamples > 0 {
		q.Limit = opt.MaxSamples * len(ids)
	}
	err = st.EachSampleInArea(ctx, q, func(s *sample.Sample) error {
		if x, y := fr.ToXY(s.Lat, s.Lon); math.Hypot(x, y) <= opt.RadiusM && len(byDevice[s.DeviceID]) < opt.MaxSamples {
			byDevice[s.DeviceID] = append(byDevice[s.DeviceID], *s)
		}
		return nil
	})
	if err != nil {
		return IncidentSource{}, fmt.Errorf("localize: samples near incident %d: %w", inc.ID, err)
	}
	var rs []Reading
	type passInfo struct {
		Pass
		first, last int // reading indices
	}
	var passes []passInfo
	fromSpectra := false
	for _, d := range devices {
		near := byDevice[d.ID]
		if len(near) == 0 {
			continue
		}
		missing := false
		for _, s := range near {
			missing = missing || !sample.Has(s.Counts)
		}
		if missing {
			sp, err := st.SpectraRange(ctx, store.SpectrumQuery{DeviceID: d.ID, From: near[0].Time, To: near[len(near)-1].Time.Add(time.Microsecond), Limit: opt.MaxSamples})
			if err != nil {
				return IncidentSource{}, fmt.Errorf("localize: spectra of device %d: %w", d.ID, err)
			}
			near = WithSpectrumCounts(near, sp)
			fromSpectra = fromSpectra || len(sp) > 0
		}
		eff := 1.0
		if d.CPMPerUSvH > 0 {
			eff = d.CPMPerUSvH / sample.DefaultCPMPerUSvH
		}
		// Passes: split where the device was away (or silent) for a while.
		start := 0
		for i := 1; i <= len(near); i++ {
			if i < len(near) && near[i].Time.Sub(near[i-1].Time).Seconds() <= passGapS {
				continue
			}
			veh := len(passes)
			prs := fr.Readings(near[start:i], veh, d.CPMPerUSvH)
			if len(prs) > 0 {
				for k := range prs {
					prs[k].Eff = eff
				}
				passes = append(passes, passInfo{
					Pass:  Pass{DeviceID: d.ID, From: near[start].Time, To: near[i-1].Time, Readings: len(prs)},
					first: len(rs), last: len(rs) + len(prs),
				})
				rs = append(rs, prs...)
			}
			start = i
		}
	}
	if len(rs) == 0 {
		return IncidentSource{}, ErrNoReadings
	}
	est, err := Fit(rs, Config{HasCenter: true, HalfWidthM: min(opt.RadiusM, 300)})
	if err != nil {
		return IncidentSource{}, err
	}
	out.Located = located(fr, est.Mode)
	if se := est.StrengthSE(); finite(se) {
		out.StrengthSE = &se
	}
	if !fromSpectra {
		mbq := est.Strength / (cs137GammaH * sample.DefaultCPMPerUSvH / 60)
		out.ActivityMBq = &mbq
	}
	out.TS, out.Significant, out.Dispersion = est.TS, est.Significant(), est.Dispersion
	out.Scale, out.Whitened = est.Scale(), est.Whitened
	out.Ambiguous, out.Unbounded = est.Ambiguous, est.Unbounded
	for _, m := range est.Alternatives {
		out.Alternatives = append(out.Alternatives, located(fr, m))
	}
	if est.Unbounded {
		out.Ellipse, out.Ring = nil, nil
		for i := range out.Alternatives {
			out.Alternatives[i].Ellipse, out.Alternatives[i].Ring = nil, nil
		}
	}
	out.Readings, out.Vehicles = est.Readings, 0
	seen := map[int64]bool{}
	for _, p := range passes {
		p.Background = est.Background[len(out.Passes)]
		p.Closest = math.Inf(1)
		p.Path = make([][2]float64, 0, p.last-p.first)
		for _, r := range rs[p.first:p.last] {
			p.Closest = min(p.Closest, math.Hypot(r.X1-est.X, r.Y1-est.Y))
			lat, lon := fr.ToLatLon(r.X1, r.Y1)
			p.Path = append(p.Path, [2]float64{lon, lat})
		}
		out.Passes = append(out.Passes, p.Pass)
		if !seen[p.DeviceID] {
			seen[p.DeviceID] = true
			out.Vehicles++
		}
	}
	return out, nil
}

// cs137GammaH is Cs-137's ambient dose equivalent rate constant,
// µSv·m²/(MBq·h) (as eval/detection).
const cs137GammaH = 0.09

func located(fr Frame, m Mode) Located {
	lat, lon := fr.ToLatLon(m.X, m.Y)
	l := Located{Lat: lat, Lon: lon, Strength: m.Strength, LogL: m.LogL}
	if m.OK {
		e := m.Ellipse
		l.Ellipse = &e
		l.Ring = fr.EllipseRing(m, 64)
	}
	return l
}
