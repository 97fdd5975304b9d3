// Package frontend serves the control-room map app, built by Vite into
// dist/app and embedded into the binary. When the app was not built, "/"
// says how to build it instead of showing a blank page.
package frontend

import (
	"embed"
	"io/fs"
	"net/http"
	"strings"
)

//go:embed all:dist
var dist embed.FS

// Built reports whether the app was built before this binary.
func Built() bool {
	_, err := fs.Stat(dist, "dist/app/index.html")
	return err == nil
}

// Handler serves the app's files; unknown paths get index.html so the
// app's own routes work on reload.
func Handler() http.Handler {
	if !Built() {
		return http.HandlerFunc(notBuilt)
	}
	app, _ := fs.Sub(dist, "dist/app")
	return handler(app)
}

func handler(app fs.FS) http.Handler {
	files := http.FileServerFS(app)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		name := strings.TrimPrefix(r.URL.Path, "/")
		if name != "" {
			if _, err := fs.Stat(app, name); err != nil {
				r.URL.Path = "/"
			}
		}
		switch {
		case strings.HasPrefix(r.URL.Path, "/assets/"):
			// Vite fingerprints asset names: they never change.
			w.Header().Set("Cache-Control", "public, max-age=31536000, immutable")
		case r.URL.Path == "/sw.js":
			// The service worker decides which build a phone runs: the
			// browser must check it on every visit, and it controls all of /.
			w.Header().Set("Cache-Control", "no-cache")
			w.Header().Set("Service-Worker-Allowed", "/")
			w.Header().Set("Content-Type", "text/javascript; charset=utf-8")
		case strings.HasSuffix(r.URL.Path, ".webmanifest"):
			// Not in Go's built-in MIME table; /etc/mime.types varies by host.
			w.Header().Set("Cache-Control", "no-cache")
			w.Header().Set("Content-Type", "application/manifest+json")
		default:
			w.Header().Set("Cache-Control", "no-cache")
		}
		files.ServeHTTP(w, r)
	})
}

func notBuilt(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(http.StatusServiceUnavailable)
	_, _ = w.Write([]byte(`<!doctype html><meta charset="utf-8"><title>RadTrack</title>
<body style="font-family:sans-serif;max-width:40em;margin:3em auto">
<h1>RadTrack</h1>
<p>The map app is not built into this binary. Build it, then rebuild the server:</p>
<pre>cd frontend &amp;&amp; npm ci &amp;&amp; npm run build &amp;&amp; cd .. &amp;&amp; go build ./cmd/radtrack</pre>
<p>The API is available under <a href="/api/v1/me">/api/v1/</a>.</p>
</body>`))
}
