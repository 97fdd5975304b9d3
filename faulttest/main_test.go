// Package faulttest runs RadTrack as a real process and breaks things
// around it: kill -9 mid-ingest, the database going away. Every test is
// bounded in time and talks only to loopback.
package faulttest

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

var binary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "radtrack-faulttest-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binary = filepath.Join(dir, "radtrack")
	build := exec.Command("go", "build", "-o", binary, "github.com/radtrack/radtrack/cmd/radtrack")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "build radtrack:", err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// server is one radtrack process.
type server struct {
	t       *testing.T
	cmd     *exec.Cmd
	addr    string
	dataDir string
	dbURL   string
	log     *bytes.Buffer
	logW    *lockedWriter
	exited  chan struct{}
}

// output is what the process wrote to stderr so far.
func (s *server) output() string {
	s.logW.mu.Lock()
	defer s.logW.mu.Unlock()
	return s.log.String()
}

func freePort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// start runs "radtrack serve" and waits until it answers /healthz.
func start(t *testing.T, dbURL, dataDir, addr string, extra ...string) *server {
	t.Helper()
	s := &server{t: t, addr: addr, dataDir: dataDir, dbURL: dbURL, log: &bytes.Buffer{}, exited: make(chan struct{})}
	s.logW = &lockedWriter{w: s.log}
	args := append([]string{"serve", "-database-url", dbURL, "-addr", addr,
		"-osmand-addr", "", "-bgeigie-addr", "", "-data", dataDir, "-log-level", "warn",
		"-device-rate", "0", "-ip-rate", "0", "-redis-url", ""}, extra...)
	s.cmd = exec.Command(binary, args...)
	s.cmd.Stderr = s.logW
	if err := s.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { _ = s.cmd.Wait(); close(s.exited) }()
	t.Cleanup(func() { s.kill() })
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get("http://" + addr + "/healthz")
		if err == nil {
			resp.Body.Close()
			return s
		}
		select {
		case <-s.exited:
			t.Fatalf("radtrack exited at start:\n%s", s.output())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("radtrack did not answer within 30 s:\n%s", s.output())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func (s *server) kill() {
	if s.cmd.Process != nil {
		_ = s.cmd.Process.Signal(syscall.SIGKILL)
		<-s.exited
	}
}

type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

var tokenLine = regexp.MustCompile(`(?m)^token: (\S+)$`)

// addDevice registers a device through the CLI and returns its token.
func addDevice(t *testing.T, dbURL, name string) string {
	t.Helper()
	out, err := exec.Command(binary, "device", "add", name, "-database-url", dbURL).CombinedOutput()
	if err != nil {
		t.Fatalf("device add: %v\n%s", err, out)
	}
	m := tokenLine.FindSubmatch(out)
	if m == nil {
		t.Fatalf("no token in:\n%s", out)
	}
	return string(m[1])
}

// vehicle posts one sample per request, each with a distinct second, and
// remembers which were acknowledged (200).
type vehicle struct {
	token string
	start time.Time
	// dose is the dose rate of sample k (nil: 0.1 µSv/h, background).
	dose  func(k int) float64
	mu    sync.Mutex
	acked []time.Time
	sent  int
	fails int
	codes map[int]int
}

func (v *vehicle) run(ctx context.Context, addr func() string, batch int) {
	client := &http.Client{Timeout: 15 * time.Second}
	for i := 0; ctx.Err() == nil; {
		times := make([]time.Time, batch)
		var body strings.Builder
		for j := range times {
			k := i*batch + j
			times[j] = v.start.Add(time.Duration(k) * time.Second)
			dose := 0.1
			if v.dose != nil {
				dose = v.dose(k)
			}
			fmt.Fprintf(&body, `{"time":%q,"lat":51.95,"lon":4.05,"dose_rate":%g}`+"\n", times[j].Format(time.RFC3339), dose)
		}
		req, _ := http.NewRequestWithContext(ctx, http.MethodPost, "http://"+addr()+"/api/v1/measurements", strings.NewReader(body.String()))
		req.Header.Set("Authorization", "Bearer "+v.token)
		req.Header.Set("Content-Type", "application/x-ndjson")
		resp, err := client.Do(req)
		v.mu.Lock()
		v.sent += batch
		if err == nil {
			if v.codes == nil {
				v.codes = map[int]int{}
			}
			v.codes[resp.StatusCode]++
		}
		ok := err == nil && resp.StatusCode == http.StatusOK
		if ok {
			v.acked = append(v.acked, times...)
		} else {
			v.fails++
		}
		v.mu.Unlock()
		if err == nil {
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		}
		if ok {
			i++ // like a real vehicle: the same batch again until it is acknowledged
		} else {
			time.Sleep(50 * time.Millisecond)
		}
	}
}

func (v *vehicle) ackedTimes() []time.Time {
	v.mu.Lock()
	defer v.mu.Unlock()
	return append([]time.Time(nil), v.acked...)
}

// dbWithProxy returns a connection string to db that goes through port.
// dbAddr is the host:port of the database server in db.
func dbAddr(t *testing.T, db string) string {
	t.Helper()
	u, err := url.Parse(db)
	if err != nil {
		t.Fatal(err)
	}
	return u.Host
}

func dbWithProxy(t *testing.T, db string, port int) string {
	t.Helper()
	u, err := url.Parse(db)
	if err != nil {
		t.Fatal(err)
	}
	u.Host = fmt.Sprintf("127.0.0.1:%d", port)
	return u.String()
}

var adminPassword = regexp.MustCompile(`created user "admin" with password (\S+)`)

// waitPassword reads the first admin's password from the server's log.
func waitPassword(t *testing.T, s *server) string {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); ; {
		if m := adminPassword.FindStringSubmatch(s.output()); m != nil {
			return m[1]
		}
		if time.Now().After(deadline) {
			t.Fatalf("no admin password printed:\n%s", s.output())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// login signs in as admin and returns the headers a WebSocket dial needs.
func login(t *testing.T, addr, password string) http.Header {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	client := &http.Client{Jar: jar, Timeout: 10 * time.Second}
	resp, err := client.Post("http://"+addr+"/api/v1/login", "application/json",
		strings.NewReader(fmt.Sprintf(`{"username":"admin","password":%q}`, password)))
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("login: %v %v", resp, err)
	}
	resp.Body.Close()
	header := http.Header{"Origin": {"http://" + addr}}
	u, _ := url.Parse("http://" + addr)
	for _, c := range jar.Cookies(u) {
		header.Add("Cookie", c.String())
	}
	return header
}
