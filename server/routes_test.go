package server_test

import (
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
