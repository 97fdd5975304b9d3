package main

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// Without -url the check asks /healthz on RADTRACK_ADDR, as README says:
// a node whose database is away (/readyz 503) is still healthy.
func TestHealthcheckDefaultsToHealthz(t *testing.T) {
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/healthz" {
			w.WriteHeader(http.StatusOK)
			return
		}
		w.WriteHeader(http.StatusServiceUnavailable) // /readyz while the database is away
	}))
	defer ts.Close()
	t.Setenv("RADTRACK_ADDR", strings.TrimPrefix(ts.URL, "http://"))
	if err := runHealthcheck(context.Background(), nil, io.Discard); err != nil {
		t.Fatalf("healthy node with its database away: %v", err)
	}
	if err := runHealthcheck(context.Background(), []string{"-url", ts.URL + "/readyz"}, io.Discard); err == nil {
		t.Fatal("-url /readyz answering 503 passed")
	}
}

func TestDefaultHealthURL(t *testing.T) {
	for addr, want := range map[string]string{
		"":              "http://127.0.0.1:8080/healthz",
		"0.0.0.0:8080":  "http://127.0.0.1:8080/healthz",
		":9000":         "http://127.0.0.1:9000/healthz",
		"[::]:8080":     "http://127.0.0.1:8080/healthz",
		"10.1.2.3:8081": "http://10.1.2.3:8081/healthz",
		"[::1]:8080":    "http://[::1]:8080/healthz",
		"radtrack:80":   "http://radtrack:80/healthz",
	} {
		if got := defaultHealthURL(addr); got != want {
			t.Errorf("RADTRACK_ADDR=%q: %s, want %s", addr, got, want)
		}
	}
}
