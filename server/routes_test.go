package server_test

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/radtrack/radtrack/frontend"
	"github.com/radtrack/radtrack/ingest"
)

func TestRootServesTheAppOrHowToBuildIt(t *testing.T) {
	h := newHarness(t, ingest.DefaultWriterConfig(), testConfig())
	resp, err := http.Get(h.url + "/")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if frontend.Built() {
		if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), "<html") && !strings.Contains(string(body), "<!doctype") {
			t.Fatalf("built app: %d %.200s", resp.StatusCode, body)
		}
	} else if resp.StatusCode != http.StatusServiceUnavailable || !strings.Contains(string(body), "npm run build") {
		t.Fatalf("unbuilt app: %d %.200s, want a page saying how to build it", resp.StatusCode, body)
	}

	resp, err = http.Get(h.url + "/api/v1/no-such-route")
	if err != nil {
		t.Fatal(err)
	}
	body, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound || !strings.Contains(string(body), `"error"`) {
		t.Fatalf("unknown API route: %d %s, want a JSON 404", resp.StatusCode, body)
	}
}

func TestEveryResponseCarriesARequestID(t *testing.T) {
	h := newHarness(t, ingest.DefaultWriterConfig(), testConfig())
	resp, err := http.Get(h.url + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if id := resp.Header.Get("X-Request-ID"); len(id) != 16 {
		t.Fatalf("X-Request-ID %q, want a generated 16-hex-digit id", id)
	}
	req, _ := http.NewRequest("GET", h.url+"/healthz", nil)
	req.Header.Set("X-Request-ID", "lb-7f3a")
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if id := resp.Header.Get("X-Request-ID"); id != "lb-7f3a" {
		t.Fatalf("a sane caller id is kept: got %q", id)
	}
	req.Header.Set("X-Request-ID", "bad\nid")
	if resp, err = http.DefaultClient.Do(req); err == nil {
		resp.Body.Close()
		if resp.Header.Get("X-Request-ID") == "bad\nid" {
			t.Fatal("a caller id with a newline was echoed")
		}
	}
}

// A method a route does not take answers the JSON error body with 405 and
// the Allow header, like every other API error.
func TestUnsupportedMethodAnswersJSONWithAllow(t *testing.T) {
	h := newHarness(t, ingest.DefaultWriterConfig(), testConfig())
	for _, c := range []struct{ method, path, allow string }{
		{http.MethodGet, "/api/v1/measurements", "POST"},
		{http.MethodDelete, "/api/v1/traccar", "POST"},
		{http.MethodPut, "/api/v1/devices/1/revoke", "POST"},
		{http.MethodPost, "/healthz", "GET, HEAD"},
		{http.MethodPost, "/index.html", "GET, HEAD"}, // the map app
	} {
		req, _ := http.NewRequest(c.method, h.url+c.path, nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		var e struct{ Error, Field string }
		if resp.StatusCode != http.StatusMethodNotAllowed || resp.Header.Get("Allow") != c.allow ||
			!strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") ||
			json.Unmarshal(body, &e) != nil || e.Field != "method" || !strings.Contains(e.Error, c.method) {
			t.Errorf("%s %s: %d Allow %q Content-Type %q body %s; want 405, Allow %q, a JSON error naming the method",
				c.method, c.path, resp.StatusCode, resp.Header.Get("Allow"), resp.Header.Get("Content-Type"), body, c.allow)
		}
	}
	// An API path without any route is unknown, whatever the method.
	resp, err := http.Post(h.url+"/api/v1/no-such-route", "application/json", strings.NewReader("{}"))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound || !strings.Contains(string(body), `"error"`) {
		t.Fatalf("POST to an unknown API path: %d %s, want a JSON 404", resp.StatusCode, body)
	}
}
