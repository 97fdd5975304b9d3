package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/url"
	"time"

	"github.com/radtrack/radtrack/sim"
)

// simConfig is "radtrack sim"'s flags and environment.
type simConfig struct {
	url, osmandAddr, bgeigieAddr string
	token, user, password        string
	vehicles, seed               int
	interval, duration           time.Duration
	protocol                     string
	replay                       bool
	speed, cpmPerUSvH            float64
	logLevel                     string
}

func parseSimConfig(args []string, stderr io.Writer) (simConfig, error) {
	var c simConfig
	f := newFlagSet("sim", stderr)
	f.String(&c.url, "url", "RADTRACK_SIM_URL", "http://127.0.0.1:8080", "server URL (REST API, HTTP batch ingest)")
	f.String(&c.osmandAddr, "osmand-addr", "RADTRACK_SIM_OSMAND_ADDR", "", "OsmAnd listener host:port or URL (default: the -url host, port 5055)")
	f.String(&c.bgeigieAddr, "bgeigie-addr", "RADTRACK_SIM_BGEIGIE_ADDR", "", "bGeigie TCP listener host:port (default: the -url host, port 5057)")
	f.String(&c.token, "token", "RADTRACK_SIM_TOKEN", "", "admin API token (rtu_…) to register the vehicles with")
	f.String(&c.user, "admin-user", "RADTRACK_SIM_ADMIN_USER", "admin", "admin username, when no -token")
	f.String(&c.password, "admin-password", "RADTRACK_SIM_ADMIN_PASSWORD", "", "admin password, when no -token")
	f.Int(&c.vehicles, "vehicles", "RADTRACK_SIM_VEHICLES", 5, "simulated patrol vehicles (the default layout has 5 routes)")
	f.Duration(&c.interval, "interval", "RADTRACK_SIM_INTERVAL", 2*time.Second, "time between a vehicle's samples (bGeigie vehicles always use 5 s)")
	f.String(&c.protocol, "protocol", "RADTRACK_SIM_PROTOCOL", "http", "http, osmand, bgeigie, or mixed (vehicles take turns)")
	f.Bool(&c.replay, "replay", "RADTRACK_SIM_REPLAY", false, "also replay the embedded Fukushima and Los Angeles bGeigie drives as live vehicles")
	f.Float(&c.speed, "speed", "RADTRACK_SIM_SPEED", 1, "run the simulation this many times faster than real time")
	f.Float(&c.cpmPerUSvH, "cpm-per-usvh", "RADTRACK_SIM_CPM_PER_USVH", sim.DefaultCPMPerUSvH, "patrol detectors' calibration, CPM per µSv/h (334: bGeigie LND 7317; larger detectors count more and fluctuate less)")
	f.Duration(&c.duration, "duration", "RADTRACK_SIM_DURATION", 0, "stop after this long (0: until Ctrl-C)")
	f.Int(&c.seed, "seed", "RADTRACK_SIM_SEED", 1, "random seed: the same seed drives the same way")
	f.String(&c.logLevel, "log-level", "RADTRACK_LOG_LEVEL", "info", "log level: debug, info, warn, error")
	if err := f.Parse(args); err != nil {
		return c, err
	}
	switch c.protocol {
	case "http", "osmand", "bgeigie", "mixed":
	default:
		return c, fmt.Errorf("-protocol %q: want http, osmand, bgeigie or mixed", c.protocol)
	}
	if c.vehicles < 0 || (c.vehicles == 0 && !c.replay) {
		return c, fmt.Errorf("-vehicles %d: nothing to simulate", c.vehicles)
	}
	if !(c.cpmPerUSvH > 0) {
		return c, fmt.Errorf("-cpm-per-usvh %v must be positive", c.cpmPerUSvH)
	}
	if !(c.speed > 0) {
		return c, fmt.Errorf("-speed %v must be positive", c.speed)
	}
	u, err := url.Parse(c.url)
	if err != nil || u.Host == "" {
		return c, fmt.Errorf("-url %q is not a server URL", c.url)
	}
	if c.osmandAddr == "" {
		c.osmandAddr = net.JoinHostPort(u.Hostname(), "5055")
	}
	if c.bgeigieAddr == "" {
		c.bgeigieAddr = net.JoinHostPort(u.Hostname(), "5057")
	}
	return c, nil
}

// runSim is "radtrack sim": a patrol fleet (and optionally log replays)
// registered as devices and reporting to a server over real protocols. With
// many vehicles or a short interval it is a load generator.
func runSim(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	c, err := parseSimConfig(args, stderr)
	if err != nil {
		return err
	}
	log := newLogger(stderr, c.logLevel)
	layout := sim.DefaultLayout()
	vehicles, protocol, err := simVehicles(layout, sim.FleetConfig{Vehicles: c.vehicles, Interval: c.interval, Seed: uint64(c.seed), CPMPerUSvH: c.cpmPerUSvH},
		c.replay, "sim-replay-", func(i int) string { return pick(c.protocol, i) })
	if err != nil {
		return err
	}

	admin := &sim.Admin{URL: c.url, Token: c.token, User: c.user, Password: c.password, Log: log}
	tokens, err := admin.Provision(ctx, sim.Specs(vehicles))
	if err != nil {
		return err
	}
	sink, senders, closeSinks := buildSinks(c, vehicles, protocol, tokens)
	defer closeSinks()
	if c.speed > 5 && c.protocol != "http" && c.protocol != "osmand" {
		log.Warn("sim: bGeigie sentences carry whole seconds; above -speed 5 two samples of a vehicle can share a second and the server keeps one")
	}
	for _, s := range layout.Sources {
		log.Debug("sim: hidden source", "name", s.Name, "lon", s.Pos.Lon, "lat", s.Pos.Lat, "usvh_at_1m", s.Strength)
	}
	fmt.Fprintf(stdout, "sim: %d vehicles (%s) on %s reporting to %s; speed %g×\n", len(vehicles), c.protocol, layout.Name, c.url, c.speed)

	if c.duration > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, c.duration)
		defer cancel()
	}
	runner := &sim.Runner{Vehicles: vehicles, Sink: sink, Speed: c.speed, Log: log}
	start := time.Now()
	done := make(chan struct{})
	go func() {
		defer close(done)
		reportProgress(ctx, stdout, runner, senders, start)
	}()
	err = runner.Run(ctx)
	<-done
	printProgress(stdout, runner.Stats(), retries(senders), time.Since(start), "done")
	return err
}

// simVehicles builds the patrol fleet (each patrol on the protocol pick
// gives it; bGeigie patrols report every 5 s, the period of the sentence's
// count field) and, with replay, the two Safecast drives, named
// replayPrefix+log, on the protocol pick gives the next indexes.
func simVehicles(layout sim.Layout, cfg sim.FleetConfig, replay bool, replayPrefix string, pick func(i int) string) ([]sim.Vehicle, map[string]string, error) {
	fleet, err := sim.NewFleet(layout, cfg)
	if err != nil {
		return nil, nil, err
	}
	vehicles := fleet.Vehicles()
	protocol := map[string]string{}
	for i, p := range fleet.Patrols {
		protocol[p.UID()] = pick(i)
		if protocol[p.UID()] == "bgeigie" {
			p.SetInterval(5 * time.Second)
		}
	}
	if replay {
		for i, name := range []string{sim.LogFukushima, sim.LogLosAngeles} {
			r, err := sim.NewLogReplay(replayPrefix+name, name, 1)
			if err != nil {
				return nil, nil, err
			}
			vehicles = append(vehicles, r)
			protocol[r.UID()] = pick(len(fleet.Patrols) + i)
		}
	}
	return vehicles, protocol, nil
}

// pick is the protocol of the i-th vehicle: mixed takes turns.
func pick(protocol string, i int) string {
	if protocol == "mixed" {
		return []string{"http", "osmand", "bgeigie"}[i%3]
	}
	return protocol
}

// retryCounter is a sender that counts its retries.
type retryCounter interface{ Retries() int64 }

// buildSinks makes one sender per protocol in use and routes each vehicle
// to its own.
func buildSinks(c simConfig, vehicles []sim.Vehicle, protocol, tokens map[string]string) (sim.Sink, []retryCounter, func()) {
	client := sim.NewHTTPClient()
	httpS := &sim.HTTPSender{URL: c.url, Tokens: tokens, Client: client}
	osmS := &sim.OsmAndSender{URL: sim.ListenerURL(c.osmandAddr), Tokens: tokens, Client: client}
	bgS := &sim.BGeigieSender{Addr: c.bgeigieAddr, Tokens: tokens}
	byName := map[string]sim.Sink{"http": httpS, "osmand": osmS, "bgeigie": bgS}
	mux := sim.Mux{}
	for _, v := range vehicles {
		mux[v.UID()] = byName[protocol[v.UID()]]
	}
	return mux, []retryCounter{httpS, osmS, bgS}, func() { _ = bgS.Close() }
}

func retries(senders []retryCounter) int64 {
	var n int64
	for _, s := range senders {
		n += s.Retries()
	}
	return n
}

// reportProgress prints a line every 5 s until ctx ends.
func reportProgress(ctx context.Context, w io.Writer, r *sim.Runner, senders []retryCounter, start time.Time) {
	t := time.NewTicker(5 * time.Second)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			printProgress(w, r.Stats(), retries(senders), time.Since(start), "")
		}
	}
}

func printProgress(w io.Writer, st sim.Stats, retries int64, elapsed time.Duration, note string) {
	rate := float64(st.Acked) / max(elapsed.Seconds(), 1e-3)
	fmt.Fprintf(w, "sim %6s: sent %d acked %d failed %d dropped %d retries %d (%.1f acked/s) %s\n",
		elapsed.Round(time.Second), st.Sent, st.Acked, st.Failed, st.Dropped, retries, rate, note)
}
