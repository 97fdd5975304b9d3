package sim

import (
	"context"
	"errors"
	"math"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestOsmAndSender(t *testing.T) {
	rec := &recorder{
		statuses: []int{http.StatusTooManyRequests, http.StatusOK, http.StatusBadRequest, http.StatusOK},
		headers:  map[int]http.Header{429: {"Retry-After": {"0"}}},
	}
	srv := httptest.NewServer(rec)
	defer srv.Close()
	o := &OsmAndSender{URL: srv.URL + "/", Tokens: map[string]string{"sim-002": "tok-2"}, Retry: Retry{Base: time.Millisecond}}
	samples := patrolSamples(t, 3, 2*time.Second)
	err := o.Send(context.Background(), "sim-002", samples)
	// 429 → retried → 200; then 400 loses sample 2 alone; sample 3 → 200.
	var se *SendError
	if !errors.As(err, &se) || se.Acked != 2 || se.Failed != 1 {
		t.Fatalf("err %v", err)
	}
	reqs := rec.requests()
	if len(reqs) != 4 || o.Retries() != 1 {
		t.Fatalf("%d requests, %d retries", len(reqs), o.Retries())
	}
	for i, r := range []recorded{reqs[1], reqs[2], reqs[3]} {
		q, _ := url.ParseQuery(r.query)
		s := samples[i]
		if r.method != http.MethodGet || q.Get("id") != "sim-002" || q.Get("key") != "tok-2" ||
			q.Get("timestamp") != strconv.FormatInt(s.Time.UnixMilli(), 10) {
			t.Errorf("request %d: %s", i, r.query)
		}
		knots, _ := strconv.ParseFloat(q.Get("speed"), 64)
		dose, _ := strconv.ParseFloat(q.Get("doseRate"), 64)
		lat, _ := strconv.ParseFloat(q.Get("lat"), 64)
		if math.Abs(knots-s.Speed*3600/1852) > 0.01 || math.Abs(dose-s.DoseRate) > 1e-4 || math.Abs(lat-s.Lat) > 1e-7 {
			t.Errorf("request %d: speed %v kn, dose %v, lat %v from %+v", i, knots, dose, lat, s)
		}
	}
	if got := ListenerURL("127.0.0.1:5055"); got != "http://127.0.0.1:5055/" {
		t.Errorf("ListenerURL = %q", got)
	}
}

func TestOsmAndSenderGivesUpOnUnknownDevice(t *testing.T) {
	rec := &recorder{statuses: []int{http.StatusNotFound}}
	srv := httptest.NewServer(rec)
	defer srv.Close()
	o := &OsmAndSender{URL: srv.URL, Tokens: map[string]string{"v": "secret-token"}}
	err := o.Send(context.Background(), "v", patrolSamples(t, 4, 2*time.Second))
	var se *SendError
	if !errors.As(err, &se) || se.Acked != 0 || se.Failed != 4 || len(rec.requests()) != 1 {
		t.Fatalf("err %v after %d requests", err, len(rec.requests()))
	}
	if strings.Contains(err.Error(), "secret-token") {
		t.Errorf("the device key leaked into the error: %v", err)
	}
}
