package sim

import (
	"fmt"
	"math"
	"math/rand/v2"
	"time"

	"github.com/radtrack/radtrack/sample"
)

// Vehicle is anything that reports like a vehicle: a simulated patrol or a
// log replay. Times are simulated time since the run started.
type Vehicle interface {
	UID() string
	Name() string
	// Next is the simulated time of the vehicle's next sample.
	Next() time.Duration
	// Report advances the vehicle to Next and returns that sample, stamped
	// with the given time. Next moves on.
	Report(stamp time.Time) sample.Sample
}

// FleetConfig describes a synthetic patrol fleet.
type FleetConfig struct {
	Vehicles   int
	Interval   time.Duration // between samples; default 2 s
	Seed       uint64
	UIDPrefix  string  // default "sim-": uids sim-001, sim-002, …
	CPMPerUSvH float64 // detector calibration; default DefaultCPMPerUSvH
	AirMu      float64 // air attenuation per metre; default AirMu662, negative disables
}

// Fleet is a layout's radiation field and the patrols driving in it.
type Fleet struct {
	Layout  Layout
	Field   *Field
	Patrols []*Patrol
}

// NewFleet places cfg.Vehicles patrols on the layout's routes in turn, each
// starting at a random point of its loop. Everything is drawn from cfg.Seed.
func NewFleet(l Layout, cfg FleetConfig) (*Fleet, error) {
	if len(l.Routes) == 0 {
		return nil, fmt.Errorf("sim: layout %q has no routes", l.Name)
	}
	if cfg.Vehicles < 0 {
		return nil, fmt.Errorf("sim: %d vehicles", cfg.Vehicles)
	}
	if cfg.Interval == 0 {
		cfg.Interval = 2 * time.Second
	}
	if cfg.Interval < time.Millisecond {
		return nil, fmt.Errorf("sim: interval %s is too short", cfg.Interval)
	}
	if cfg.UIDPrefix == "" {
		cfg.UIDPrefix = "sim-"
	}
	if cfg.CPMPerUSvH == 0 {
		cfg.CPMPerUSvH = DefaultCPMPerUSvH
	}
	switch {
	case cfg.AirMu == 0:
		cfg.AirMu = AirMu662
	case cfg.AirMu < 0:
		cfg.AirMu = 0
	}
	f := &Fleet{Layout: l, Field: NewField(l.Frame, cfg.Seed, cfg.AirMu, l.Sources)}
	for i := range cfg.Vehicles {
		route := l.Routes[i%len(l.Routes)]
		uid := fmt.Sprintf("%s%03d", cfg.UIDPrefix, i+1)
		name := fmt.Sprintf("Patrol %d (%s)", i+1, route.Name)
		rng := rand.New(rand.NewPCG(cfg.Seed, uint64(i)+1))
		f.Patrols = append(f.Patrols, newPatrol(uid, name, route, f.Field, l.Frame, rng, cfg.Interval, cfg.CPMPerUSvH, rng.Float64()*route.Length()))
	}
	return f, nil
}

// Vehicles returns the patrols as Vehicles for a Runner.
func (f *Fleet) Vehicles() []Vehicle {
	vs := make([]Vehicle, len(f.Patrols))
	for i, p := range f.Patrols {
		vs[i] = p
	}
	return vs
}

// Driving constants: patrol vehicles in a port, not racing cars.
const (
	minCruise   = 5.0  // m/s
	maxCruise   = 15.0 // m/s
	cornerSpeed = 5.0  // m/s through a turn sharper than cornerTurn
	cornerTurn  = 30.0 // degrees
	accel       = 1.0  // m/s²
	decel       = 2.0  // m/s²
	creep       = 1.0  // m/s: never stall short of a stop
	// subStep bounds the integration step: at 15 m/s a vehicle moves under
	// 4 m per step, fine enough for a source 15 m off the road.
	subStep = 0.25 // s
	// randomStopChance is the chance of a short unplanned stop at a waypoint.
	randomStopChance = 0.1
	gpsSigma         = 1.5        // m, position noise of the reported fix
	drainPerSecond   = 2.0 / 3600 // battery % per second
	swapBelow        = 15.0       // battery % at which the crew swaps the pack
)

// Patrol is one simulated vehicle on a loop. It is not safe for concurrent
// use; a Runner calls it from one goroutine.
type Patrol struct {
	uid, name string
	route     *Route
	field     *Field
	frame     Frame
	rng       *rand.Rand
	interval  float64 // s
	cal       float64 // CPM per µSv/h

	t, next   float64 // simulated seconds reached; of the next sample
	d         float64 // unwrapped distance along the route
	v, target float64 // speed and cruise speed of this leg, m/s
	stopAt    float64 // unwrapped distance of the next stop (+Inf: none)
	stopFor   float64 // its duration, s
	resume    float64 // while stopped: when to drive on
	stopped   bool

	lambda  float64   // expected counts since the last sample
	window  []float64 // counts of the last minute's intervals, for CPM
	wi, wn  int       // next slot of window; slots filled so far
	battery float64   // percent
}

func newPatrol(uid, name string, r *Route, field *Field, frame Frame, rng *rand.Rand, interval time.Duration, cal, start float64) *Patrol {
	p := &Patrol{uid: uid, name: name, route: r, field: field, frame: frame, rng: rng, cal: cal, d: start,
		battery: 70 + 30*rng.Float64()}
	p.SetInterval(interval)
	p.target = p.cruise()
	p.v = p.target
	p.planStop()
	return p
}

// SetInterval changes the sampling interval, e.g. to the bGeigie's 5 s when
// the patrol reports as one. Call it before the first Report.
func (p *Patrol) SetInterval(d time.Duration) {
	p.interval = d.Seconds()
	p.next = p.t + p.interval
	p.window = make([]float64, max(1, int(math.Round(60/p.interval))))
	p.wi, p.wn = 0, 0
}

func (p *Patrol) UID() string  { return p.uid }
func (p *Patrol) Name() string { return p.name }

// CPMPerUSvH is the calibration of the patrol's detector.
func (p *Patrol) CPMPerUSvH() float64 { return p.cal }

// Route is the loop the patrol drives.
func (p *Patrol) Route() *Route { return p.route }

// Next is the simulated time of the next sample.
func (p *Patrol) Next() time.Duration { return seconds(p.next) }

// Position is where the patrol truly is (without GPS noise).
func (p *Patrol) Position() LonLat {
	at, _ := p.route.At(p.d)
	return p.frame.LonLat(at)
}

// Report drives to the next sample time and reads the detector: the counts
// are Poisson around the dose integrated along the way.
func (p *Patrol) Report(stamp time.Time) sample.Sample {
	for p.t < p.next-1e-9 {
		p.step(min(subStep, p.next-p.t))
	}
	p.t = p.next
	counts := float64(Poisson(p.rng, p.lambda))
	p.lambda = 0
	p.window[p.wi] = counts
	p.wi = (p.wi + 1) % len(p.window)
	p.wn = min(p.wn+1, len(p.window))
	var sum float64
	for _, c := range p.window {
		sum += c
	}

	at, heading := p.route.At(p.d)
	fix := p.frame.LonLat(XY{at.X + p.rng.NormFloat64()*gpsSigma, at.Y + p.rng.NormFloat64()*gpsSigma})
	s := sample.New()
	s.DeviceUID = p.uid
	s.Time = stamp.UTC()
	s.Lon, s.Lat, s.GPSValid = fix.Lon, fix.Lat, true
	s.Altitude = math.Round((5+0.6*p.rng.NormFloat64())*10) / 10 // Maasvlakte is ~5 m above sea level
	s.Speed = math.Round(p.v*100) / 100
	s.Heading = math.Round(heading*10) / 10
	s.HDOP = math.Round((0.7+0.5*p.rng.Float64())*100) / 100
	s.Satellites = 8 + p.rng.IntN(5)
	s.Counts = counts
	s.CountInterval = p.interval
	// CPM is a rolling one-minute sum, scaled while the minute fills.
	s.CPM = math.Round(sum * 60 / (float64(p.wn) * p.interval))
	s.RadValid = true
	s.Battery = math.Round(p.battery*10) / 10
	s.FillDose(p.cal)
	p.next += p.interval
	return s
}

// step advances the patrol by dt seconds and integrates the expected counts.
func (p *Patrol) step(dt float64) {
	p.t += dt
	p.battery -= drainPerSecond * dt
	if p.battery < swapBelow {
		p.battery = 100
	}
	if p.stopped {
		if p.t >= p.resume {
			p.stopped = false
			p.target = p.cruise()
			p.planStop()
		}
	} else {
		p.drive(dt)
	}
	at, _ := p.route.At(p.d)
	p.lambda += CountRate(p.field.DoseRateXY(at), p.cal) * dt
}

func (p *Patrol) drive(dt float64) {
	wpAt, wp := p.route.nextWaypoint(p.d)
	limit := p.target
	if p.route.turn[wp] > cornerTurn {
		limit = min(limit, math.Sqrt(cornerSpeed*cornerSpeed+2*decel*(wpAt-p.d)))
	}
	toStop := p.stopAt - p.d
	limit = max(min(limit, math.Sqrt(2*decel*toStop)), creep)
	if p.v < limit {
		p.v = min(limit, p.v+accel*dt)
	} else {
		p.v = max(limit, p.v-decel*dt)
	}
	move := p.v * dt
	if move >= toStop {
		p.d, p.v, p.stopped = p.stopAt, 0, true
		p.resume = p.t + p.stopFor
		return
	}
	p.d += move
	if p.d >= wpAt { // a new leg: a new cruise speed
		p.target = p.cruise()
	}
}

func (p *Patrol) cruise() float64 { return minCruise + (maxCruise-minCruise)*p.rng.Float64() }

// planStop finds the next stop ahead: a planned one (gate, crane) or, by
// chance, a short one at any waypoint; at most one lap ahead.
func (p *Patrol) planStop() {
	p.stopAt, p.stopFor = math.Inf(1), 0
	d := p.d
	for range len(p.route.pts) {
		at, wp := p.route.nextWaypoint(d)
		if s, ok := p.route.stops[wp]; ok {
			p.stopAt = at
			p.stopFor = (s.Min + time.Duration(p.rng.Float64()*float64(s.Max-s.Min))).Seconds()
			return
		}
		if p.rng.Float64() < randomStopChance {
			p.stopAt, p.stopFor = at, 5+25*p.rng.Float64()
			return
		}
		d = at
	}
}
