package server

import (
	"errors"
	"fmt"
	"html"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"

	"github.com/radtrack/radtrack/store"
)

// Basemap is one map background the app can switch to (besides the
// Natural Earth atlas built into the app). Kinds:
//   - "pmtiles": an archive on this server's disk, read by the browser with
//     HTTP Range requests on URL; Format says "vector" (drawn with the
//     app's bundled style) or "raster";
//   - "raster": an XYZ (or TMS) tile URL template of an internal tile server;
//   - "style": a MapLibre style URL of an internal tile server.
type Basemap struct {
	ID          string      `json:"id"`
	Name        string      `json:"name"`
	Kind        string      `json:"kind"`
	Format      string      `json:"format,omitempty"`
	TileType    string      `json:"tile_type,omitempty"`
	URL         string      `json:"url"`
	Scheme      string      `json:"scheme,omitempty"`
	TileSize    int         `json:"tile_size,omitempty"`
	MinZoom     int         `json:"min_zoom"`
	MaxZoom     int         `json:"max_zoom"`
	Bounds      *[4]float64 `json:"bounds,omitempty"`
	Center      *[3]float64 `json:"center,omitempty"`
	Attribution string      `json:"attribution"`
	path        string      // pmtiles: the file served
}

// ParseBasemaps reads RADTRACK_BASEMAP (PMTiles files) and
// RADTRACK_BASEMAP_URL (tile URL templates or style URLs) entries. Each
// entry may end in a fragment of options, which is never sent anywhere:
// #name=Port%20plan&attribution=%C2%A9%20…&scheme=tms&tile_size=512&max_zoom=19.
// Files are opened and their headers checked now, so a wrong path stops
// the server at start instead of showing an empty map.
func ParseBasemaps(files, urls []string) ([]Basemap, error) {
	var out []Basemap
	ids := map[string]int{}
	uniqueID := func(base string) string {
		base = idSafe.ReplaceAllString(strings.ToLower(base), "-")
		ids[base]++
		if n := ids[base]; n > 1 {
			return fmt.Sprintf("%s-%d", base, n)
		}
		return base
	}
	for _, entry := range files {
		entry = strings.TrimSpace(entry)
		if entry == "" {
			continue
		}
		path, opts := splitOptions(entry)
		h, meta, err := readPMTilesInfo(path)
		if err != nil {
			return nil, fmt.Errorf("RADTRACK_BASEMAP %s: %w", path, err)
		}
		id := uniqueID(strings.TrimSuffix(filepath.Base(path), filepath.Ext(path)))
		b := Basemap{ID: id, Kind: "pmtiles", Format: "raster", TileType: pmtilesTileTypes[h.TileType],
			URL: "/api/v1/basemaps/" + id + ".pmtiles", MinZoom: int(h.MinZoom), MaxZoom: int(h.MaxZoom),
			Bounds: &h.Bounds, Center: &[3]float64{h.Center[0], h.Center[1], float64(h.CenterZoom)}, path: path}
		if h.TileType == 1 {
			b.Format = "vector"
		}
		// The file's name names the region; archive metadata names are often
		// build timestamps ("protomaps 2023-01-18T07:49:39Z").
		b.Name = firstNonEmpty(opts.Get("name"), strings.ReplaceAll(strings.TrimSuffix(filepath.Base(path), filepath.Ext(path)), "_", " "))
		b.Attribution = firstNonEmpty(opts.Get("attribution"), plainAttribution(meta.Attribution))
		out = append(out, b)
	}
	for i, entry := range urls {
		entry = strings.TrimSpace(entry)
		if entry == "" {
			continue
		}
		raw, opts := splitOptions(entry)
		u, err := url.Parse(raw)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return nil, fmt.Errorf("RADTRACK_BASEMAP_URL %q: not an http(s) URL", raw)
		}
		b := Basemap{Kind: "style", URL: raw, MinZoom: 0, MaxZoom: 22, Attribution: opts.Get("attribution")}
		if strings.Contains(raw, "{z}") {
			if !strings.Contains(raw, "{x}") || !(strings.Contains(raw, "{y}") || strings.Contains(raw, "{-y}")) {
				return nil, fmt.Errorf("RADTRACK_BASEMAP_URL %q: a tile template needs {z}, {x} and {y}", raw)
			}
			b.Kind, b.Scheme, b.TileSize, b.MaxZoom = "raster", "xyz", 256, 19
			if s := opts.Get("scheme"); s == "tms" || s == "xyz" {
				b.Scheme = s
			} else if s != "" {
				return nil, fmt.Errorf("RADTRACK_BASEMAP_URL %q: scheme must be xyz or tms", raw)
			}
		}
		if v := opts.Get("tile_size"); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil || (n != 256 && n != 512) {
				return nil, fmt.Errorf("RADTRACK_BASEMAP_URL %q: tile_size must be 256 or 512", raw)
			}
			b.TileSize = n
		}
		if v := opts.Get("max_zoom"); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil || n < 0 || n > 24 {
				return nil, fmt.Errorf("RADTRACK_BASEMAP_URL %q: max_zoom must be 0–24", raw)
			}
			b.MaxZoom = n
		}
		b.Name = firstNonEmpty(opts.Get("name"), u.Host)
		b.ID = uniqueID(fmt.Sprintf("url-%d", i+1))
		out = append(out, b)
	}
	return out, nil
}

var idSafe = regexp.MustCompile(`[^a-z0-9_-]+`)

// splitOptions cuts "value#k=v&k=v" into the value and its options.
func splitOptions(entry string) (string, url.Values) {
	value, frag, ok := strings.Cut(entry, "#")
	if !ok {
		return value, url.Values{}
	}
	opts, err := url.ParseQuery(frag)
	if err != nil {
		return value, url.Values{}
	}
	return value, opts
}

func firstNonEmpty(vs ...string) string {
	for _, v := range vs {
		if strings.TrimSpace(v) != "" {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

var (
	htmlTag = regexp.MustCompile(`<[^>]*>`)
	spaces  = regexp.MustCompile(`\s+`)
	// OpenStreetMap data (ODbL) is attributed "© OpenStreetMap contributors".
	osmBare = regexp.MustCompile(`OpenStreetMap(\s+contributors)?`)
)

// plainAttribution turns an archive's HTML attribution into plain text
// (the app shows it as text: an archive is data, not markup to run).
func plainAttribution(s string) string {
	s = html.UnescapeString(htmlTag.ReplaceAllString(s, " "))
	s = strings.TrimSpace(spaces.ReplaceAllString(s, " "))
	return osmBare.ReplaceAllString(s, "OpenStreetMap contributors")
}

// handleListBasemaps is GET /api/v1/basemaps: the configured basemaps, in
// configuration order (the app adds its built-in Natural Earth atlas).
func (s *Server) handleListBasemaps(w http.ResponseWriter, _ *http.Request, _ store.User) {
	list := s.cfg.Basemaps
	if list == nil {
		list = []Basemap{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"basemaps": list})
}

// handleBasemapArchive is GET /api/v1/basemaps/{file}: a PMTiles archive
// with HTTP Range (206, 416, If-Range, conditional requests) through
// http.ServeContent. The file is opened per request, so an operator can
// replace it without a restart.
func (s *Server) handleBasemapArchive(w http.ResponseWriter, r *http.Request, _ store.User) {
	name := r.PathValue("file")
	var b *Basemap
	for i := range s.cfg.Basemaps {
		if c := &s.cfg.Basemaps[i]; c.Kind == "pmtiles" && c.ID+".pmtiles" == name {
			b = c
		}
	}
	if b == nil {
		writeError(w, http.StatusNotFound, "file", "no such basemap archive")
		return
	}
	f, err := os.Open(b.path)
	if errors.Is(err, os.ErrNotExist) {
		writeError(w, http.StatusNotFound, "file", "the basemap archive is gone from the server's disk")
		return
	}
	if err != nil {
		s.internalError(w, r, "open basemap", err)
		return
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		s.internalError(w, r, "stat basemap", err)
		return
	}
	w.Header().Set("Content-Type", "application/vnd.pmtiles")
	w.Header().Set("Cache-Control", "private, max-age=300")
	http.ServeContent(w, r, name, st.ModTime(), f)
}
