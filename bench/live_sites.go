package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"runtime"
	"strings"
	"sync"
	"time"
)

// The sites mode of the live benchmark (issue 17): a centre with
// SubCentres sub-centres of Rooms monitoring rooms each, the vehicles
// spread over the rooms, ViewersPerRoom viewers per room who see only
// their room's vehicles. The same fleet is then watched by as many viewers
// all at the root site (everyone sees everything): the cost of scoping
// against one site, in the same run, on the same server.

// SitesConfig shapes the tree.
type SitesConfig struct {
	SubCentres, Rooms, ViewersPerRoom int
}

// SitesPhase is one load phase's viewer and server figures.
type SitesPhase struct {
	Name                     string
	Viewers                  int
	Offered, Acked           int64
	LoadWall                 time.Duration
	LatP50, LatP99, LatMax   time.Duration
	Positions                int64
	CoverageMin, CoverageMax float64 // share of acked samples a viewer received
	Reconnects               int
	ServerCPU                time.Duration
	ServerCores              float64
	ServerRunWait            time.Duration
	Failed                   int
}

// SitesResult is a sites run: the scoped phase and the one-site baseline.
type SitesResult struct {
	Cfg             LiveConfig
	Sites           SitesConfig
	CPUs            int
	LoadAvg         string
	Scoped, OneSite SitesPhase
}

func (r SitesResult) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "live push by site: %d sub-centres × %d rooms × %d viewers = %d viewers, %d vehicles at 1 Hz spread over the rooms, %s per phase; %d CPUs, load avg before %s\n",
		r.Sites.SubCentres, r.Sites.Rooms, r.Sites.ViewersPerRoom, r.Scoped.Viewers, r.Cfg.Vehicles, r.Cfg.Duration, r.CPUs, r.LoadAvg)
	for _, p := range []SitesPhase{r.Scoped, r.OneSite} {
		fmt.Fprintf(&b, "%-9s sample→viewer p50 %s p99 %s max %s over %d positions; per viewer %.2f–%.2f %% of acked samples; server CPU %.2f cores (run wait %s); ingest %d/%d acked; reconnects %d, viewers failed %d\n",
			p.Name+":", roundDur(p.LatP50), roundDur(p.LatP99), roundDur(p.LatMax), p.Positions, 100*p.CoverageMin, 100*p.CoverageMax,
			p.ServerCores, roundDur(p.ServerRunWait), p.Acked, p.Offered, p.Reconnects, p.Failed)
	}
	if r.OneSite.ServerCores > 0 && r.OneSite.LatP99 > 0 {
		fmt.Fprintf(&b, "scoped / one site: server CPU ×%.2f, p99 latency ×%.2f\n",
			r.Scoped.ServerCores/r.OneSite.ServerCores, r.Scoped.LatP99.Seconds()/r.OneSite.LatP99.Seconds())
	}
	return b.String()
}

// RunLiveSites runs the sites mode; cfg.Viewers is ignored (the tree sets it).
func RunLiveSites(ctx context.Context, cfg LiveConfig, sc SitesConfig, progress io.Writer) (res SitesResult, err error) {
	if cfg.Vehicles <= 0 || cfg.Duration < time.Second || sc.SubCentres <= 0 || sc.Rooms <= 0 || sc.ViewersPerRoom <= 0 {
		return res, errors.New("need vehicles > 0, duration ≥ 1s and a tree of at least one sub-centre, room and viewer")
	}
	if cfg.Clients <= 0 {
		cfg.Clients = min(max(cfg.Vehicles/20, 8), 512)
	}
	cfg.Alarms, cfg.Emergency = 0, 0
	res.Cfg, res.Sites, res.CPUs, res.LoadAvg = cfg, sc, runtime.NumCPU(), loadAvg()

	dataDir, err := os.MkdirTemp("", "radtrack-bench-sites-")
	if err != nil {
		return res, err
	}
	defer os.RemoveAll(dataDir)
	fmt.Fprintln(progress, "starting server…")
	srv, err := startServer(ctx, cfg, dataDir)
	if err != nil {
		return res, err
	}
	defer func() {
		if serr := srv.stop(); serr != nil && err == nil {
			err = serr
		}
	}()
	api := &apiClient{base: "http://" + srv.addr}
	if err := api.login(ctx, srv.adminUser, srv.adminPassword); err != nil {
		return res, err
	}
	runID := randomHex(4)
	fmt.Fprintf(progress, "creating %d sub-centres × %d rooms…\n", sc.SubCentres, sc.Rooms)
	var rooms []int64
	for i := range sc.SubCentres {
		sub, err := createSite(ctx, api, 1, fmt.Sprintf("sub-%s-%02d", runID, i))
		if err != nil {
			return res, err
		}
		for j := range sc.Rooms {
			room, err := createSite(ctx, api, sub, fmt.Sprintf("room-%02d", j))
			if err != nil {
				return res, err
			}
			rooms = append(rooms, room)
		}
	}
	fmt.Fprintf(progress, "creating %d devices over %d rooms…\n", cfg.Vehicles, len(rooms))
	fleet, err := createSiteDevices(ctx, api, runID, cfg.Vehicles, rooms)
	if err != nil {
		return res, err
	}
	fmt.Fprintf(progress, "creating and logging in %d room users and one root user…\n", len(rooms))
	var scoped, oneSite []string
	for i, room := range rooms {
		cookie, err := createViewer(ctx, api, fmt.Sprintf("%s-%d", runID, i), room)
		if err != nil {
			return res, err
		}
		for range sc.ViewersPerRoom {
			scoped = append(scoped, cookie)
		}
	}
	rootCookie, err := createViewer(ctx, api, runID+"-root", 1)
	if err != nil {
		return res, err
	}
	for range scoped {
		oneSite = append(oneSite, rootCookie)
	}
	api.client.CloseIdleConnections()

	if res.Scoped, err = runSitesPhase(ctx, cfg, srv, fleet, "scoped", scoped, progress); err != nil {
		return res, err
	}
	if res.OneSite, err = runSitesPhase(ctx, cfg, srv, fleet, "one site", oneSite, progress); err != nil {
		return res, err
	}
	return res, nil
}

// runSitesPhase opens one viewer per cookie, runs the load and measures.
func runSitesPhase(ctx context.Context, cfg LiveConfig, srv *serverProc, fleet []benchVehicle, name string, cookies []string, progress io.Writer) (SitesPhase, error) {
	p := SitesPhase{Name: name, Viewers: len(cookies)}
	fmt.Fprintf(progress, "%s: opening %d viewers…\n", name, len(cookies))
	viewers := make([]*liveViewer, len(cookies))
	defer func() {
		for _, v := range viewers {
			if v != nil {
				v.close()
			}
		}
	}()
	for i, c := range cookies {
		v := newLiveViewer(srv.addr, c)
		if err := v.connect(ctx); err != nil {
			return p, fmt.Errorf("viewer %d: %w", i, err)
		}
		viewers[i] = v
	}
	for _, v := range viewers {
		go v.run(ctx)
	}
	fmt.Fprintf(progress, "%s: load, %d vehicles at 1 Hz for %s…\n", name, cfg.Vehicles, cfg.Duration)
	pid := srv.cmd.Process.Pid
	wait0 := procRunWait(pid)
	cpu0, _ := procCPU(pid)
	ld, err := runLoad(ctx, cfg, srv.addr, fleet)
	if err != nil {
		return p, err
	}
	cpu1, cpuErr := procCPU(pid)
	p.ServerRunWait = procRunWait(pid) - wait0
	p.Offered, p.Acked, p.LoadWall = ld.offered, ld.acked, ld.wall
	if cpuErr == nil {
		p.ServerCPU = cpu1 - cpu0
		p.ServerCores = p.ServerCPU.Seconds() / ld.wall.Seconds()
	}
	time.Sleep(300 * time.Millisecond) // the last positions tick
	all := new(latencyHist)
	p.CoverageMin = 2
	for _, v := range viewers {
		v.close()
	}
	for _, v := range viewers {
		all.merge(v.hist)
		p.Positions += v.positions
		p.Reconnects += v.reconnects
		if v.failed != nil {
			p.Failed++
		}
		cov := 0.0
		if ld.acked > 0 {
			cov = float64(v.positions) / float64(ld.acked)
		}
		p.CoverageMin, p.CoverageMax = min(p.CoverageMin, cov), max(p.CoverageMax, cov)
	}
	p.LatP50, p.LatP99, p.LatMax = all.quantile(0.50), all.quantile(0.99), all.maxDur()
	return p, nil
}

func createSite(ctx context.Context, api *apiClient, parent int64, name string) (int64, error) {
	var out struct {
		Site struct {
			ID int64 `json:"id"`
		} `json:"site"`
	}
	err := api.do(ctx, http.MethodPost, "/api/v1/sites", map[string]any{"parent_id": parent, "name": name}, &out, http.StatusCreated)
	return out.Site.ID, err
}

// createSiteDevices registers n devices, device i in room i mod len(rooms).
func createSiteDevices(ctx context.Context, api *apiClient, runID string, n int, rooms []int64) ([]benchVehicle, error) {
	fleet := make([]benchVehicle, n)
	next := make(chan int)
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		firstErr error
	)
	for range 8 {
		wg.Go(func() {
			for i := range next {
				uid := fmt.Sprintf("bench-%s-%05d", runID, i)
				var out struct {
					Device struct {
						ID int64 `json:"id"`
					} `json:"device"`
					Token string `json:"token"`
				}
				err := api.do(ctx, http.MethodPost, "/api/v1/devices", map[string]any{"name": uid, "uid": uid, "site_id": rooms[i%len(rooms)]}, &out, http.StatusCreated)
				mu.Lock()
				if err != nil && firstErr == nil {
					firstErr = err
				}
				mu.Unlock()
				fleet[i] = benchVehicle{id: out.Device.ID, token: out.Token}
			}
		})
	}
	for i := range n {
		next <- i
	}
	close(next)
	wg.Wait()
	return fleet, firstErr
}
