package frontend

import (
	"net/http"
	"net/http/httptest"
	"testing"
	"testing/fstest"
)

// The phone app installs only when the manifest and the service worker
// come with the types and headers browsers require.
func TestHandlerServesPWAFiles(t *testing.T) {
	app := fstest.MapFS{
		"index.html":            {Data: []byte("<!doctype html><title>app</title>")},
		"sw.js":                 {Data: []byte("self.addEventListener('push', () => {});")},
		"manifest.webmanifest":  {Data: []byte(`{"name":"RadTrack"}`)},
		"icons/icon-192.png":    {Data: []byte("\x89PNG\r\n\x1a\n")},
		"assets/index-abc12.js": {Data: []byte("console.log(1)")},
	}
	h := handler(app)
	cases := []struct {
		path, ctype, cache, swAllowed string
	}{
		{"/sw.js", "text/javascript; charset=utf-8", "no-cache", "/"},
		{"/manifest.webmanifest", "application/manifest+json", "no-cache", ""},
		{"/icons/icon-192.png", "image/png", "no-cache", ""},
		{"/assets/index-abc12.js", "text/javascript; charset=utf-8", "public, max-age=31536000, immutable", ""},
		{"/", "text/html; charset=utf-8", "no-cache", ""},
		{"/incidents/7", "text/html; charset=utf-8", "no-cache", ""}, // app route: index.html
	}
	for _, c := range cases {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, c.path, nil))
		if rec.Code != http.StatusOK {
			t.Errorf("%s: status %d", c.path, rec.Code)
			continue
		}
		if got := rec.Header().Get("Content-Type"); got != c.ctype {
			t.Errorf("%s: Content-Type %q, want %q", c.path, got, c.ctype)
		}
		if got := rec.Header().Get("Cache-Control"); got != c.cache {
			t.Errorf("%s: Cache-Control %q, want %q", c.path, got, c.cache)
		}
		if got := rec.Header().Get("Service-Worker-Allowed"); got != c.swAllowed {
			t.Errorf("%s: Service-Worker-Allowed %q, want %q", c.path, got, c.swAllowed)
		}
	}
}
