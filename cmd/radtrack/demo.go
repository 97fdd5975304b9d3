package main

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"time"

	"github.com/radtrack/radtrack/app"
	"github.com/radtrack/radtrack/auth"
	"github.com/radtrack/radtrack/geo"
	"github.com/radtrack/radtrack/ingest"
	"github.com/radtrack/radtrack/rules"
	"github.com/radtrack/radtrack/server"
	"github.com/radtrack/radtrack/sim"
	"github.com/radtrack/radtrack/siteplan"
	"github.com/radtrack/radtrack/store"
)

// demoConfig is "radtrack demo"'s flags and environment.
type demoConfig struct {
	dataDir, addr, osmandAddr, bgeigieAddr string
	vehicles                               int
	interval, duration                     time.Duration
	speed, cpmPerUSvH                      float64
	protocol, logLevel                     string
	basemaps, basemapURLs                  string
	replay                                 bool
}

// demoOperator is the login the demo prints.
const demoOperator = "operator"

// runDemo is "radtrack demo": the whole product on the embedded store with
// a simulated patrol fleet, the two real Safecast drives replayed live, a
// hidden source beside a terminal road and pre-made zones — alarms fire as
// vehicles pass the source.
func runDemo(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var c demoConfig
	f := newFlagSet("demo", stderr)
	f.String(&c.dataDir, "data", "RADTRACK_DEMO_DATA", "./radtrack-demo", "data directory of the demo (embedded store)")
	f.String(&c.addr, "addr", "RADTRACK_ADDR", "127.0.0.1:8080", "HTTP listen address (map, API)")
	f.String(&c.osmandAddr, "osmand-addr", "RADTRACK_OSMAND_ADDR", "127.0.0.1:5055", "OsmAnd listener")
	f.String(&c.bgeigieAddr, "bgeigie-addr", "RADTRACK_BGEIGIE_ADDR", "127.0.0.1:5057", "bGeigie TCP listener")
	f.Int(&c.vehicles, "vehicles", "RADTRACK_DEMO_VEHICLES", 12, "simulated patrol vehicles")
	f.Duration(&c.interval, "interval", "RADTRACK_DEMO_INTERVAL", 2*time.Second, "time between a vehicle's samples")
	f.Float(&c.speed, "speed", "RADTRACK_DEMO_SPEED", 1, "run the vehicles this many times faster than real time")
	// A vehicle-mounted NaI(Tl) detector counts about ten times more than a
	// bGeigie's pancake tube: background readings are steady enough that
	// only the hidden source raises alarms.
	f.Float(&c.cpmPerUSvH, "cpm-per-usvh", "RADTRACK_DEMO_CPM_PER_USVH", 3340, "patrol detectors' calibration, CPM per µSv/h")
	f.String(&c.protocol, "protocol", "RADTRACK_DEMO_PROTOCOL", "mixed", "how the fleet reports: http, osmand, bgeigie or mixed")
	f.Bool(&c.replay, "replay", "RADTRACK_DEMO_REPLAY", true, "also replay the Safecast Fukushima and Los Angeles drives as live vehicles")
	f.Duration(&c.duration, "duration", "RADTRACK_DEMO_DURATION", 0, "stop after this long (0: until Ctrl-C)")
	f.String(&c.logLevel, "log-level", "RADTRACK_LOG_LEVEL", "warn", "server log level")
	f.String(&c.basemaps, "basemap", "RADTRACK_BASEMAP", "", "PMTiles basemap archives, comma-separated (as for serve)")
	f.String(&c.basemapURLs, "basemap-url", "RADTRACK_BASEMAP_URL", "", "internal tile servers, comma-separated (as for serve)")
	if err := f.Parse(args); err != nil {
		return err
	}
	if c.duration > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, c.duration)
		defer cancel()
	}
	log := newLogger(stderr, c.logLevel)

	layout := sim.DefaultLayout()
	fleetCfg := sim.FleetConfig{Vehicles: c.vehicles, Interval: c.interval, Seed: 1, CPMPerUSvH: c.cpmPerUSvH}
	// The replayed drives are bGeigie logs: they report as bGeigie units.
	patrols := c.vehicles
	vehicles, protocol, err := simVehicles(layout, fleetCfg, c.replay, "safecast-", func(i int) string {
		if i >= patrols {
			return "bgeigie"
		}
		return pick(c.protocol, i)
	})
	if err != nil {
		return err
	}

	// The node outlives the simulator at shutdown, so that the vehicles'
	// last queued samples are still taken.
	nodeCtx, stopNode := context.WithCancel(context.WithoutCancel(ctx))
	defer stopNode()
	scfg := server.DefaultConfig()
	if scfg.Basemaps, err = server.ParseBasemaps(splitList(c.basemaps), splitList(c.basemapURLs)); err != nil {
		return err
	}
	node, err := app.New(nodeCtx, app.Config{
		EmbeddedDir: filepath.Join(c.dataDir, "db"), Server: scfg, Writer: ingest.DefaultWriterConfig(), Geo: geo.DefaultConfig(),
		Addr: c.addr, OsmAndAddr: c.osmandAddr, BGeigieAddr: c.bgeigieAddr,
		DeviceCacheTTL: 10 * time.Second, ShutdownTimeout: 10 * time.Second,
		BGeigieIdle: 2 * time.Minute, BGeigieMaxConns: 1000,
	}, log, func(user, password string) {
		fmt.Fprintf(stdout, "First start: created user %q with password %s\n", user, password)
	})
	if err != nil {
		return err
	}
	password, tokens, err := setupDemo(ctx, node, layout, vehicles)
	if err != nil {
		return err
	}
	served := make(chan error, 1)
	go func() { served <- node.Run(nodeCtx) }()

	url := "http://" + node.Addr()
	fmt.Fprintf(stdout, "\nRadTrack demo: %s\n  map:   %s\n  login: %s / %s\n  %d vehicles (%s), Safecast drives replayed: %v; hidden source near %s\n\n",
		layout.Name, url, demoOperator, password, len(vehicles), c.protocol, c.replay, describeSources(layout))

	sink, _, closeSinks := buildSinks(simConfig{url: url, osmandAddr: node.OsmAndAddr(), bgeigieAddr: node.BGeigieAddr()}, vehicles, protocol, tokens)
	defer closeSinks()
	runner := &sim.Runner{Vehicles: vehicles, Sink: sink, Speed: c.speed, Drain: 2 * time.Second, Log: log}
	simErr := runner.Run(ctx)
	stopNode()
	runErr := <-served
	if simErr != nil && !errors.Is(simErr, context.Canceled) && !errors.Is(simErr, context.DeadlineExceeded) {
		return errors.Join(simErr, runErr)
	}
	return runErr
}

func describeSources(l sim.Layout) string {
	if len(l.Sources) == 0 {
		return "nowhere"
	}
	s := l.Sources[0]
	return fmt.Sprintf("%s (%.5f N, %.5f E)", s.Name, s.Pos.Lat, s.Pos.Lon)
}

// setupDemo makes the demo's operator (with a fresh password each run),
// its zones and zone rule (once), and the vehicles' devices, returning the
// operator's password and each vehicle's token.
func setupDemo(ctx context.Context, n *app.Node, layout sim.Layout, vehicles []sim.Vehicle) (string, map[string]string, error) {
	st := n.Store
	password, err := demoPassword()
	if err != nil {
		return "", nil, err
	}
	hash, err := auth.HashPassword(password, auth.DefaultBcryptCost)
	if err != nil {
		return "", nil, err
	}
	if u, err := st.UserByUsername(ctx, demoOperator); err == nil {
		if _, err := st.UpdateUser(ctx, u.ID, store.UserUpdate{PasswordHash: &hash}); err != nil {
			return "", nil, err
		}
	} else if _, err := st.CreateUser(ctx, store.User{Username: demoOperator, Role: auth.RoleOperator, PasswordHash: hash}); err != nil {
		return "", nil, err
	}

	fences, err := st.ListFences(ctx)
	if err != nil {
		return "", nil, err
	}
	if len(fences) == 0 {
		for _, z := range layout.Zones {
			feature, err := json.Marshal(z)
			if err != nil {
				return "", nil, err
			}
			created, err := st.CreateFence(ctx, store.Fence{Name: z.Name, Kind: z.Kind, Feature: feature})
			if err != nil {
				return "", nil, err
			}
			if z.Kind == "monitoring" {
				if _, err := st.CreateRule(ctx, rules.Rule{Name: z.Name + " above 0.3 µSv/h", Kind: rules.KindZone,
					Severity: rules.Severity("alarm"), Enabled: true,
					Zone: &rules.ZoneParams{FenceID: created.ID, ThresholdUSvH: 0.3}}); err != nil {
					return "", nil, err
				}
			}
		}
		if err := errors.Join(n.Alarms.ReloadFences(ctx), n.Alarms.ReloadRules(ctx)); err != nil {
			return "", nil, err
		}
	}

	if err := ensureSitePlan(ctx, st, layout); err != nil {
		return "", nil, err
	}

	tokens := map[string]string{}
	for _, spec := range sim.Specs(vehicles) {
		token, tokenHash, err := auth.NewDeviceToken()
		if err != nil {
			return "", nil, err
		}
		d, err := st.DeviceByUID(ctx, spec.UID)
		switch {
		case err == nil:
			err = st.SetDeviceToken(ctx, d.ID, tokenHash)
			n.Devices.Forget(d.ID)
		case errors.Is(err, store.ErrNotFound):
			_, err = st.CreateDevice(ctx, store.Device{UID: spec.UID, Name: spec.Name, Group: "demo", CPMPerUSvH: spec.CPMPerUSvH}, tokenHash)
		}
		if err != nil {
			return "", nil, fmt.Errorf("demo device %s: %w", spec.UID, err)
		}
		tokens[spec.UID] = token
	}
	return password, tokens, nil
}

func demoPassword() (string, error) {
	var b [9]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", err
	}
	return "demo-" + base64.RawURLEncoding.EncodeToString(b[:]), nil
}

// ensureSitePlan stores the layout's site plan (its roads, quays, stacks
// and customs yard) once, validated like an upload through the API.
func ensureSitePlan(ctx context.Context, st store.Store, layout sim.Layout) error {
	existing, err := st.ListOverlays(ctx)
	if err != nil {
		return err
	}
	for _, o := range existing {
		if o.Name == layout.SitePlanName() {
			return nil
		}
	}
	data, err := layout.SitePlan()
	if err != nil {
		return err
	}
	plan, err := siteplan.ParseGeoJSON(data)
	if err != nil {
		return fmt.Errorf("demo site plan: %w", err)
	}
	features, err := json.Marshal(plan)
	if err != nil {
		return err
	}
	_, err = st.CreateOverlay(ctx, store.Overlay{Name: layout.SitePlanName(), Features: features, FeatureCount: len(plan.Features), CreatedBy: "demo"})
	return err
}
