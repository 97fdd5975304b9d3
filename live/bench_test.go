package live

import (
	"bufio"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"runtime"
	"runtime/pprof"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

// Environment of the child process that holds idle client connections for
// BenchmarkIdleConnMemory, so that their memory is not counted.
const (
	envIdleURL = "LIVE_BENCH_IDLE_URL"
	envIdleN   = "LIVE_BENCH_IDLE_N"
)

func TestMain(m *testing.M) {
	if u := os.Getenv(envIdleURL); u != "" {
		n, _ := strconv.Atoi(os.Getenv(envIdleN))
		os.Exit(holdIdleClients(u, n))
	}
	os.Exit(m.Run())
}

// holdIdleClients opens n connections, reads each snapshot, prints "ready"
// and keeps them open until stdin closes.
func holdIdleClients(u string, n int) int {
	d := websocket.Dialer{ReadBufferSize: 1024, WriteBufferSize: 1024, HandshakeTimeout: 10 * time.Second}
	conns := make([]*websocket.Conn, 0, n)
	for range n {
		ws, _, err := d.Dial(u, nil)
		if err != nil {
			fmt.Fprintln(os.Stderr, "dial:", err)
			return 1
		}
		if _, _, err := ws.ReadMessage(); err != nil {
			fmt.Fprintln(os.Stderr, "snapshot:", err)
			return 1
		}
		conns = append(conns, ws)
	}
	fmt.Println("ready")
	_, _ = io.Copy(io.Discard, os.Stdin)
	for _, ws := range conns {
		_ = ws.Close()
	}
	return 0
}

// BenchmarkIdleConnMemory measures the server-side memory of 1000 idle
// connections (snapshot sent, nothing flowing): heap and goroutine stacks
// from runtime.MemStats, clients in a child process.
//
//	go test -run '^$' -bench IdleConnMemory -benchtime 1x ./live/
func BenchmarkIdleConnMemory(b *testing.B) {
	const n = 1000
	th := startHub(b, NewMemoryBroker(10), nil)
	var before, after runtime.MemStats
	runtime.GC()
	runtime.GC()
	runtime.ReadMemStats(&before)

	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), envIdleURL+"=ws"+strings.TrimPrefix(th.srv.URL, "http")+"/", envIdleN+"="+strconv.Itoa(n))
	cmd.Stderr = os.Stderr
	stdin, _ := cmd.StdinPipe()
	stdout, _ := cmd.StdoutPipe()
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	defer func() { _ = stdin.Close(); _ = cmd.Wait() }()
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil || line != "ready\n" {
		b.Fatalf("client process: %q %v", line, err)
	}
	if got := th.Stats().Connections; got != n {
		b.Fatalf("%d connections, want %d", got, n)
	}
	time.Sleep(200 * time.Millisecond) // let the last writers settle into select
	runtime.GC()
	runtime.GC()
	runtime.ReadMemStats(&after)
	if f := os.Getenv("LIVE_HEAPPROF"); f != "" {
		fh, _ := os.Create(f)
		_ = pprof.WriteHeapProfile(fh)
		_ = fh.Close()
	}
	heap := float64(int64(after.HeapInuse)-int64(before.HeapInuse)) / n
	stack := float64(int64(after.StackInuse)-int64(before.StackInuse)) / n
	for b.Loop() {
	}
	b.ReportMetric(heap, "heap-B/conn")
	b.ReportMetric(stack, "stack-B/conn")
	b.ReportMetric(heap+stack, "total-B/conn")
	b.ReportMetric(float64(runtime.NumGoroutine())/n, "goroutines/conn")
}

// BenchmarkFanout measures one 100 ms tick of N vehicles reporting at 1 Hz
// (N/10 updates per tick) fanned out to M viewers over loopback WebSocket,
// every viewer seeing the whole map. One op = publish + tick + every viewer
// has read its frame. tick-% is the share of the 100 ms tick that costs
// (clients and server share the same CPUs).
//
//	go test -run '^$' -bench Fanout ./live/
func BenchmarkFanout(b *testing.B) {
	for _, vehicles := range []int{1000, 10000} {
		for _, conns := range []int{10, 100} {
			b.Run(fmt.Sprintf("vehicles=%d/conns=%d", vehicles, conns), func(b *testing.B) {
				benchFanout(b, vehicles, conns)
			})
		}
	}
}

func benchFanout(b *testing.B, vehicles, conns int) {
	th := startHub(b, NewMemoryBroker(10), func(c *Config) { c.Tick = time.Hour }) // ticks driven below
	rng := rand.New(rand.NewPCG(1, 2))
	t0 := time.Now().Add(-time.Hour)
	ps := make([]Position, vehicles)
	for i := range ps {
		ps[i] = pos(int64(i+1), 129+rng.Float64()*16, 31+rng.Float64()*14, t0)
		ps[i].Speed, ps[i].Heading = 13.9, 141
	}
	th.PublishPositions(ps...)

	type read struct{ bytes int }
	got := make(chan read, conns*4)
	for range conns {
		c := dialURL(b, th.srv.URL, "", nil)
		if _, _, err := c.ws.ReadMessage(); err != nil { // snapshot
			b.Fatal(err)
		}
		go func() {
			for {
				_, r, err := c.ws.NextReader()
				if err != nil {
					return
				}
				n, _ := io.Copy(io.Discard, r)
				got <- read{int(n)}
			}
		}()
	}
	th.tick() // flush the seeding batch outside the measurement
	for range conns {
		<-got
	}

	perTick := max(vehicles/10, 1)
	var frames, bytes int
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		start := (i * perTick) % vehicles
		batch := ps[start : start+perTick]
		for j := range batch {
			batch[j].Time = batch[j].Time.Add(time.Second)
			batch[j].Lon += 1e-5
		}
		th.PublishPositions(batch...)
		th.tick()
		for range conns {
			r := <-got
			frames++
			bytes += r.bytes
		}
	}
	sec := b.Elapsed().Seconds()
	b.ReportMetric(float64(frames)/sec, "frames/s")
	b.ReportMetric(float64(bytes)/float64(frames), "B/frame")
	b.ReportMetric(float64(b.Elapsed())/float64(b.N)/float64(100*time.Millisecond)*100, "tick-%")
}
