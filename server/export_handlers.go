package server

import (
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/radtrack/radtrack/export"
	"github.com/radtrack/radtrack/store"
)

// jsonTrackRows caps a JSON track (the map's format) that sets no limit,
// as before streaming: the browser holds it whole. Export formats are
// files and have no cap.
const jsonTrackRows = 100_000

// smallTrackRows is the most rows of a track read that is not a large
// query: the map's polling fallback and alarm charts ask for a few
// thousand rows of many devices at once, and such a read costs what its
// rows cost. Larger or uncapped reads (exports, replays, the 100 000-row
// JSON default) count against the caps (heavy.go).
const smallTrackRows = 10_000

// exportIdle is how long a streamed response may wait for the client to
// take more bytes; the server's WriteTimeout would cut a long export.
const exportIdle = 60 * time.Second

// parseRange reads from/to (RFC 3339) with a default span ending now,
// answering 400 itself on a bad or empty range.
func parseRange(w http.ResponseWriter, r *http.Request, span time.Duration) (from, to time.Time, ok bool) {
	to = time.Now().Add(time.Minute)
	from = to.Add(-span)
	for name, dst := range map[string]*time.Time{"from": &from, "to": &to} {
		if v := r.URL.Query().Get(name); v != "" {
			t, err := time.Parse(time.RFC3339, v)
			if err != nil {
				writeError(w, http.StatusBadRequest, name, "must be an RFC 3339 time")
				return from, to, false
			}
			*dst = t
		}
	}
	if !from.Before(to) {
		writeError(w, http.StatusBadRequest, "to", "must be after from")
		return from, to, false
	}
	return from, to, true
}

// trackRequest is what the two track routes share.
type trackRequest struct {
	devices  []store.Device
	from, to time.Time
	limit    int // per device; 0: none
	format   export.Format
	single   bool   // one device: the JSON shape of the device route
	name     string // file name stem of an attachment
}

// parseTrackParams reads format (or Accept), from/to and limit.
func parseTrackParams(w http.ResponseWriter, r *http.Request, tr *trackRequest) bool {
	f, err := export.Negotiate(r.URL.Query().Get("format"), r.Header.Get("Accept"), export.TrackFormats...)
	if err != nil {
		writeError(w, http.StatusBadRequest, "format", "must be "+export.Names(export.TrackFormats...))
		return false
	}
	tr.format = f
	var ok bool
	if tr.from, tr.to, ok = parseRange(w, r, time.Hour); !ok {
		return false
	}
	if v := r.URL.Query().Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n <= 0 {
			writeError(w, http.StatusBadRequest, "limit", "must be a positive integer")
			return false
		}
		tr.limit = n
	} else if f == export.JSON {
		tr.limit = jsonTrackRows
	}
	return true
}

// handleTrack is GET /api/v1/devices/{id}/track?from=&to=&limit=&format=:
// the device's samples in [from, to), oldest first (default: the last
// hour), as JSON (default) or an export file (csv, geojson, kml, gpx; or
// the matching Accept type), streamed from the database.
func (s *Server) handleTrack(w http.ResponseWriter, r *http.Request, u store.User) {
	if _, ok := pathID(w, r); !ok {
		return
	}
	tr := trackRequest{single: true}
	if !parseTrackParams(w, r, &tr) {
		return
	}
	d, ok := s.deviceOf(w, r)
	if !ok {
		return
	}
	tr.devices, tr.name = []store.Device{d}, "track-"+fileSafe(d.UID)
	s.streamTracks(w, r, u, tr)
}

// handleGroupTrack is GET /api/v1/groups/{group}/track: the tracks of
// every device of the group, one after the other (by device id), with the
// device route's parameters.
func (s *Server) handleGroupTrack(w http.ResponseWriter, r *http.Request, u store.User) {
	group := r.PathValue("group")
	var tr trackRequest
	if !parseTrackParams(w, r, &tr) {
		return
	}
	all, err := s.store.ListDevices(r.Context())
	if err != nil {
		s.internalError(w, r, "group track", err)
		return
	}
	sc, ok := s.requestScope(w, r, u)
	if !ok {
		return
	}
	for _, d := range all {
		if d.Group == group && sc.Site(d.SiteID) {
			tr.devices = append(tr.devices, d)
		}
	}
	if len(tr.devices) == 0 {
		writeError(w, http.StatusNotFound, "group", "no device in group "+strconv.Quote(group))
		return
	}
	tr.name = "group-" + fileSafe(group)
	s.streamTracks(w, r, u, tr)
}

// streamTracks writes the tracks row by row from the store cursor. An
// error before the first byte left the buffer answers 503 as usual; after
// it the connection is aborted, so the client sees a broken transfer and
// never a file that looks complete.
func (s *Server) streamTracks(w http.ResponseWriter, r *http.Request, u store.User, tr trackRequest) {
	if tr.limit <= 0 || tr.limit*len(tr.devices) > smallTrackRows {
		release, ok := s.heavy(w, u.ID)
		if !ok {
			return
		}
		defer release()
	}
	sw := &streamWriter{w: w, rc: http.NewResponseController(w), header: func(h http.Header) {
		h.Set("Content-Type", tr.format.ContentType())
		h.Set("Cache-Control", "no-store")
		if tr.format != export.JSON {
			h.Set("Content-Disposition", fmt.Sprintf(`attachment; filename="radtrack-%s-%s.%s"`,
				tr.name, tr.from.UTC().Format("20060102T150405Z"), tr.format.Ext()))
		}
	}}
	tw, err := export.NewTrackWriter(tr.format, sw, tr.single)
	if err != nil {
		writeError(w, http.StatusBadRequest, "format", err.Error())
		return
	}
	for _, d := range tr.devices {
		if err := tw.Begin(export.Device{ID: d.ID, UID: d.UID, Name: d.Name}); err != nil {
			s.streamFailed(w, r, sw, "track", err)
			return
		}
		err := s.store.EachSample(r.Context(), store.StreamQuery{DeviceID: d.ID, From: tr.from, To: tr.to, Limit: tr.limit}, tw.Sample)
		if err != nil {
			s.streamFailed(w, r, sw, "track", err)
			return
		}
	}
	if err := tw.Close(); err != nil {
		s.streamFailed(w, r, sw, "track", err)
	}
}

// streamFailed ends a streamed answer that failed.
func (s *Server) streamFailed(w http.ResponseWriter, r *http.Request, sw *streamWriter, what string, err error) {
	if !sw.started {
		s.internalError(w, r, what, err)
		return
	}
	if r.Context().Err() == nil {
		s.log.ErrorContext(r.Context(), what+": stream broken off", "err", err)
	}
	panic(http.ErrAbortHandler) // the response is cut, not completed
}

// streamWriter is the response of a streamed export: the header is set on
// the first write (so a failure before it can still answer with an error),
// and every write pushes the write deadline exportIdle ahead, so a long
// export lives as long as its client keeps reading.
type streamWriter struct {
	w       http.ResponseWriter
	rc      *http.ResponseController
	header  func(http.Header)
	started bool
}

func (sw *streamWriter) Write(p []byte) (int, error) {
	if !sw.started {
		sw.started = true
		sw.header(sw.w.Header())
		sw.w.WriteHeader(http.StatusOK)
	}
	_ = sw.rc.SetWriteDeadline(time.Now().Add(exportIdle)) // unsupported in tests' recorders
	return sw.w.Write(p)
}

var _ io.Writer = (*streamWriter)(nil)

// fileSafe keeps letters, digits, '-', '_' and '.' of a name for a file name.
func fileSafe(s string) string {
	out := strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '-', r == '_', r == '.':
			return r
		}
		return '_'
	}, s)
	if len(out) > 64 {
		out = out[:64]
	}
	return out
}
