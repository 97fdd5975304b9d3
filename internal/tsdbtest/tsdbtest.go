package tsdbtest

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// ScriptDir is the Node project that runs the engine, relative to the
// repository root.
const ScriptDir = "scripts/pglite-tsdb"

const (
	readyTimeout   = 60 * time.Second
	installTimeout = 5 * time.Minute
	stopGrace      = 5 * time.Second
	installStamp   = ".radtrack-lock-sha256" // in node_modules: hash of the lockfile installed
)

// ErrNoNode is returned (wrapped) by StartEngine when node, or npm while
// node_modules still has to be installed, is not in PATH.
var ErrNoNode = errors.New("node/npm not found in PATH")

// Start starts a private, in-memory TimescaleDB engine for the test and
// returns a pgx connection string (sslmode=disable). t.Cleanup stops it.
//
// The engine is a single PostgreSQL session: it serves ONE connection at a
// time (use pgx.Connect, or pgxpool with MaxConns=1); further connections
// wait up to 15 s for the current one to close, then fail with SQLSTATE
// 53300. See the package comment for what works on it.
//
// Without node/npm the test is skipped, or fails when CI=true.
func Start(t testing.TB) (connString string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), installTimeout+readyTimeout)
	defer cancel()
	e, err := StartEngine(ctx)
	if errors.Is(err, ErrNoNode) {
		msg := fmt.Sprintf("tsdbtest: %v: the TimescaleDB test engine needs Node.js >= 20 and npm", err)
		if os.Getenv("CI") == "true" {
			t.Fatal(msg + " (CI=true: not skipping)")
		}
		t.Skip(msg)
	}
	if err != nil {
		t.Fatalf("tsdbtest: %v", err)
	}
	t.Logf("tsdbtest: TimescaleDB engine ready on %s in %v", e.Addr, e.StartupTime.Round(time.Millisecond))
	t.Cleanup(func() {
		e.Stop()
		if t.Failed() {
			if log := e.Log(); log != "" {
				t.Logf("tsdbtest: engine log:\n%s", log)
			}
		}
	})
	return e.ConnString
}

// Engine is a running engine process. Use Start in tests; StartEngine is for
// a TestMain that shares one engine between the tests of a package.
type Engine struct {
	ConnString  string        // pgx connection string, sslmode=disable
	Addr        string        // 127.0.0.1:port
	StartupTime time.Duration // process start to READY (excludes npm ci)

	stdin  io.Closer
	exited chan struct{}
	cancel context.CancelFunc
	log    *lockedBuffer
	once   sync.Once
}

// StartEngine installs scripts/pglite-tsdb/node_modules if needed (npm ci,
// serialised across processes by a file lock), starts the engine and waits
// until it accepts connections. ctx bounds the start-up only; call Stop to end
// the engine. Set TSDBTEST_DEBUG=1 to stream its connection log to stderr.
func StartEngine(ctx context.Context) (*Engine, error) {
	node, err := exec.LookPath("node")
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrNoNode, err)
	}
	root, err := RepoRoot()
	if err != nil {
		return nil, err
	}
	dir := filepath.Join(root, filepath.FromSlash(ScriptDir))
	if err := ensureInstalled(ctx, dir); err != nil {
		return nil, err
	}

	procCtx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(procCtx, node, "server.mjs", "--port", "0")
	cmd.Dir = dir
	cmd.Env = os.Environ()
	// Graceful first; Go sends SIGKILL if it has not exited after WaitDelay.
	cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGTERM) }
	cmd.WaitDelay = stopGrace
	// The engine exits when its stdin reaches EOF, i.e. also when this
	// process dies without running Stop (crash, SIGKILL, test timeout).
	stdin, err := cmd.StdinPipe()
	if err != nil {
		cancel()
		return nil, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		cancel()
		return nil, err
	}
	e := &Engine{stdin: stdin, exited: make(chan struct{}), cancel: cancel, log: &lockedBuffer{}}
	cmd.Stderr = e.log
	if os.Getenv("TSDBTEST_DEBUG") != "" {
		cmd.Env = append(cmd.Env, "PGLITE_DEBUG=1")
		cmd.Stderr = io.MultiWriter(e.log, os.Stderr)
	}

	started := time.Now()
	if err := cmd.Start(); err != nil {
		cancel()
		return nil, fmt.Errorf("starting node: %w", err)
	}
	var waitErr error
	go func() {
		waitErr = cmd.Wait()
		close(e.exited)
	}()
	portc := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if p, ok := strings.CutPrefix(sc.Text(), "READY port="); ok {
				portc <- p
				break
			}
		}
		_, _ = io.Copy(io.Discard, stdout) // never block the child on a full pipe
	}()

	timeout := time.NewTimer(readyTimeout)
	defer timeout.Stop()
	select {
	case port := <-portc:
		e.StartupTime = time.Since(started)
		e.Addr = "127.0.0.1:" + port
		e.ConnString = "postgres://postgres@" + e.Addr + "/postgres?sslmode=disable"
		return e, nil
	case <-e.exited:
		cancel()
		return nil, fmt.Errorf("engine exited before READY (%v):\n%s", waitErr, e.Log())
	case <-timeout.C:
		e.Stop()
		return nil, fmt.Errorf("engine not READY after %v:\n%s", readyTimeout, e.Log())
	case <-ctx.Done():
		e.Stop()
		return nil, fmt.Errorf("waiting for engine: %w", ctx.Err())
	}
}

// Stop ends the engine (closing its stdin, then SIGTERM, then SIGKILL) and
// waits for it. It is idempotent.
func (e *Engine) Stop() {
	e.once.Do(func() {
		_ = e.stdin.Close()
		select {
		case <-e.exited:
		case <-time.After(stopGrace):
			e.cancel()
			<-e.exited
		}
		e.cancel()
	})
}

// Log returns what the engine wrote to stderr so far.
func (e *Engine) Log() string { return e.log.String() }

// RepoRoot walks up from the working directory to the directory holding go.mod.
func RepoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("go.mod not found above the working directory")
		}
		dir = parent
	}
}

// ensureInstalled runs "npm ci" in dir unless node_modules was installed from
// the current package-lock.json. Concurrent callers (test binaries of several
// packages run in parallel by go test) are serialised by an exclusive lock on
// dir/.install.lock.
func ensureInstalled(ctx context.Context, dir string) error {
	lock, err := os.ReadFile(filepath.Join(dir, "package-lock.json"))
	if err != nil {
		return err
	}
	sum := sha256.Sum256(lock)
	want := hex.EncodeToString(sum[:])
	stamp := filepath.Join(dir, "node_modules", installStamp)
	installed := func() bool {
		got, err := os.ReadFile(stamp)
		return err == nil && strings.TrimSpace(string(got)) == want
	}
	if installed() {
		return nil
	}

	unlock, err := lockFile(filepath.Join(dir, ".install.lock"))
	if err != nil {
		return fmt.Errorf("locking %s: %w", dir, err)
	}
	defer unlock()
	if installed() { // another process installed it while we waited
		return nil
	}
	npm, err := exec.LookPath("npm")
	if err != nil {
		return fmt.Errorf("%w: %v", ErrNoNode, err)
	}
	ctx, cancel := context.WithTimeout(ctx, installTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, npm, "ci", "--no-audit", "--no-fund")
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("npm ci in %s: %v\n%s", dir, err, out)
	}
	return os.WriteFile(stamp, []byte(want+"\n"), 0o644)
}

type lockedBuffer struct {
	mu  sync.Mutex
	buf strings.Builder
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
