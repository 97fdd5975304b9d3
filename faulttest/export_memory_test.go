package faulttest

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/radtrack/radtrack/internal/pgtest"
)

// exportRows is how many samples the export test loads (one device, one a
// second). RADTRACK_EXPORT_ROWS raises it for a measurement run.
func exportRows(t *testing.T) int {
	n := 200_000
	if v := os.Getenv("RADTRACK_EXPORT_ROWS"); v != "" {
		var err error
		if n, err = strconv.Atoi(v); err != nil || n < 1000 {
			t.Fatalf("RADTRACK_EXPORT_ROWS=%q", v)
		}
	}
	return n
}

// rssWatch samples the process's VmRSS every 20 ms until stopped and
// returns the largest seen (kB).
func rssWatch(t *testing.T, pid int) (stop func() int) {
	var peak atomic.Int64
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		for {
			if kb := int64(procStatus(t, pid, "VmRSS")); kb > peak.Load() {
				peak.Store(kb)
			}
			select {
			case <-done:
				return
			case <-time.After(20 * time.Millisecond):
			}
		}
	})
	return func() int { close(done); wg.Wait(); return int(peak.Load()) }
}

// TestTrackQueryAbuseStaysBounded is issue #12 item 6 against a real
// process: one viewer fires 16 parallel maximal track queries (it took RSS
// from 160 MB to 1.5 GB when tracks were built in memory). Now two run (the
// per-user cap) and stream from the cursor; the other 14 get 429 with
// Retry-After at once; RSS stays within a bound. Then one export of the
// whole range as CSV is timed and its RSS watched (rows/s in the log).
func TestTrackQueryAbuseStaysBounded(t *testing.T) {
	db := pgtest.NewDatabase(t)
	srv := start(t, db, t.TempDir(), freePort(t), "-heavy-queries-per-user", "2", "-heavy-queries", "3")
	header := login(t, srv.addr, waitPassword(t, srv))
	addDevice(t, db, "veh-export")
	rows := exportRows(t)

	ctx := context.Background()
	conn, err := pgx.Connect(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var devID int64
	if err := conn.QueryRow(ctx, `SELECT id FROM devices WHERE uid = 'veh-export'`).Scan(&devID); err != nil {
		t.Fatal(err)
	}
	t0 := time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)
	loadStart := time.Now()
	if _, err := conn.Exec(ctx, `INSERT INTO measurements (time, device_id, received_at, lon, lat, gps_valid, altitude, speed, heading,
		satellites, dose_rate, cpm, rad_valid, source, imported, attributes)
		SELECT $2::timestamptz + i * interval '1 second', $1, $2::timestamptz + i * interval '1 second', 140.1 + i * 1e-6, 37.4 + (i % 1000) * 1e-6, true,
			120.5, 12.25, 90, 9, 0.1 + (i % 97) * 0.001, 33, true, 'http', false, '{"engine":"on","fix":"3d"}'::jsonb
		FROM generate_series(0, $3 - 1) AS i`, devID, t0, rows); err != nil {
		t.Fatal(err)
	}
	t.Logf("loaded %d rows in %v", rows, time.Since(loadStart).Round(time.Millisecond))

	pid := srv.cmd.Process.Pid
	client := &http.Client{Timeout: 5 * time.Minute}
	get := func(path string) (*http.Response, error) {
		req, _ := http.NewRequest(http.MethodGet, "http://"+srv.addr+path, nil)
		for k, v := range header {
			req.Header[k] = v
		}
		return client.Do(req)
	}
	// Warm up (first query, pool, caches) so the baseline is the idle node.
	if resp, err := get(fmt.Sprintf("/api/v1/devices/%d/track?limit=10&from=%s&to=%s", devID, t0.Format(time.RFC3339), t0.Add(time.Hour).Format(time.RFC3339))); err != nil {
		t.Fatal(err)
	} else {
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
	baseRSS := procStatus(t, pid, "VmRSS")

	rng := fmt.Sprintf("from=%s&to=%s", t0.Format(time.RFC3339), t0.Add(time.Duration(rows)*time.Second).Format(time.RFC3339))
	maximal := fmt.Sprintf("/api/v1/devices/%d/track?%s&limit=100000", devID, rng) // the JSON track's cap
	stop := rssWatch(t, pid)
	var (
		wg                 sync.WaitGroup
		ok, limited, other atomic.Int32
		retryAfter         atomic.Value
		bytesOK            atomic.Int64
	)
	for range 16 {
		wg.Go(func() {
			resp, err := get(maximal)
			if err != nil {
				other.Add(1)
				return
			}
			defer resp.Body.Close()
			n, _ := io.Copy(io.Discard, bufio.NewReader(resp.Body))
			switch resp.StatusCode {
			case http.StatusOK:
				ok.Add(1)
				bytesOK.Add(n)
			case http.StatusTooManyRequests:
				limited.Add(1)
				retryAfter.Store(resp.Header.Get("Retry-After"))
			default:
				other.Add(1)
			}
		})
	}
	wg.Wait()
	abusePeak := stop()
	t.Logf("16 parallel maximal JSON tracks: %d answered (%d MiB each), %d refused with 429, %d other; VmRSS %d MiB idle, peak %d MiB (+%d MiB)",
		ok.Load(), bytesOK.Load()/max(int64(ok.Load()), 1)>>20, limited.Load(), other.Load(), baseRSS>>10, abusePeak>>10, (abusePeak-baseRSS)>>10)
	// Whichever queries overlap, at most 2 run at once and at least 2 run.
	if ok.Load() < 2 || ok.Load()+limited.Load() != 16 || other.Load() != 0 {
		t.Fatalf("answers: %d ok, %d 429, %d other; want 16 with at least 2 ok", ok.Load(), limited.Load(), other.Load())
	}
	if limited.Load() > 0 && retryAfter.Load() != "5" {
		t.Errorf("429 without Retry-After: %q", retryAfter.Load())
	}
	// Two streaming queries cost buffers, not rows: bound the growth.
	const boundMiB = 64
	if grow := (abusePeak - baseRSS) >> 10; grow > boundMiB {
		t.Errorf("RSS grew %d MiB under the abuse, bound %d MiB", grow, boundMiB)
	}

	// One export of the whole range as CSV.
	stop = rssWatch(t, pid)
	began := time.Now()
	resp, err := get(fmt.Sprintf("/api/v1/devices/%d/track?%s&format=csv", devID, rng))
	if err != nil {
		t.Fatal(err)
	}
	lines, sc := 0, bufio.NewScanner(resp.Body)
	for sc.Scan() {
		lines++
	}
	resp.Body.Close()
	took := time.Since(began)
	exportPeak := stop()
	if resp.StatusCode != http.StatusOK || sc.Err() != nil || lines != rows+1 {
		t.Fatalf("csv export: %d, %d lines (want %d), %v", resp.StatusCode, lines, rows+1, sc.Err())
	}
	t.Logf("CSV export of %d rows: %v, %.0f rows/s; VmRSS peak %d MiB (+%d MiB over idle)",
		rows, took.Round(time.Millisecond), float64(rows)/took.Seconds(), exportPeak>>10, (exportPeak-baseRSS)>>10)
	if grow := (exportPeak - baseRSS) >> 10; grow > boundMiB {
		t.Errorf("RSS grew %d MiB during the export, bound %d MiB", grow, boundMiB)
	}
}
