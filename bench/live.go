package bench

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/csv"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"math/bits"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"runtime/pprof"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/gorilla/websocket"
)

// The live benchmark runs the server as a child process so that its CPU
// and memory are measured apart from the load generator (vehicles posting
// over HTTP, viewers reading WebSockets), which runs in this process.

// Targets of the live push on the reference machine (2 cores).
const (
	LiveTargetP99         = 250 * time.Millisecond
	LiveTargetIdleViewKiB = 16.0
)

// LiveConfig sets the shape of the live-push benchmark.
type LiveConfig struct {
	// Server is the radtrack binary; it is started as
	// "Server bench live-server <serve flags>" (see RunLiveServer).
	Server string
	// DatabaseURL is the PostgreSQL database of the server; "" runs the
	// embedded store in a fresh temporary directory.
	DatabaseURL string
	Vehicles    int           // each posts one sample per second
	Viewers     int           // WebSocket viewers subscribed to everything
	Duration    time.Duration // load phase
	Alarms      int           // distinct vehicles that send one hot sample
	// Emergency is the share of vehicles (0–1) inside alarm conditions for
	// the whole load: every sample of theirs is above OIL3, so each of
	// their episodes is updated by every sample (issue 19).
	Emergency float64
	// Clients is the number of HTTP client goroutines posting samples
	// (0: Vehicles/20, between 8 and 512).
	Clients int
	// ServerCPUProfile, if set, is where the server writes a CPU profile of
	// the load phase.
	ServerCPUProfile string
	// ServerHeapProfile, if set, is where the server writes a heap profile
	// whenever its resident set reaches a new peak during the load (checked
	// every second): the profile of the peak, not of the end.
	ServerHeapProfile string
}

// LiveResult is what one run measured.
type LiveResult struct {
	Cfg       LiveConfig
	Store     string
	CPUs      int
	LoadAvg   string // of the machine before the run
	SetupTime time.Duration

	// Ingest (load generator side).
	Offered, Acked, Failed int64
	FailedBy               map[string]int64 // status or error → count
	HotAcked               int64
	LoadWall               time.Duration
	IngestP50, IngestP99   time.Duration
	IngestMax              time.Duration
	LagP99                 time.Duration // send time − scheduled time

	// Viewers.
	LatP50, LatP99, LatMax   time.Duration // sample time → positions frame received
	Positions                int64         // vehicle positions received, all viewers
	PosFrames, AlarmFrames   int64
	Bytes                    int64 // all frames, all viewers
	CoverageMin, CoverageMax float64
	Reconnects               int

	// Server.
	IdleRSSKiB, IdleHeapStackKiB, IdleGoroutines float64 // per idle viewer
	IdleHeapKiB, IdleStackKiB                    float64 // the two parts of IdleHeapStackKiB
	ServerCPU                                    time.Duration
	ServerCores                                  float64
	ServerRSSKiB, ServerHWMKiB                   int64 // at the end of the load
	GeneratorCores                               float64
	// ServerRunWait is how long the server's threads waited for a CPU
	// during the load (schedstat): high on a machine shared with others.
	ServerRunWait  time.Duration
	Commits        int64
	CommitAvg      time.Duration
	CommitBatchAvg float64

	// Alarms.
	AlarmsRaised               int // open alarms of the benchmark's devices
	DeliveredMin, DeliveredMax int
	AlarmsMissing              int // sum over viewers of raised alarms never delivered
}

func (r LiveResult) String() string {
	var b strings.Builder
	loadSec := r.LoadWall.Seconds()
	fmt.Fprintf(&b, "live push: %d vehicles at 1 Hz, %d viewers, %s, %d alarm vehicles, %.0f %% of vehicles in alarm conditions throughout, %d HTTP clients; %s; %d CPUs, load avg before %s\n",
		r.Cfg.Vehicles, r.Cfg.Viewers, r.Cfg.Duration, r.Cfg.Alarms, 100*r.Cfg.Emergency, r.Cfg.Clients, r.Store, r.CPUs, r.LoadAvg)
	fmt.Fprintf(&b, "setup: %d devices, users, viewers in %s (not measured)\n", r.Cfg.Vehicles, r.SetupTime.Round(100*time.Millisecond))
	fmt.Fprintf(&b, "ingest: %.0f samples/s acked (%d of %d offered, %d failed%s), request p50 %s p99 %s max %s, generator lag p99 %s\n",
		float64(r.Acked)/loadSec, r.Acked, r.Offered, r.Failed, failedDetail(r.FailedBy),
		roundDur(r.IngestP50), roundDur(r.IngestP99), roundDur(r.IngestMax), roundDur(r.LagP99))
	fmt.Fprintf(&b, "sample→viewer latency: p50 %s p99 %s max %s over %d positions\n",
		roundDur(r.LatP50), roundDur(r.LatP99), roundDur(r.LatMax), r.Positions)
	bpf := 0.0
	if r.PosFrames > 0 {
		bpf = float64(r.Bytes) / float64(r.PosFrames+r.AlarmFrames)
	}
	fmt.Fprintf(&b, "frames: %.0f positions frames/s in total (%.1f per viewer), %.1f KiB/frame, %.1f MiB/s; %d alarm frames; positions per viewer %.1f–%.1f %% of samples acked; reconnects %d\n",
		float64(r.PosFrames)/loadSec, float64(r.PosFrames)/loadSec/float64(max(r.Cfg.Viewers, 1)), bpf/1024,
		float64(r.Bytes)/loadSec/(1<<20), r.AlarmFrames, 100*r.CoverageMin, 100*r.CoverageMax, r.Reconnects)
	fmt.Fprintf(&b, "idle viewer (server side, after GC): %.1f KiB heap+stack (%.1f + %.1f), %.1f KiB RSS, %.1f goroutines per connection\n",
		r.IdleHeapStackKiB, r.IdleHeapKiB, r.IdleStackKiB, r.IdleRSSKiB, r.IdleGoroutines)
	perK := 0.0
	if r.Acked > 0 {
		perK = float64(r.ServerCPU.Milliseconds()) / (float64(r.Acked) / 1000)
	}
	fmt.Fprintf(&b, "server CPU: %.2f cores (%.1f ms per 1k samples), RSS %.0f MiB at end of load (peak %.0f MiB); load generator %.2f cores\n",
		r.ServerCores, perK, float64(r.ServerRSSKiB)/1024, float64(r.ServerHWMKiB)/1024, r.GeneratorCores)
	fmt.Fprintf(&b, "server detail: waited %.2f s per wall s for a CPU (run queue); %d group commits, avg %.0f samples in %s\n",
		r.ServerRunWait.Seconds()/loadSec, r.Commits, r.CommitBatchAvg, roundDur(r.CommitAvg))
	fmt.Fprintf(&b, "alarms: %d raised (%d hot samples acked), delivered per viewer min %d max %d, missing %d\n",
		r.AlarmsRaised, r.HotAcked, r.DeliveredMin, r.DeliveredMax, r.AlarmsMissing)
	fmt.Fprintf(&b, "targets: p99 < %s %s; 0 alarms lost %s; < %.0f KiB per idle viewer %s; %d samples/s acked %s\n",
		LiveTargetP99, verdict(r.LatP99 < LiveTargetP99 && r.Positions > 0), verdict(r.AlarmsMissing == 0 && (r.AlarmsRaised > 0 || r.Cfg.Alarms == 0)),
		LiveTargetIdleViewKiB, verdict(r.IdleHeapStackKiB < LiveTargetIdleViewKiB),
		r.Cfg.Vehicles, verdict(r.Failed == 0 && float64(r.Acked)/loadSec >= 0.99*float64(r.Cfg.Vehicles)))
	return b.String()
}

func verdict(ok bool) string {
	if ok {
		return "MET"
	}
	return "MISSED"
}

func roundDur(d time.Duration) time.Duration {
	switch {
	case d >= time.Second:
		return d.Round(10 * time.Millisecond)
	case d >= 10*time.Millisecond:
		return d.Round(time.Millisecond)
	default:
		return d.Round(10 * time.Microsecond)
	}
}

func failedDetail(m map[string]int64) string {
	if len(m) == 0 {
		return ""
	}
	parts := make([]string, 0, len(m))
	for k, v := range m {
		parts = append(parts, fmt.Sprintf("%s ×%d", k, v))
	}
	return ": " + strings.Join(parts, ", ")
}

// RunLive starts the server binary as a child process, provisions devices
// and a viewer, measures the memory of idle viewers, then runs vehicles at
// 1 Hz with viewers reading the live push. The child is stopped before it
// returns, also on errors and when ctx ends.
func RunLive(ctx context.Context, cfg LiveConfig, progress io.Writer) (res LiveResult, err error) {
	if cfg.Vehicles <= 0 || cfg.Viewers <= 0 || cfg.Duration < time.Second || cfg.Alarms < 0 || cfg.Alarms > cfg.Vehicles ||
		cfg.Emergency < 0 || cfg.Emergency > 1 {
		return res, errors.New("need vehicles > 0, viewers > 0, duration ≥ 1s and 0 ≤ alarms ≤ vehicles")
	}
	if cfg.Clients <= 0 {
		cfg.Clients = min(max(cfg.Vehicles/20, 8), 512)
	}
	res.Cfg, res.CPUs, res.LoadAvg = cfg, runtime.NumCPU(), loadAvg()
	res.Store = "embedded store (fresh temp dir)"
	if cfg.DatabaseURL != "" {
		res.Store = "PostgreSQL (-database-url)"
	}

	dataDir, err := os.MkdirTemp("", "radtrack-bench-live-")
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
	fmt.Fprintf(progress, "server pid %d on %s\n", srv.cmd.Process.Pid, srv.addr)

	setupStart := time.Now()
	api := &apiClient{base: "http://" + srv.addr}
	if err := api.login(ctx, srv.adminUser, srv.adminPassword); err != nil {
		return res, err
	}
	runID := randomHex(4)
	fmt.Fprintf(progress, "creating %d devices…\n", cfg.Vehicles)
	fleet, err := createDevices(ctx, api, runID, cfg.Vehicles)
	if err != nil {
		return res, err
	}
	cookie, err := createViewer(ctx, api, runID, 0)
	if err != nil {
		return res, err
	}
	api.client.CloseIdleConnections()
	res.SetupTime = time.Since(setupStart)

	// Idle memory per viewer: garbage collected, before and after opening
	// the sockets and receiving each snapshot.
	fmt.Fprintf(progress, "opening %d viewers…\n", cfg.Viewers)
	before, err := srv.memory(ctx)
	if err != nil {
		return res, err
	}
	viewers := make([]*liveViewer, cfg.Viewers)
	defer func() {
		for _, v := range viewers {
			if v != nil {
				v.close()
			}
		}
	}()
	for i := range viewers {
		v := newLiveViewer(srv.addr, cookie)
		if err := v.connect(ctx); err != nil {
			return res, fmt.Errorf("viewer %d: %w", i, err)
		}
		viewers[i] = v
	}
	after, err := srv.memory(ctx)
	if err != nil {
		return res, err
	}
	m := float64(cfg.Viewers)
	res.IdleRSSKiB = float64(after.rssKiB-before.rssKiB) / m
	res.IdleHeapKiB = (after.heap - before.heap) / 1024 / m
	res.IdleStackKiB = (after.stack - before.stack) / 1024 / m
	res.IdleHeapStackKiB = res.IdleHeapKiB + res.IdleStackKiB
	res.IdleGoroutines = (after.goroutines - before.goroutines) / m
	for _, v := range viewers {
		go v.run(ctx)
	}

	// Load.
	fmt.Fprintf(progress, "load: %d vehicles at 1 Hz for %s…\n", cfg.Vehicles, cfg.Duration)
	if cfg.ServerCPUProfile != "" {
		p, err := filepath.Abs(cfg.ServerCPUProfile)
		if err == nil {
			err = srv.command(ctx, "profile-start "+p)
		}
		if err != nil {
			return res, fmt.Errorf("server CPU profile: %w", err)
		}
	}
	metrics0, _ := scrape(ctx, "http://"+srv.addr+"/metrics")
	wait0 := procRunWait(srv.cmd.Process.Pid)
	cpu0, _ := procCPU(srv.cmd.Process.Pid)
	self0, _ := procCPU(os.Getpid())
	stopPeaks := func() {}
	if cfg.ServerHeapProfile != "" {
		p, err := filepath.Abs(cfg.ServerHeapProfile)
		if err != nil {
			return res, fmt.Errorf("server heap profile: %w", err)
		}
		stopPeaks = srv.profilePeaks(ctx, p, progress)
	}
	ld, err := runLoad(ctx, cfg, srv.addr, fleet)
	stopPeaks()
	if err != nil {
		return res, err
	}
	cpu1, cpuErr := procCPU(srv.cmd.Process.Pid)
	self1, _ := procCPU(os.Getpid())
	res.ServerRunWait = procRunWait(srv.cmd.Process.Pid) - wait0
	if metrics1, err := scrape(ctx, "http://"+srv.addr+"/metrics"); err == nil && metrics0 != nil {
		delta := func(k string) float64 { return metrics1[k] - metrics0[k] }
		if n := delta("radtrack_commit_seconds_count"); n > 0 {
			res.Commits = int64(n)
			res.CommitAvg = time.Duration(delta("radtrack_commit_seconds_sum") / n * float64(time.Second))
			res.CommitBatchAvg = delta("radtrack_commit_batch_samples_sum") / n
		}
	}
	if cfg.ServerCPUProfile != "" {
		if err := srv.command(ctx, "profile-stop"); err != nil {
			return res, fmt.Errorf("server CPU profile: %w", err)
		}
	}
	res.ServerRSSKiB, res.ServerHWMKiB, _ = procRSS(srv.cmd.Process.Pid)
	res.Offered, res.Acked, res.Failed, res.FailedBy, res.HotAcked = ld.offered, ld.acked, ld.failed, ld.failedBy, ld.hotAcked
	res.LoadWall = ld.wall
	res.IngestP50, res.IngestP99, res.IngestMax = ld.latency.quantile(0.50), ld.latency.quantile(0.99), ld.latency.maxDur()
	res.LagP99 = ld.lag.quantile(0.99)
	if cpuErr == nil {
		res.ServerCPU = cpu1 - cpu0
		res.ServerCores = res.ServerCPU.Seconds() / ld.wall.Seconds()
		res.GeneratorCores = (self1 - self0).Seconds() / ld.wall.Seconds()
	}

	// Alarms: the raised set from the API, then wait until every viewer has
	// every raised alarm (or give up after 10 s).
	fmt.Fprintln(progress, "checking alarms…")
	expected, err := raisedAlarms(ctx, api, fleet)
	if err != nil {
		return res, err
	}
	res.AlarmsRaised = len(expected)
	deadline := time.Now().Add(10 * time.Second)
	for {
		missing := 0
		for _, v := range viewers {
			missing += len(expected) - v.delivered(expected)
		}
		if missing == 0 || time.Now().After(deadline) || ctx.Err() != nil {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	time.Sleep(300 * time.Millisecond) // the last positions tick
	for _, v := range viewers {
		v.close()
	}

	all := new(latencyHist)
	res.DeliveredMin, res.CoverageMin = math.MaxInt, math.Inf(1)
	for _, v := range viewers {
		all.merge(v.hist)
		d := v.delivered(expected)
		res.AlarmsMissing += len(expected) - d
		res.DeliveredMin, res.DeliveredMax = min(res.DeliveredMin, d), max(res.DeliveredMax, d)
		res.Positions += v.positions
		res.PosFrames += v.posFrames
		res.AlarmFrames += v.alarmFrames
		res.Bytes += v.bytes
		res.Reconnects += v.reconnects
		cov := 0.0
		if ld.acked > 0 {
			cov = float64(v.positions) / float64(ld.acked)
		}
		res.CoverageMin, res.CoverageMax = min(res.CoverageMin, cov), max(res.CoverageMax, cov)
		if v.failed != nil {
			fmt.Fprintf(progress, "viewer gave up: %v\n", v.failed)
		}
	}
	res.LatP50, res.LatP99, res.LatMax = all.quantile(0.50), all.quantile(0.99), all.maxDur()
	return res, nil
}

// --- the server child process ---

// liveServerReply prefixes the child's answers to control commands on
// its stderr.
const liveServerReply = "bench-live-server:"

// RunLiveServer runs serve (the "radtrack serve" command) as the child of
// a live benchmark. The parent controls it through lines on control (the
// child's stdin): "gc" collects garbage and returns memory to the OS,
// "profile-start FILE" and "profile-stop" bracket a CPU profile, and
// "heap-profile FILE" writes one of the heap now; each is
// answered on replies. The server shuts down gracefully when control
// reaches EOF, so a parent that dies never leaves it running.
func RunLiveServer(ctx context.Context, control io.Reader, replies io.Writer, serve func(context.Context) error) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		mu   sync.Mutex
		prof *os.File
	)
	stopProfile := func() error {
		mu.Lock()
		defer mu.Unlock()
		if prof == nil {
			return errors.New("no profile running")
		}
		pprof.StopCPUProfile()
		err := prof.Close()
		prof = nil
		return err
	}
	go func() {
		defer cancel()
		sc := bufio.NewScanner(control)
		for sc.Scan() {
			cmd, arg, _ := strings.Cut(strings.TrimSpace(sc.Text()), " ")
			var err error
			switch cmd {
			case "gc":
				runtime.GC()
				debug.FreeOSMemory()
			case "profile-start":
				mu.Lock()
				if prof != nil {
					err = errors.New("a profile is running")
				} else if prof, err = os.Create(arg); err == nil {
					if err = pprof.StartCPUProfile(prof); err != nil {
						prof.Close()
						prof = nil
					}
				}
				mu.Unlock()
			case "profile-stop":
				err = stopProfile()
			case "heap-profile":
				err = writeHeapProfile(arg)
			default:
				err = fmt.Errorf("unknown command %q", cmd)
			}
			if err != nil {
				fmt.Fprintf(replies, "%s %s error %v\n", liveServerReply, cmd, err)
			} else {
				fmt.Fprintf(replies, "%s %s ok\n", liveServerReply, cmd)
			}
		}
	}()
	err := serve(ctx)
	_ = stopProfile()
	return err
}

type serverProc struct {
	cmd                      *exec.Cmd
	stdin                    io.WriteCloser
	addr                     string
	adminUser, adminPassword string
	replies                  chan string
	exited                   chan struct{}
	waitErr                  error

	mu   sync.Mutex
	tail []string // last lines of stderr, for error messages

	stopOnce sync.Once
	stopErr  error
}

func startServer(ctx context.Context, cfg LiveConfig, dataDir string) (*serverProc, error) {
	args := []string{"bench", "live-server",
		"-addr", "127.0.0.1:0", "-osmand-addr", "", "-bgeigie-addr", "",
		"-database-url", cfg.DatabaseURL, "-data", dataDir, "-redis-url", "",
		"-ip-rate", "0", "-device-rate", "0", "-login-rate", "0",
		"-tls-cert", "", "-tls-key", "", "-log-level", "info", "-shutdown-timeout", "20s",
	}
	cmd := exec.Command(cfg.Server, args...)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	stderr, err := cmd.StderrPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start server %s: %w", cfg.Server, err)
	}
	s := &serverProc{cmd: cmd, stdin: stdin, replies: make(chan string, 16), exited: make(chan struct{})}
	type listening struct{ addr, password string }
	ready := make(chan listening, 1)
	go func() {
		var password string
		sc := bufio.NewScanner(stderr)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			line := sc.Text()
			switch {
			case strings.HasPrefix(line, liveServerReply):
				s.replies <- strings.TrimSpace(strings.TrimPrefix(line, liveServerReply))
				continue
			case strings.Contains(line, `First start: created user "admin" with password `):
				_, password, _ = strings.Cut(line, " with password ")
				password = strings.TrimSpace(password)
				continue
			case strings.Contains(line, `"msg":"listening"`):
				var l struct {
					API string `json:"api"`
				}
				if json.Unmarshal([]byte(line), &l) == nil && l.API != "" {
					ready <- listening{l.API, password}
				}
			}
			s.mu.Lock()
			s.tail = append(s.tail, line)
			if len(s.tail) > 20 {
				s.tail = s.tail[1:]
			}
			s.mu.Unlock()
		}
		_, _ = io.Copy(io.Discard, stderr)
		s.waitErr = cmd.Wait()
		close(s.exited)
	}()
	select {
	case l := <-ready:
		s.addr, s.adminUser, s.adminPassword = l.addr, "admin", l.password
	case <-s.exited:
		return nil, fmt.Errorf("server exited at start (%v): %s", s.waitErr, s.lastLines())
	case <-time.After(2 * time.Minute):
		_ = s.stop()
		return nil, fmt.Errorf("server did not start within 2 minutes: %s", s.lastLines())
	case <-ctx.Done():
		_ = s.stop()
		return nil, ctx.Err()
	}
	if s.adminPassword == "" {
		// An existing database: add an admin of our own.
		s.adminUser, s.adminPassword = "bench-admin-"+randomHex(4), randomHex(12)
		add := exec.CommandContext(ctx, cfg.Server, "user", "add", s.adminUser, "-role", "admin",
			"-database-url", cfg.DatabaseURL, "-data", dataDir)
		add.Stdin = strings.NewReader(s.adminPassword + "\n")
		if out, err := add.CombinedOutput(); err != nil {
			_ = s.stop()
			return nil, fmt.Errorf("no first-admin password printed, and adding an admin failed: %v: %s", err, out)
		}
	}
	return s, nil
}

func (s *serverProc) lastLines() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return strings.Join(s.tail, "\n")
}

// stop ends the server gracefully (EOF on its control input and SIGTERM),
// killing it if it has not exited within 40 s.
func (s *serverProc) stop() error {
	s.stopOnce.Do(func() {
		_ = s.stdin.Close()
		_ = s.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-s.exited:
			if s.waitErr != nil {
				s.stopErr = fmt.Errorf("server exited with %v: %s", s.waitErr, s.lastLines())
			}
		case <-time.After(40 * time.Second):
			_ = s.cmd.Process.Kill()
			<-s.exited
			s.stopErr = errors.New("server did not stop within 40 s after SIGTERM; killed")
		}
	})
	return s.stopErr
}

// command sends a control command and waits for its answer.
func (s *serverProc) command(ctx context.Context, cmd string) error {
	if _, err := fmt.Fprintln(s.stdin, cmd); err != nil {
		return err
	}
	name, _, _ := strings.Cut(cmd, " ")
	timeout := time.After(time.Minute)
	for {
		select {
		case r := <-s.replies:
			if !strings.HasPrefix(r, name+" ") {
				continue
			}
			if strings.HasPrefix(r, name+" ok") {
				return nil
			}
			return errors.New(r)
		case <-s.exited:
			return fmt.Errorf("server exited: %s", s.lastLines())
		case <-timeout:
			return fmt.Errorf("server did not answer %q", cmd)
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

type memSample struct {
	rssKiB      int64
	heap, stack float64 // bytes in use
	goroutines  float64
}

// memory collects the server's garbage, then reads its RSS and its Go
// heap and stacks in use.
func (s *serverProc) memory(ctx context.Context) (memSample, error) {
	var m memSample
	if err := s.command(ctx, "gc"); err != nil {
		return m, err
	}
	metrics, err := scrape(ctx, "http://"+s.addr+"/metrics")
	if err != nil {
		return m, err
	}
	m.heap, m.stack = metrics["go_memstats_heap_inuse_bytes"], metrics["go_memstats_stack_inuse_bytes"]
	m.goroutines = metrics["go_goroutines"]
	m.rssKiB, _, _ = procRSS(s.cmd.Process.Pid)
	return m, nil
}

// scrape reads the unlabelled samples of a Prometheus text page.
func scrape(ctx context.Context, u string) (map[string]float64, error) {
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s: %s", u, resp.Status)
	}
	out := map[string]float64{}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		name, val, ok := strings.Cut(sc.Text(), " ")
		if !ok || strings.HasPrefix(name, "#") || strings.Contains(name, "{") {
			continue
		}
		if f, err := strconv.ParseFloat(strings.TrimSpace(val), 64); err == nil {
			out[name] = f
		}
	}
	return out, sc.Err()
}

// procCPU is a process's user+system CPU time from /proc (Linux).
func procCPU(pid int) (time.Duration, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, errors.New("malformed /proc stat")
	}
	f := strings.Fields(string(b[i+1:])) // from field 3 (state) on
	if len(f) < 13 {
		return 0, errors.New("malformed /proc stat")
	}
	utime, err1 := strconv.ParseInt(f[11], 10, 64)
	stime, err2 := strconv.ParseInt(f[12], 10, 64)
	if err := errors.Join(err1, err2); err != nil {
		return 0, err
	}
	const userHZ = 100 // USER_HZ, fixed at 100 on Linux for /proc
	return time.Duration(utime+stime) * time.Second / userHZ, nil
}

// procRunWait is the time the threads of a process have spent runnable
// but waiting for a CPU (Linux schedstat; 0 where unavailable).
func procRunWait(pid int) time.Duration {
	tasks, _ := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/schedstat", pid))
	var sum time.Duration
	for _, t := range tasks {
		b, err := os.ReadFile(t)
		if err != nil {
			continue
		}
		if f := strings.Fields(string(b)); len(f) >= 2 {
			ns, _ := strconv.ParseInt(f[1], 10, 64)
			sum += time.Duration(ns)
		}
	}
	return sum
}

// profilePeaks has the server write a heap profile to path at every new
// peak of its resident set (checked each second) until the returned stop.
func (s *serverProc) profilePeaks(ctx context.Context, path string, progress io.Writer) (stop func()) {
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		tick := time.NewTicker(time.Second)
		defer tick.Stop()
		var peak int64
		for {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
			rss, _, err := procRSS(s.cmd.Process.Pid)
			if err != nil || rss <= peak {
				continue
			}
			peak = rss
			if err := s.command(ctx, "heap-profile "+path); err != nil && ctx.Err() == nil {
				fmt.Fprintf(progress, "server heap profile: %v\n", err)
				return
			}
		}
	}()
	return func() { cancel(); <-done }
}

// procRSS is a process's resident set and its peak, in KiB (Linux).
func procRSS(pid int) (rss, hwm int64, err error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, 0, err
	}
	for line := range strings.Lines(string(b)) {
		k, v, _ := strings.Cut(line, ":")
		n, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
		switch k {
		case "VmRSS":
			rss = n
		case "VmHWM":
			hwm = n
		}
	}
	return rss, hwm, nil
}

func loadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "n/a"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "n/a"
	}
	return strings.Join(f[:3], " ")
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// --- provisioning through the API ---

type apiClient struct {
	base   string
	client *http.Client
}

func (a *apiClient) login(ctx context.Context, user, password string) error {
	jar, _ := cookiejar.New(nil)
	a.client = &http.Client{Jar: jar, Timeout: time.Minute, Transport: &http.Transport{MaxIdleConnsPerHost: 16}}
	return a.do(ctx, http.MethodPost, "/api/v1/login", map[string]string{"username": user, "password": password}, nil, http.StatusOK)
}

func (a *apiClient) do(ctx context.Context, method, path string, body, out any, want int) error {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, a.base+path, rd)
	if err != nil {
		return err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := a.client.Do(req)
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, path, err)
	}
	if resp.StatusCode != want {
		return fmt.Errorf("%s %s: %s %s", method, path, resp.Status, bytes.TrimSpace(b))
	}
	switch out := out.(type) {
	case nil:
		return nil
	case *[]byte: // the body as it is (a CSV)
		*out = b
		return nil
	default:
		return json.Unmarshal(b, out)
	}
}

type benchVehicle struct {
	id    int64
	token string
}

// createDevices registers n devices through the API, a few at a time.
func createDevices(ctx context.Context, api *apiClient, runID string, n int) ([]benchVehicle, error) {
	fleet := make([]benchVehicle, n)
	next := make(chan int)
	errs := make(chan error, 8)
	var wg sync.WaitGroup
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
				if err := api.do(ctx, http.MethodPost, "/api/v1/devices", map[string]string{"name": uid, "uid": uid}, &out, http.StatusCreated); err != nil {
					errs <- err
					return
				}
				fleet[i] = benchVehicle{id: out.Device.ID, token: out.Token}
			}
		})
	}
	var err error
feed:
	for i := range n {
		select {
		case next <- i:
		case err = <-errs:
			break feed
		}
	}
	close(next)
	wg.Wait()
	close(errs)
	if err == nil {
		err = <-errs
	}
	return fleet, err
}

// createViewer adds a viewer user at site (0: the root) and logs it in;
// the session cookie is shared by every viewer socket of that user.
func createViewer(ctx context.Context, api *apiClient, suffix string, site int64) (string, error) {
	name, password := "bench-viewer-"+suffix, randomHex(12)
	user := map[string]any{"username": name, "password": password, "role": "viewer"}
	if site != 0 {
		user["site_id"] = site
	}
	if err := api.do(ctx, http.MethodPost, "/api/v1/users", user, nil, http.StatusCreated); err != nil {
		return "", err
	}
	v := &apiClient{base: api.base}
	if err := v.login(ctx, name, password); err != nil {
		return "", err
	}
	defer v.client.CloseIdleConnections()
	u, _ := url.Parse(api.base)
	var cookies []string
	for _, c := range v.client.Jar.Cookies(u) {
		cookies = append(cookies, c.Name+"="+c.Value)
	}
	if len(cookies) == 0 {
		return "", errors.New("login set no session cookie")
	}
	return strings.Join(cookies, "; "), nil
}

// raisedAlarms returns the IDs of the open alarms of the benchmark's devices.
func raisedAlarms(ctx context.Context, api *apiClient, fleet []benchVehicle) (map[int64]bool, error) {
	ours := make(map[int64]bool, len(fleet))
	for _, v := range fleet {
		ours[v.id] = true
	}
	// One streamed CSV of every open alarm: an emergency has more of them
	// than one JSON list answers (1 000).
	var body []byte
	if err := api.do(ctx, http.MethodGet, "/api/v1/alarms?state=open&imported=false&format=csv", nil, &body, http.StatusOK); err != nil {
		return nil, err
	}
	rows, err := csv.NewReader(bytes.NewReader(body)).ReadAll()
	if err != nil {
		return nil, fmt.Errorf("open alarms CSV: %w", err)
	}
	ids := map[int64]bool{}
	for _, row := range rows[min(1, len(rows)):] { // after the header
		id, err1 := strconv.ParseInt(row[0], 10, 64)
		dev, err2 := strconv.ParseInt(row[1], 10, 64)
		if err := errors.Join(err1, err2); err != nil {
			return nil, fmt.Errorf("open alarms CSV row %q: %w", row, err)
		}
		if ours[dev] {
			ids[id] = true
		}
	}
	return ids, nil
}

// writeHeapProfile writes the heap profile of this process to path.
func writeHeapProfile(path string) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := pprof.Lookup("heap").WriteTo(f, 0); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// --- vehicles ---

type loadResult struct {
	offered, acked, failed, hotAcked int64
	failedBy                         map[string]int64
	wall                             time.Duration
	latency, lag                     *latencyHist
}

type loadJob struct {
	vehicle int32
	hot     bool
	due     time.Time
}

// runLoad makes every vehicle post one sample per second for
// cfg.Duration, the sends of each second spread evenly over it, through a
// bounded pool of keep-alive HTTP clients.
func runLoad(ctx context.Context, cfg LiveConfig, addr string, fleet []benchVehicle) (loadResult, error) {
	ticks := int(cfg.Duration / time.Second)
	n := len(fleet)
	// hot[i] is the second in which vehicle i sends its hot sample (-1:
	// none): distinct vehicles, spread over the fleet and over the run,
	// at least a second before its end.
	hot := make([]int, n)
	for i := range hot {
		hot[i] = -1
	}
	span := max(ticks-1, 1)
	for j := range cfg.Alarms {
		hot[j*n/cfg.Alarms] = min(span*(j+1)/(cfg.Alarms+1), ticks-1)
	}

	transport := &http.Transport{
		MaxIdleConns: cfg.Clients, MaxIdleConnsPerHost: cfg.Clients, MaxConnsPerHost: cfg.Clients,
		IdleConnTimeout: time.Minute, DisableCompression: true,
	}
	defer transport.CloseIdleConnections()
	client := &http.Client{Transport: transport, Timeout: 30 * time.Second}
	target := "http://" + addr + "/api/v1/measurements"

	jobs := make(chan loadJob, cfg.Clients*2)
	type workerResult struct {
		acked, failed, hotAcked int64
		failedBy                map[string]int64
		latency, lag            *latencyHist
	}
	results := make([]workerResult, cfg.Clients)
	var wg sync.WaitGroup
	for w := range cfg.Clients {
		wg.Go(func() {
			r := &results[w]
			r.latency, r.lag, r.failedBy = new(latencyHist), new(latencyHist), map[string]int64{}
			var body []byte
			for j := range jobs {
				now := time.Now()
				r.lag.add(now.Sub(j.due))
				body = vehicleSample(body[:0], int(j.vehicle), now, j.hot, emergency(cfg, int(j.vehicle)))
				req, _ := http.NewRequestWithContext(ctx, http.MethodPost, target, bytes.NewReader(body))
				req.Header.Set("Authorization", "Bearer "+fleet[j.vehicle].token)
				req.Header.Set("Content-Type", "application/x-ndjson")
				resp, err := client.Do(req)
				if err != nil {
					r.failed++
					r.failedBy[errorKind(err)]++
					continue
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				r.latency.add(time.Since(now))
				if resp.StatusCode != http.StatusOK {
					r.failed++
					r.failedBy[strconv.Itoa(resp.StatusCode)]++
					continue
				}
				r.acked++
				if j.hot {
					r.hotAcked++
				}
			}
		})
	}

	start := time.Now().Add(50 * time.Millisecond)
	var offered int64
dispatch:
	for k := range ticks {
		for i := range n {
			due := start.Add(time.Duration(k)*time.Second + time.Duration(i)*time.Second/time.Duration(n))
			// Sends due within a millisecond go together: a timer per
			// sample would cost more than the sample.
			if d := time.Until(due); d > time.Millisecond {
				select {
				case <-time.After(d):
				case <-ctx.Done():
					break dispatch
				}
			}
			select {
			case jobs <- loadJob{vehicle: int32(i), hot: hot[i] == k, due: due}:
				offered++
			case <-ctx.Done():
				break dispatch
			}
		}
	}
	close(jobs)
	wg.Wait()
	res := loadResult{offered: offered, wall: time.Since(start), latency: new(latencyHist), lag: new(latencyHist), failedBy: map[string]int64{}}
	for _, r := range results {
		res.acked += r.acked
		res.failed += r.failed
		res.hotAcked += r.hotAcked
		res.latency.merge(r.latency)
		res.lag.merge(r.lag)
		for k, v := range r.failedBy {
			res.failedBy[k] += v
		}
	}
	return res, ctx.Err()
}

func errorKind(err error) string {
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	s := err.Error()
	if len(s) > 40 {
		s = s[:40]
	}
	return s
}

// emergency reports whether vehicle i is one of the cfg.Emergency share
// inside alarm conditions (spread over the fleet).
func emergency(cfg LiveConfig, i int) bool {
	return float64(i%100) < cfg.Emergency*100
}

// vehicleSample appends one NDJSON sample of vehicle i at time now: each
// vehicle drives a slow circle of its own inside a port box (51.90–52.00 N,
// 3.95–4.15 E) at background dose, 1.5 µSv/h (above OIL3) when inside an
// emergency, or 5 µSv/h when hot.
func vehicleSample(b []byte, i int, now time.Time, hot, emergency bool) []byte {
	_, fracLat := math.Modf(float64(i) * 0.6180339887)
	_, fracLon := math.Modf(float64(i) * 0.4142135623)
	_, phase := math.Modf(float64(i) * 0.7548776662)
	const period = 600.0 // s per circle
	a := 2*math.Pi*float64(now.UnixMilli()%(period*1000))/(period*1000) + 2*math.Pi*phase
	lat := 51.905 + 0.09*fracLat + 0.003*math.Sin(a)
	lon := 3.96 + 0.18*fracLon + 0.005*math.Cos(a)
	heading := math.Mod(720-a*180/math.Pi, 360) // the tangent: north cos a, east −sin a
	dose := 0.08
	if emergency {
		dose = 1.5 + float64(now.UnixMilli()%7)*0.05
	}
	if hot {
		dose = 5
	}
	b = append(b, `{"time":"`...)
	b = now.UTC().Truncate(time.Millisecond).AppendFormat(b, time.RFC3339Nano)
	return fmt.Appendf(b, `","lat":%.6f,"lon":%.6f,"speed":3.5,"heading":%.0f,"dose_rate":%g}`+"\n", lat, lon, heading, dose)
}

// --- viewers ---

type liveViewer struct {
	url    string
	header http.Header

	mu       sync.Mutex
	ws       *websocket.Conn
	stopping bool
	raised   map[int64]bool // alarm frames with event "raised"
	resynced map[int64]bool // alarms of snapshots answering a resume that could not recover
	done     chan struct{}

	// Owned by the reading goroutine; read after done is closed.
	offset                            string
	buf                               []byte
	hist                              *latencyHist
	positions, posFrames, alarmFrames int64
	bytes                             int64
	reconnects                        int
	failed                            error

	closeOnce  sync.Once
	runStarted atomic.Bool
}

func newLiveViewer(addr, cookie string) *liveViewer {
	return &liveViewer{
		url:    "ws://" + addr + "/api/v1/live",
		header: http.Header{"Origin": {"http://" + addr}, "Cookie": {cookie}},
		raised: map[int64]bool{}, resynced: map[int64]bool{},
		done: make(chan struct{}), hist: new(latencyHist),
	}
}

var liveDialer = websocket.Dialer{HandshakeTimeout: 10 * time.Second, ReadBufferSize: 32 << 10, WriteBufferSize: 1 << 10}

// connect opens the socket (resuming after v.offset if set) and reads the
// snapshot. It retries while the live feed is not ready (503).
func (v *liveViewer) connect(ctx context.Context) error {
	target := v.url
	if v.offset != "" {
		target += "?offset=" + v.offset
	}
	var ws *websocket.Conn
	for attempt := 0; ; attempt++ {
		c, resp, err := liveDialer.DialContext(ctx, target, v.header)
		if err == nil {
			ws = c
			break
		}
		if resp == nil || resp.StatusCode != http.StatusServiceUnavailable || attempt >= 40 {
			if resp != nil {
				err = fmt.Errorf("%w (%s)", err, resp.Status)
			}
			return err
		}
		time.Sleep(250 * time.Millisecond)
	}
	_ = ws.SetReadDeadline(time.Now().Add(30 * time.Second))
	if err := v.readFrame(ws); err != nil {
		ws.Close()
		return fmt.Errorf("read snapshot: %w", err)
	}
	_ = ws.SetReadDeadline(time.Time{})
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.stopping {
		ws.Close()
		return errors.New("stopped")
	}
	v.ws = ws
	return nil
}

// run reads frames until close, resuming after the last offset if the
// connection drops.
func (v *liveViewer) run(ctx context.Context) {
	v.runStarted.Store(true)
	defer close(v.done)
	for {
		v.mu.Lock()
		ws := v.ws
		v.mu.Unlock()
		var err error
		for err == nil {
			err = v.readFrame(ws)
		}
		v.mu.Lock()
		stopping := v.stopping
		v.mu.Unlock()
		if stopping || ctx.Err() != nil {
			return
		}
		if v.reconnects++; v.reconnects > 20 {
			v.failed = fmt.Errorf("more than 20 reconnects, last: %w", err)
			return
		}
		if err := v.connect(ctx); err != nil {
			v.failed = fmt.Errorf("reconnect: %w", err)
			return
		}
	}
}

func (v *liveViewer) close() {
	v.closeOnce.Do(func() {
		v.mu.Lock()
		v.stopping = true
		if v.ws != nil {
			v.ws.Close()
		}
		v.mu.Unlock()
		if v.runStarted.Load() {
			<-v.done
		}
	})
}

// delivered counts the alarms of want this viewer has been told about.
func (v *liveViewer) delivered(want map[int64]bool) int {
	v.mu.Lock()
	defer v.mu.Unlock()
	n := 0
	for id := range want {
		if v.raised[id] || v.resynced[id] {
			n++
		}
	}
	return n
}

var (
	positionsPrefix = []byte(`{"v":1,"type":"positions"`)
	timeColumn      = []byte(`"t":[`)
)

// readFrame reads one frame into the viewer's buffer and accounts for it.
func (v *liveViewer) readFrame(ws *websocket.Conn) error {
	_, r, err := ws.NextReader()
	if err != nil {
		return err
	}
	b := v.buf[:0]
	for {
		if len(b) == cap(b) {
			b = append(b, 0)[:len(b)]
		}
		n, err := r.Read(b[len(b):cap(b)])
		b = b[:len(b)+n]
		if err == io.EOF {
			break
		}
		if err != nil {
			return err
		}
	}
	v.buf = b
	now := time.Now().UnixMicro()
	v.bytes += int64(len(b))
	if bytes.HasPrefix(b, positionsPrefix) {
		// The hot path: only the device-time column is read.
		v.posFrames++
		v.positions += int64(positionTimes(b, func(ms int64) { v.hist.add(time.Duration(now-ms*1000) * time.Microsecond) }))
		return nil
	}
	if off, event, id, ok := alarmHead(b); ok {
		// Alarm frames come by the thousand in an emergency: their head
		// is scanned, their alarm body skipped.
		v.alarmFrames++
		v.offset = off
		if event == "raised" {
			v.mu.Lock()
			v.raised[id] = true
			v.mu.Unlock()
		}
		return nil
	}
	var f struct {
		Type      string `json:"type"`
		Offset    string `json:"offset"`
		Event     string `json:"event"`
		AlarmID   int64  `json:"alarm_id"`
		Recovered *bool  `json:"recovered"`
		Alarms    []struct {
			ID int64 `json:"id"`
		} `json:"alarms"`
	}
	if err := json.Unmarshal(b, &f); err != nil {
		return fmt.Errorf("frame is not JSON: %w", err)
	}
	switch f.Type {
	case "alarm":
		v.alarmFrames++
		v.offset = f.Offset
		if f.Event == "raised" {
			v.mu.Lock()
			v.raised[f.AlarmID] = true
			v.mu.Unlock()
		}
	case "snapshot":
		v.offset = f.Offset
		if f.Recovered != nil && !*f.Recovered {
			v.mu.Lock()
			for _, a := range f.Alarms {
				v.resynced[a.ID] = true
			}
			v.mu.Unlock()
		}
	}
	return nil
}

var alarmPrefix = []byte(`{"v":1,"type":"alarm","offset":"`)

// alarmHead reads the offset, event and alarm id at the head of an alarm
// frame in the order the server writes them (live/frames.go); ok is false
// for any other frame or order, which is then decoded as JSON.
func alarmHead(frame []byte) (offset, event string, id int64, ok bool) {
	rest, found := bytes.CutPrefix(frame, alarmPrefix)
	if !found {
		return "", "", 0, false
	}
	off, rest, found := bytes.Cut(rest, []byte(`"`))
	if !found {
		return "", "", 0, false
	}
	if rest, found = bytes.CutPrefix(rest, []byte(`,"event":"`)); !found {
		return "", "", 0, false
	}
	ev, rest, found := bytes.Cut(rest, []byte(`"`))
	if !found {
		return "", "", 0, false
	}
	if rest, found = bytes.CutPrefix(rest, []byte(`,"alarm_id":`)); !found {
		return "", "", 0, false
	}
	n := 0
	for n < len(rest) && (rest[n] == '-' || '0' <= rest[n] && rest[n] <= '9') {
		n++
	}
	id, err := strconv.ParseInt(string(rest[:n]), 10, 64)
	if err != nil {
		return "", "", 0, false
	}
	return string(off), string(ev), id, true
}

// positionTimes calls fn with every non-null value of the "t" column of a
// positions frame and returns how many there were.
func positionTimes(frame []byte, fn func(ms int64)) int {
	i := bytes.Index(frame, timeColumn)
	if i < 0 {
		return 0
	}
	n := 0
	for p := i + len(timeColumn); p < len(frame); {
		switch c := frame[p]; {
		case c == ']':
			return n
		case c == ',' || c == ' ':
			p++
		case c == 'n': // null
			p += len("null")
		case c == '-' || '0' <= c && c <= '9':
			neg := c == '-'
			if neg {
				p++
			}
			var x int64
			for ; p < len(frame) && '0' <= frame[p] && frame[p] <= '9'; p++ {
				x = 10*x + int64(frame[p]-'0')
			}
			if neg {
				x = -x
			}
			fn(x)
			n++
		default:
			return n
		}
	}
	return n
}

// --- histogram ---

// latencyHist counts durations in microseconds in log-linear buckets:
// exact below 128 µs, then 64 buckets per power of two (1.6 % wide).
type latencyHist struct {
	counts [histBuckets]int64
	n      int64
	max    int64 // µs
}

const (
	histSub     = 64
	histBuckets = 2*histSub + 57*histSub
)

func histIndex(us int64) int {
	if us < 2*histSub {
		return int(us)
	}
	s := bits.Len64(uint64(us)) - 7 // us>>s keeps 7 significant bits: 64…127
	return 2*histSub + (s-1)*histSub + int(us>>s) - histSub
}

// histUpper is the largest value of bucket i.
func histUpper(i int) int64 {
	if i < 2*histSub {
		return int64(i)
	}
	s := (i-2*histSub)/histSub + 1
	m := int64((i-2*histSub)%histSub + histSub)
	return (m+1)<<s - 1
}

func (h *latencyHist) add(d time.Duration) {
	us := max(d.Microseconds(), 0)
	h.counts[histIndex(us)]++
	h.n++
	h.max = max(h.max, us)
}

func (h *latencyHist) merge(o *latencyHist) {
	for i, c := range o.counts {
		h.counts[i] += c
	}
	h.n += o.n
	h.max = max(h.max, o.max)
}

// quantile is the upper bound of the bucket holding the q-th value.
func (h *latencyHist) quantile(q float64) time.Duration {
	if h.n == 0 {
		return 0
	}
	rank := max(int64(math.Ceil(q*float64(h.n))), 1)
	var seen int64
	for i, c := range h.counts {
		if seen += c; seen >= rank {
			return time.Duration(min(histUpper(i), h.max)) * time.Microsecond
		}
	}
	return h.maxDur()
}

func (h *latencyHist) maxDur() time.Duration { return time.Duration(h.max) * time.Microsecond }
