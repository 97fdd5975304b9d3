package server_test

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/radtrack/radtrack/ingest"
	"github.com/radtrack/radtrack/server"
	"github.com/radtrack/radtrack/store/storetest"
)

// florence is the real OpenStreetMap archive in the shared test data.
const florence = "../../shared/data/maps/firenze_osm_protomaps.pmtiles"

// writeRasterArchive writes a small PMTiles v3 file: a valid header (PNG
// tiles, zoom 3–12, bounds round Rotterdam), gzip metadata, then filler.
func writeRasterArchive(t *testing.T, size int) string {
	t.Helper()
	var meta bytes.Buffer
	zw := gzip.NewWriter(&meta)
	_, _ = zw.Write([]byte(`{"name":"Port aerial","attribution":"<a href=\"https://example.invalid\">Port Authority</a> &amp; OpenStreetMap"}`))
	_ = zw.Close()
	b := make([]byte, size)
	for i := 127; i < size; i++ {
		b[i] = byte(i * 7)
	}
	copy(b, "PMTiles")
	b[7] = 3
	le := binary.LittleEndian
	le.PutUint64(b[24:], 127)
	le.PutUint64(b[32:], uint64(meta.Len()))
	copy(b[127:], meta.Bytes())
	b[97], b[98], b[99], b[100], b[101] = 2, 1, 2, 3, 12
	put := func(off int, v float64) { le.PutUint32(b[off:], uint32(int32(v*1e7))) }
	put(102, 3.9)
	put(106, 51.9)
	put(110, 4.2)
	put(114, 52.0)
	b[118] = 10
	put(119, 4.05)
	put(123, 51.95)
	path := filepath.Join(t.TempDir(), "port aerial.pmtiles")
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestParseBasemaps(t *testing.T) {
	archive := writeRasterArchive(t, 4096)
	got, err := server.ParseBasemaps([]string{archive, archive + "#name=Aerial%202&attribution=%C2%A9%20Port"},
		[]string{"https://tiles.port.internal/osm/{z}/{x}/{y}.png#scheme=tms&attribution=%C2%A9%20OpenStreetMap%20contributors", "https://maps.port.internal/styles/dark.json"})
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(got)
	want := `[{"id":"port-aerial","name":"port aerial","kind":"pmtiles","format":"raster","tile_type":"png","url":"/api/v1/basemaps/port-aerial.pmtiles","min_zoom":3,"max_zoom":12,"bounds":[3.9,51.9,4.2,52],"center":[4.05,51.95,10],"attribution":"Port Authority \u0026 OpenStreetMap contributors"},` +
		`{"id":"port-aerial-2","name":"Aerial 2","kind":"pmtiles","format":"raster","tile_type":"png","url":"/api/v1/basemaps/port-aerial-2.pmtiles","min_zoom":3,"max_zoom":12,"bounds":[3.9,51.9,4.2,52],"center":[4.05,51.95,10],"attribution":"© Port"},` +
		`{"id":"url-1","name":"tiles.port.internal","kind":"raster","url":"https://tiles.port.internal/osm/{z}/{x}/{y}.png","scheme":"tms","tile_size":256,"min_zoom":0,"max_zoom":19,"attribution":"© OpenStreetMap contributors"},` +
		`{"id":"url-2","name":"maps.port.internal","kind":"style","url":"https://maps.port.internal/styles/dark.json","min_zoom":0,"max_zoom":22,"attribution":""}]`
	if string(b) != want {
		t.Fatalf("basemaps\n got %s\nwant %s", b, want)
	}
	for _, tc := range []struct {
		files, urls []string
		want        string
	}{
		{[]string{filepath.Join(t.TempDir(), "missing.pmtiles")}, nil, "no such file"},
		{[]string{writeText(t, "not-pmtiles.pmtiles", strings.Repeat("x", 200))}, nil, "no PMTiles magic"},
		{nil, []string{"ftp://tiles/{z}/{x}/{y}.png"}, "not an http(s) URL"},
		{nil, []string{"https://tiles/{z}/{x}.png"}, "needs {z}, {x} and {y}"},
		{nil, []string{"https://tiles/{z}/{x}/{y}.png#scheme=wmts"}, "scheme must be xyz or tms"},
	} {
		if _, err := server.ParseBasemaps(tc.files, tc.urls); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("ParseBasemaps(%v, %v) = %v, want %q", tc.files, tc.urls, err, tc.want)
		}
	}
}

func writeText(t *testing.T, name, text string) string {
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// The Florence archive: a vector basemap with the Protomaps attribution,
// in the ODbL wording.
func TestParseBasemapsFlorenceArchive(t *testing.T) {
	if _, err := os.Stat(florence); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s is missing (required when CI=true): %v", florence, err)
		}
		t.Skipf("%s is missing: the shared map data is not here", florence)
	}
	got, err := server.ParseBasemaps([]string{florence}, nil)
	if err != nil {
		t.Fatal(err)
	}
	b := got[0]
	if b.ID != "firenze_osm_protomaps" || b.Format != "vector" || b.TileType != "mvt" || b.MinZoom != 0 || b.MaxZoom != 14 ||
		b.Name != "firenze osm protomaps" || b.Attribution != "Protomaps © OpenStreetMap contributors" ||
		*b.Bounds != [4]float64{11.154026, 43.7270125, 11.3289395, 43.8325455} {
		t.Fatalf("Florence basemap %+v bounds %v", b, *b.Bounds)
	}
}

func TestBasemapArchiveIsServedWithRanges(t *testing.T) {
	const size = 300_000
	archive := writeRasterArchive(t, size)
	want, _ := os.ReadFile(archive)
	cfg := testConfig()
	var err error
	if cfg.Basemaps, err = server.ParseBasemaps([]string{archive}, nil); err != nil {
		t.Fatal(err)
	}
	h := newHarness(t, ingest.DefaultWriterConfig(), cfg)
	if status, _ := h.anonymous(t).do("GET", "/api/v1/basemaps", nil); status != http.StatusUnauthorized {
		t.Fatalf("listing without login: %d, want 401", status)
	}
	viewer := h.loginAs(t, "watcher", "viewer")
	status, body := viewer.do("GET", "/api/v1/basemaps", nil)
	var list struct{ Basemaps []server.Basemap }
	if status != http.StatusOK || json.Unmarshal(body, &list) != nil || len(list.Basemaps) != 1 || list.Basemaps[0].URL != "/api/v1/basemaps/port-aerial.pmtiles" {
		t.Fatalf("listing: %d %s", status, body)
	}
	get := func(rng string, extra ...string) (*http.Response, []byte) {
		t.Helper()
		req, _ := http.NewRequest("GET", h.url+list.Basemaps[0].URL, nil)
		if rng != "" {
			req.Header.Set("Range", rng)
		}
		for i := 0; i+1 < len(extra); i += 2 {
			req.Header.Set(extra[i], extra[i+1])
		}
		resp, err := viewer.http.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp, b
	}
	// The header, as the pmtiles reader asks for it first.
	resp, got := get("bytes=0-16383")
	if resp.StatusCode != http.StatusPartialContent || resp.Header.Get("Content-Range") != fmt.Sprintf("bytes 0-16383/%d", size) || !bytes.Equal(got, want[:16384]) {
		t.Fatalf("first range: %d %q, %d bytes", resp.StatusCode, resp.Header.Get("Content-Range"), len(got))
	}
	if ct := resp.Header.Get("Content-Type"); ct != "application/vnd.pmtiles" {
		t.Fatalf("Content-Type %q", ct)
	}
	// A tile in the middle, and the last bytes.
	resp, got = get("bytes=123456-123999")
	if resp.StatusCode != http.StatusPartialContent || !bytes.Equal(got, want[123456:124000]) {
		t.Fatalf("middle range: %d, %d bytes", resp.StatusCode, len(got))
	}
	resp, got = get("bytes=-100")
	if resp.StatusCode != http.StatusPartialContent || !bytes.Equal(got, want[size-100:]) {
		t.Fatalf("suffix range: %d, %d bytes", resp.StatusCode, len(got))
	}
	// Beyond the end: 416 with the size.
	resp, _ = get(fmt.Sprintf("bytes=%d-%d", size, size+10))
	if resp.StatusCode != http.StatusRequestedRangeNotSatisfiable || resp.Header.Get("Content-Range") != fmt.Sprintf("bytes */%d", size) {
		t.Fatalf("range beyond the end: %d %q, want 416 bytes */%d", resp.StatusCode, resp.Header.Get("Content-Range"), size)
	}
	// No range: the whole file; a stale If-Range: the whole file too.
	resp, got = get("")
	if resp.StatusCode != http.StatusOK || !bytes.Equal(got, want) || resp.Header.Get("Accept-Ranges") != "bytes" {
		t.Fatalf("whole file: %d, %d bytes, Accept-Ranges %q", resp.StatusCode, len(got), resp.Header.Get("Accept-Ranges"))
	}
	resp, got = get("bytes=0-9", "If-Range", time.Date(2001, 1, 1, 0, 0, 0, 0, time.UTC).Format(http.TimeFormat))
	if resp.StatusCode != http.StatusOK || len(got) != size {
		t.Fatalf("stale If-Range: %d, %d bytes, want the whole (changed) file", resp.StatusCode, len(got))
	}
	for _, p := range []string{"/api/v1/basemaps/other.pmtiles", "/api/v1/basemaps/..%2f..%2fetc%2fpasswd"} {
		if status, body := viewer.do("GET", p, nil); status != http.StatusNotFound {
			t.Fatalf("GET %s: %d %s, want 404", p, status, body)
		}
	}
	if status, _ := h.anonymous(t).do("GET", list.Basemaps[0].URL, nil); status != http.StatusUnauthorized {
		t.Fatalf("archive without login: %d, want 401", status)
	}
}

func TestOverlaysImportValidateDelete(t *testing.T) {
	h := newHarness(t, ingest.DefaultWriterConfig(), testConfig())
	op := h.loginAs(t, "anna", "operator")
	viewer := h.loginAs(t, "ben", "viewer")
	plan := json.RawMessage(`{"type":"FeatureCollection","features":[
		{"type":"Feature","geometry":{"type":"LineString","coordinates":[[4.01,51.95],[4.03,51.95]]},"properties":{"kind":"road","name":"Quay road"}},
		{"type":"Feature","geometry":{"type":"Polygon","coordinates":[[[4.0,51.94],[4.02,51.94],[4.02,51.945],[4.0,51.945],[4.0,51.94]]]},"properties":{"kind":"quay","name":"码头 7"}}]}`)
	if status, body := viewer.do("POST", "/api/v1/overlays", map[string]any{"name": "Port", "format": "geojson", "data": plan}); status != http.StatusForbidden {
		t.Fatalf("viewer upload: %d %s, want 403", status, body)
	}
	status, body := op.do("POST", "/api/v1/overlays", map[string]any{"name": "Port", "format": "geojson", "data": plan})
	var created struct {
		Overlay struct {
			ID           int64           `json:"id"`
			FeatureCount int             `json:"feature_count"`
			CreatedBy    string          `json:"created_by"`
			Features     json.RawMessage `json:"features"`
		} `json:"overlay"`
	}
	if status != http.StatusCreated || json.Unmarshal(body, &created) != nil || created.Overlay.FeatureCount != 2 || created.Overlay.CreatedBy != "anna" {
		t.Fatalf("upload: %d %s", status, body)
	}
	if status, body := op.do("POST", "/api/v1/overlays", map[string]any{"name": "Port", "data": plan}); status != http.StatusConflict || !strings.Contains(string(body), `"field":"name"`) {
		t.Fatalf("same name: %d %s, want 409 naming name", status, body)
	}
	kml, err := os.ReadFile("../siteplan/testdata/google_kml_samples.kml")
	if err != nil {
		t.Fatal(err)
	}
	status, body = op.do("POST", "/api/v1/overlays", map[string]any{"name": "Google samples", "format": "kml", "data": string(kml)})
	if status != http.StatusCreated || !strings.Contains(string(body), `"feature_count":19`) || !strings.Contains(string(body), `"skipped":1`) {
		t.Fatalf("KML upload: %d %.300s", status, body)
	}
	refused := func() float64 {
		resp, err := http.Get(h.url + "/metrics")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		var v float64
		for _, line := range strings.Split(string(b), "\n") {
			if rest, ok := strings.CutPrefix(line, `radtrack_requests_refused_total{protocol="overlay",reason="data"} `); ok {
				_, _ = fmt.Sscan(rest, &v)
			}
		}
		return v
	}
	before := refused()
	for _, tc := range []struct {
		body  any
		code  int
		field string
	}{
		{map[string]any{"name": "Bad", "data": json.RawMessage(`{"type":"FeatureCollection","features":[{"type":"Feature","geometry":{"type":"Point","coordinates":[4,51]}},{"type":"Feature","geometry":{"type":"Polygon","coordinates":[[[4,51],[5,51],[5,52],[4,51.5]]]}}]}`)}, 400, "data.features[1].geometry.coordinates[0]"},
		{map[string]any{"name": "Bad", "data": json.RawMessage(`{"type":"FeatureCollection","features":[]}`)}, 400, "data"},
		{map[string]any{"name": "Bad", "format": "kml", "data": `<kml><Placemark><name>Q</name><Point><coordinates>4,99</coordinates></Point></Placemark></kml>`}, 400, "data"},
		{map[string]any{"name": "", "data": plan}, 400, "name"},
		{map[string]any{"name": "Bad", "format": "shapefile", "data": plan}, 400, "format"},
		{map[string]any{"name": "Bad", "data": plan, "colour": "red"}, 400, "colour"},
	} {
		status, body := op.do("POST", "/api/v1/overlays", tc.body)
		var e struct{ Error, Field string }
		if status != tc.code || json.Unmarshal(body, &e) != nil || e.Field != tc.field {
			t.Errorf("POST %v: %d %s, want %d naming %q", tc.body, status, body, tc.code, tc.field)
		}
	}
	if d := refused() - before; d != 3 {
		t.Fatalf("refused uploads counted %v times with reason data, want 3", d)
	}
	status, body = op.do("POST", "/api/v1/overlays", map[string]any{"name": "Bad", "format": "kml", "data": `<kml><Placemark><name>Q</name><Point><coordinates>4,99</coordinates></Point></Placemark></kml>`})
	if !strings.Contains(string(body), `Placemark 1 (\"Q\") Point coordinates[0]: latitude 99 outside [-90, 90]`) {
		t.Fatalf("KML error does not name the placemark: %d %s", status, body)
	}
	// A too large upload is refused before parsing.
	big := strings.Repeat(" ", int(testConfig().MaxBodyBytes))
	if status, _ := op.do("POST", "/api/v1/overlays", map[string]any{"name": "Huge", "format": "kml", "data": big}); status != http.StatusRequestEntityTooLarge {
		t.Fatalf("huge upload: %d, want 413", status)
	}

	status, body = viewer.do("GET", "/api/v1/overlays", nil)
	var list struct {
		Overlays []struct {
			ID       int64  `json:"id"`
			Name     string `json:"name"`
			Features struct {
				Features []struct {
					Properties map[string]any `json:"properties"`
				} `json:"features"`
			} `json:"features"`
		} `json:"overlays"`
	}
	if status != http.StatusOK || json.Unmarshal(body, &list) != nil || len(list.Overlays) != 2 || list.Overlays[0].Name != "Port" ||
		list.Overlays[0].Features.Features[1].Properties["name"] != "码头 7" {
		t.Fatalf("list: %d %.300s", status, body)
	}
	if status, _ := viewer.do("DELETE", fmt.Sprintf("/api/v1/overlays/%d", created.Overlay.ID), nil); status != http.StatusForbidden {
		t.Fatalf("viewer delete: %d, want 403", status)
	}
	if status, _ := op.do("DELETE", fmt.Sprintf("/api/v1/overlays/%d", created.Overlay.ID), nil); status != http.StatusNoContent {
		t.Fatalf("delete: %d", status)
	}
	if status, _ := op.do("DELETE", fmt.Sprintf("/api/v1/overlays/%d", created.Overlay.ID), nil); status != http.StatusNotFound {
		t.Fatalf("delete again: %d, want 404", status)
	}
}

func TestDevicesListingHasLastSeenFromTheLiveState(t *testing.T) {
	base := newHarness(t, ingest.DefaultWriterConfig(), testConfig())
	h, hub := withLive(t, base, true)
	viewer := h.loginAs(t, "watcher", "viewer")
	now := time.Now().UTC().Truncate(time.Millisecond)
	publish(t, hub, h.dev.ID, h.dev.UID, h.dev.Name, now.Add(-5*time.Second), 4.05, 51.95, 0.1, 80)
	var got struct {
		Devices []struct {
			ID       int64      `json:"id"`
			LastSeen *time.Time `json:"last_seen"`
			Online   bool       `json:"online"`
		} `json:"devices"`
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		status, body := viewer.do("GET", "/api/v1/devices", nil)
		if status != http.StatusOK || json.Unmarshal(body, &got) != nil || len(got.Devices) != 1 {
			t.Fatalf("devices: %d %s", status, body)
		}
		if got.Devices[0].LastSeen != nil || time.Now().After(deadline) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	d := got.Devices[0]
	if d.LastSeen == nil || !d.LastSeen.Equal(now.Add(-5*time.Second)) || !d.Online {
		t.Fatalf("device %+v, want last_seen %s and online", d, now.Add(-5*time.Second))
	}
	// A vehicle whose latest position is older than OnlineWithin is offline.
	old, _ := storetest.NewDevice(t, h.store, "veh-parked")
	publish(t, hub, old.ID, old.UID, old.Name, now.Add(-2*server.OnlineWithin), 4.06, 51.95, 0.1, 80)
	for end := time.Now().Add(5 * time.Second); ; {
		_, body := viewer.do("GET", "/api/v1/devices", nil)
		_ = json.Unmarshal(body, &got)
		if len(got.Devices) == 2 && got.Devices[1].LastSeen != nil || time.Now().After(end) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if p := got.Devices[1]; p.ID != old.ID || p.LastSeen == nil || !p.LastSeen.Equal(now.Add(-2*server.OnlineWithin)) || p.Online || !got.Devices[0].Online {
		t.Fatalf("devices %+v: want the parked one last seen %s ago and offline, the first still online", got.Devices, 2*server.OnlineWithin)
	}
}
