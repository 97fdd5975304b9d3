package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/radtrack/radtrack/geo"
	"github.com/radtrack/radtrack/sim"
)

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}
func (s *syncBuffer) String() string { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }

var (
	demoURL   = regexp.MustCompile(`map:\s+(http://\S+)`)
	demoLogin = regexp.MustCompile(`login: (\S+) / (\S+)`)
)

// The demo, run for real for a short time and watched as a user would:
// over the public API and the live WebSocket, vehicles move and the hidden
// source raises an alarm close to where it is.
func TestDemoVehiclesMoveAndTheHiddenSourceRaisesAnAlarm(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	out, logs := &syncBuffer{}, &syncBuffer{}
	done := make(chan error, 1)
	go func() {
		done <- runDemo(ctx, []string{"-data", t.TempDir(), "-addr", "127.0.0.1:0", "-osmand-addr", "127.0.0.1:0",
			"-bgeigie-addr", "127.0.0.1:0", "-speed", "15", "-protocol", "http", "-vehicles", "10", "-log-level", "info"}, out, logs)
	}()
	defer func() {
		cancel()
		stopping := time.Now()
		if err := <-done; err != nil {
			l := logs.String()
			t.Errorf("demo stopped after %s with: %v\nlast log lines:\n%s", time.Since(stopping).Round(time.Millisecond), err, l[max(0, len(l)-4000):])
		}
	}()
	var base, user, password string
	deadline := time.Now().Add(60 * time.Second)
	for base == "" {
		if m := demoURL.FindStringSubmatch(out.String()); m != nil {
			base = m[1]
			l := demoLogin.FindStringSubmatch(out.String())
			user, password = l[1], l[2]
		}
		if time.Now().After(deadline) {
			t.Fatalf("the demo printed no URL:\n%s", out.String())
		}
		time.Sleep(50 * time.Millisecond)
	}

	jar, _ := cookiejar.New(nil)
	client := &http.Client{Jar: jar}
	resp, err := client.Post(base+"/api/v1/login", "application/json", strings.NewReader(fmt.Sprintf(`{"username":%q,"password":%q}`, user, password)))
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("log in with the printed operator login: %v %v", resp, err)
	}
	resp.Body.Close()

	// The site plan of the port is there for the map to draw.
	resp, err = client.Get(base + "/api/v1/overlays")
	if err != nil {
		t.Fatal(err)
	}
	var overlays struct {
		Overlays []struct {
			Name         string `json:"name"`
			FeatureCount int    `json:"feature_count"`
		} `json:"overlays"`
	}
	err = json.NewDecoder(resp.Body).Decode(&overlays)
	resp.Body.Close()
	if err != nil || len(overlays.Overlays) != 1 || overlays.Overlays[0].Name != sim.DefaultLayout().SitePlanName() || overlays.Overlays[0].FeatureCount < 10 {
		t.Fatalf("overlays after the demo started: %+v, %v; want the layout's site plan", overlays, err)
	}

	// Vehicles move: one vehicle's position changes between frames.
	header := http.Header{"Origin": {base}}
	for _, c := range jar.Cookies(mustURL(t, base)) {
		header.Add("Cookie", c.String())
	}
	ws, _, err := websocket.DefaultDialer.Dial(strings.Replace(base, "http", "ws", 1)+"/api/v1/live", header)
	if err != nil {
		t.Fatal(err)
	}
	defer ws.Close()
	first := map[int64][2]float64{}
	moved := false
	for end := time.Now().Add(30 * time.Second); !moved && time.Now().Before(end); {
		var f struct {
			Type      string `json:"type"`
			Positions struct {
				ID  []int64   `json:"id"`
				Lon []float64 `json:"lon"`
				Lat []float64 `json:"lat"`
			} `json:"positions"`
		}
		_ = ws.SetReadDeadline(time.Now().Add(10 * time.Second))
		if err := ws.ReadJSON(&f); err != nil {
			t.Fatalf("live socket: %v", err)
		}
		for i, id := range f.Positions.ID {
			p := [2]float64{f.Positions.Lon[i], f.Positions.Lat[i]}
			if q, ok := first[id]; !ok {
				first[id] = p
			} else if geo.DistanceM(q[0], q[1], p[0], p[1]) > 20 {
				moved = true
			}
		}
	}
	if !moved {
		t.Fatal("no vehicle moved more than 20 m on the live map")
	}

	// An alarm near the hidden source, within a minute of wall time (15×).
	src := sim.DefaultLayout().Sources[0].Pos
	for end := time.Now().Add(90 * time.Second); ; {
		resp, err := client.Get(base + "/api/v1/alarms?state=open")
		if err != nil {
			t.Fatal(err)
		}
		var list struct {
			Alarms []struct {
				RuleName string   `json:"rule_name"`
				PeakDose *float64 `json:"peak_dose_usvh"`
				PeakLon  float64  `json:"peak_lon"`
				PeakLat  float64  `json:"peak_lat"`
			} `json:"alarms"`
		}
		_ = json.NewDecoder(resp.Body).Decode(&list)
		resp.Body.Close()
		for _, a := range list.Alarms {
			if d := geo.DistanceM(a.PeakLon, a.PeakLat, src.Lon, src.Lat); d < 150 && a.PeakDose != nil && *a.PeakDose >= 1 {
				t.Logf("alarm %q, peak %.2f µSv/h %.0f m from the source", a.RuleName, *a.PeakDose, d)
				return
			}
		}
		if time.Now().After(end) {
			t.Fatalf("no alarm of ≥ 1 µSv/h within 150 m of the hidden source; open alarms: %+v", list.Alarms)
		}
		time.Sleep(time.Second)
	}
}

func mustURL(t *testing.T, s string) *url.URL {
	t.Helper()
	u, err := url.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return u
}
