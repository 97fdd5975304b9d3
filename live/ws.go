package live

import (
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/gorilla/websocket"
)

// ServeWS upgrades the request to a live WebSocket for v, whom the server
// has authenticated. A query parameter offset=<last offset seen> resumes
// instead of sending a full snapshot. It returns once the connection is
// set up; the hub serves it with a reader and a writer goroutine until it
// closes or Run ends. Returning frees the HTTP server's per-request state
// (about 8 KiB of buffers) for the life of the connection.
func (h *Hub) ServeWS(w http.ResponseWriter, r *http.Request, v Viewer) {
	select {
	case <-h.ready:
	default:
		http.Error(w, "live feed not ready", http.StatusServiceUnavailable)
		return
	}
	first := syncRequest{}
	if s := r.URL.Query().Get("offset"); s != "" {
		off, err := parseOffset([]byte(s))
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		first = syncRequest{resume: true, after: off}
	}
	bw := &batchingWriter{ResponseWriter: w}
	ws, err := h.upgrader.Upgrade(bw, r, nil)
	if err != nil {
		h.log.Debug("websocket upgrade failed", "err", err) // the upgrader has answered
		return
	}
	c := newConn(h, ws, v)
	c.out = bw.conn
	if !h.register(c) {
		msg := websocket.FormatCloseMessage(websocket.CloseGoingAway, "server shutting down")
		_ = ws.WriteControl(websocket.CloseMessage, msg, time.Now().Add(h.cfg.WriteTimeout))
		_ = ws.Close()
		return
	}
	go c.writeLoop(first)
	go func() {
		c.readLoop()
		c.shutdown()
		<-c.writerDone
		_ = ws.Close()
		h.unregister(c)
	}()
}

// checkOrigin accepts requests without Origin (not a browser), from the
// same host, or from a configured origin.
func (h *Hub) checkOrigin(r *http.Request) bool {
	origin := r.Header.Get("Origin")
	if origin == "" {
		return true
	}
	for _, a := range h.cfg.AllowedOrigins {
		if a == "*" || strings.EqualFold(strings.TrimRight(a, "/"), origin) {
			return true
		}
	}
	u, err := url.Parse(origin)
	return err == nil && strings.EqualFold(u.Host, r.Host)
}
