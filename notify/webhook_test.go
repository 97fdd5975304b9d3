package notify

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"encoding/xml"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

var webhookSecret = []byte("0123456789abcdef-endpoint-2")

// receiver is an HTTP endpoint that checks signatures the way the README
// tells receivers to, independently of VerifyWebhook: it recomputes the
// HMAC itself.
type receiver struct {
	mu       sync.Mutex
	bodies   [][]byte
	headers  []http.Header
	rejected int
}

func (rc *receiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	ts := r.Header.Get("X-RadTrack-Timestamp")
	mac := hmac.New(sha256.New, webhookSecret)
	mac.Write([]byte(ts + "." + string(body)))
	want := "v1=" + hex.EncodeToString(mac.Sum(nil))
	sec, err := strconv.ParseInt(ts, 10, 64)
	fresh := err == nil && time.Since(time.Unix(sec, 0)).Abs() < 5*time.Minute
	if !fresh || !hmac.Equal([]byte(r.Header.Get("X-RadTrack-Signature")), []byte(want)) || r.Method != http.MethodPost {
		rc.mu.Lock()
		rc.rejected++
		rc.mu.Unlock()
		http.Error(w, "bad signature", http.StatusUnauthorized)
		return
	}
	rc.mu.Lock()
	rc.bodies = append(rc.bodies, body)
	rc.headers = append(rc.headers, r.Header.Clone())
	rc.mu.Unlock()
	w.WriteHeader(http.StatusNoContent)
}

func delivery(e Event) Delivery {
	return Delivery{Event: e, Recipient: Recipient{ID: "webhook:2", Name: "SMS gateway"}}
}

func TestWebhookJSONSigned(t *testing.T) {
	rc := &receiver{}
	srv := httptest.NewServer(rc)
	defer srv.Close()
	wh, err := NewWebhook(WebhookConfig{URL: srv.URL + "/hook", Secret: webhookSecret})
	if err != nil {
		t.Fatal(err)
	}
	d := delivery(lifecycle()[2]) // the re-alarm
	if err := wh.Send(context.Background(), d); err != nil {
		t.Fatal(err)
	}
	if len(rc.bodies) != 1 || rc.rejected != 0 {
		t.Fatalf("received %d, rejected %d", len(rc.bodies), rc.rejected)
	}
	h := rc.headers[0]
	if h.Get("Content-Type") != "application/json" || h.Get("X-RadTrack-Event") != "realarmed" ||
		h.Get("Idempotency-Key") != d.Key() || d.Key() != "i42-v3-realarmed-"+hex.EncodeToString(sha256Sum("webhook:2")[:8]) {
		t.Errorf("headers %v (key %s)", h, d.Key())
	}
	if err := VerifyWebhook(h, rc.bodies[0], time.Now(), 5*time.Minute, []byte("old-secret-0123456"), webhookSecret); err != nil {
		t.Errorf("VerifyWebhook with the rotated secret second: %v", err)
	}
	var got struct {
		V        int       `json:"v"`
		Key      string    `json:"key"`
		Event    EventType `json:"event"`
		Pages    bool      `json:"pages"`
		Title    string    `json:"title"`
		Time     time.Time `json:"time"`
		Incident Incident  `json:"incident"`
	}
	if err := json.Unmarshal(rc.bodies[0], &got); err != nil {
		t.Fatal(err)
	}
	if got.V != 1 || got.Key != d.Key() || got.Event != EventRealarmed || !got.Pages || !got.Time.Equal(d.Event.Time) ||
		got.Title != "CRITICAL incident 42 RE-ALARM: Patrol 7, osmand-abc — peak 123 µSv/h" {
		t.Errorf("envelope %+v", got)
	}
	inc := got.Incident
	if inc.ID != 42 || inc.Version != 3 || *inc.Peak.DoseUSvh != 123.4 || inc.Peak.LonLat != [2]float64{136.17, 34.48} ||
		len(inc.Vehicles) != 2 || inc.Vehicles[0].UID != "bgeigie-5002" || inc.Fence.Name != "Restricted zone A" || len(inc.Rules) != 3 {
		t.Errorf("incident %+v", inc)
	}
}

func sha256Sum(s string) []byte { h := sha256.Sum256([]byte(s)); return h[:] }

// TestWebhookTamperedRejected: the receiver (and VerifyWebhook) reject a
// changed body, a wrong secret, a stale timestamp; a 401 is permanent.
func TestWebhookTamperedRejected(t *testing.T) {
	rc := &receiver{}
	srv := httptest.NewServer(rc)
	defer srv.Close()

	// Signed with another secret: the receiver answers 401.
	wh, _ := NewWebhook(WebhookConfig{URL: srv.URL, Secret: []byte("not-the-endpoint-secret")})
	err := wh.Send(context.Background(), delivery(lifecycle()[0]))
	if !IsPermanent(err) || rc.rejected != 1 || len(rc.bodies) != 0 {
		t.Fatalf("wrong secret: err %v, rejected %d", err, rc.rejected)
	}
	// Signed an hour ago: outside the replay window.
	wh, _ = NewWebhook(WebhookConfig{URL: srv.URL, Secret: webhookSecret, Now: func() time.Time { return time.Now().Add(-time.Hour) }})
	if err := wh.Send(context.Background(), delivery(lifecycle()[0])); !IsPermanent(err) || rc.rejected != 2 {
		t.Fatalf("stale timestamp: err %v, rejected %d", err, rc.rejected)
	}

	// The same checks through VerifyWebhook on a captured request.
	wh, _ = NewWebhook(WebhookConfig{URL: srv.URL, Secret: webhookSecret})
	if err := wh.Send(context.Background(), delivery(lifecycle()[0])); err != nil {
		t.Fatal(err)
	}
	h, body := rc.headers[0], rc.bodies[0]
	now := time.Now()
	if err := VerifyWebhook(h, body, now, 5*time.Minute, webhookSecret); err != nil {
		t.Fatalf("genuine request: %v", err)
	}
	tampered := []byte(strings.Replace(string(body), `"severity":"alarm"`, `"severity":"info"`, 1))
	if string(tampered) == string(body) {
		t.Fatal("tamper did not change the body")
	}
	if err := VerifyWebhook(h, tampered, now, 5*time.Minute, webhookSecret); !errors.Is(err, ErrWebhookSignature) {
		t.Errorf("tampered body: %v", err)
	}
	if err := VerifyWebhook(h, body, now, 5*time.Minute, []byte("another-secret-123")); !errors.Is(err, ErrWebhookSignature) {
		t.Errorf("wrong secret: %v", err)
	}
	if err := VerifyWebhook(h, body, now.Add(6*time.Minute), 5*time.Minute, webhookSecret); !errors.Is(err, ErrWebhookTimestamp) {
		t.Errorf("replayed after the window: %v", err)
	}
	moved := h.Clone()
	ts, _ := strconv.ParseInt(h.Get(HeaderTimestamp), 10, 64)
	moved.Set(HeaderTimestamp, strconv.FormatInt(ts+60, 10)) // signature bound to the timestamp
	if err := VerifyWebhook(moved, body, now, 5*time.Minute, webhookSecret); !errors.Is(err, ErrWebhookSignature) {
		t.Errorf("changed timestamp: %v", err)
	}
	for _, bad := range []string{"", "abc", "+" + h.Get(HeaderTimestamp), "1e9"} {
		hh := h.Clone()
		hh.Set(HeaderTimestamp, bad)
		if err := VerifyWebhook(hh, body, now, 5*time.Minute, webhookSecret); !errors.Is(err, ErrWebhookTimestamp) {
			t.Errorf("timestamp %q: %v", bad, err)
		}
	}
}

// TestWebhookCAPBody: the CAP option posts a schema-valid alert as
// application/cap+xml, signed the same way.
func TestWebhookCAPBody(t *testing.T) {
	rc := &receiver{}
	srv := httptest.NewServer(rc)
	defer srv.Close()
	wh, err := NewWebhook(WebhookConfig{URL: srv.URL, Secret: webhookSecret, Format: WebhookCAP, CAP: testCAP})
	if err != nil {
		t.Fatal(err)
	}
	e := lifecycle()[4]
	if err := wh.Send(context.Background(), delivery(e)); err != nil {
		t.Fatal(err)
	}
	if ct := rc.headers[0].Get("Content-Type"); ct != "application/cap+xml" {
		t.Errorf("content type %q", ct)
	}
	validateCAP(t, rc.bodies[0])
	var a capAlert
	if err := xml.Unmarshal(rc.bodies[0], &a); err != nil || a.MsgType != "Cancel" || a.Identifier != "radtrack-incident-42-v5" {
		t.Errorf("CAP body: %v %+v", err, a)
	}
	if _, err := NewWebhook(WebhookConfig{URL: srv.URL, Secret: webhookSecret, Format: WebhookCAP}); err == nil {
		t.Error("CAP webhook without a CAP sender accepted")
	}
}

// TestWebhookStatusClasses maps each receiver answer to its retry class.
func TestWebhookStatusClasses(t *testing.T) {
	type answer struct {
		status     int
		retryAfter string
	}
	var mu sync.Mutex
	var next answer
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		a := next
		mu.Unlock()
		if a.retryAfter != "" {
			w.Header().Set("Retry-After", a.retryAfter)
		}
		if a.status >= 300 && a.status < 400 {
			w.Header().Set("Location", "http://elsewhere.invalid/")
		}
		w.WriteHeader(a.status)
		io.WriteString(w, "reason text")
	}))
	defer srv.Close()
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	wh, _ := NewWebhook(WebhookConfig{URL: srv.URL, Secret: webhookSecret, Now: func() time.Time { return now }})
	for _, c := range []struct {
		answer
		ok, permanent bool
		wait          time.Duration
	}{
		{answer{200, ""}, true, false, 0},
		{answer{202, ""}, true, false, 0},
		{answer{204, ""}, true, false, 0},
		{answer{301, ""}, false, true, 0},
		{answer{308, ""}, false, true, 0},
		{answer{400, ""}, false, true, 0},
		{answer{401, ""}, false, true, 0},
		{answer{404, ""}, false, true, 0},
		{answer{410, ""}, false, true, 0},
		{answer{408, ""}, false, false, 0},
		{answer{429, "7"}, false, false, 7 * time.Second},
		{answer{429, "86400"}, false, false, time.Hour},
		{answer{500, ""}, false, false, 0},
		{answer{502, "garbage"}, false, false, 0},
		{answer{503, now.Add(90 * time.Second).Format(http.TimeFormat)}, false, false, 90 * time.Second},
	} {
		mu.Lock()
		next = c.answer
		mu.Unlock()
		err := wh.Send(context.Background(), delivery(lifecycle()[0]))
		if (err == nil) != c.ok || IsPermanent(err) != c.permanent {
			t.Errorf("%d: err %v, want ok=%v permanent=%v", c.status, err, c.ok, c.permanent)
		}
		if wait, _ := RetryAfter(err); wait != c.wait {
			t.Errorf("%d Retry-After %q: wait %v, want %v", c.status, c.retryAfter, wait, c.wait)
		}
		var e *Error
		if err != nil && (!errors.As(err, &e) || e.Status != c.status || !strings.Contains(err.Error(), "reason text")) {
			t.Errorf("%d: error %v does not carry the status and the reason", c.status, err)
		}
	}
}

// TestWebhookDeadline: a receiver that never answers costs one timeout,
// transient; a closed port is transient at once.
func TestWebhookDeadline(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		<-release
	}))
	defer srv.Close()
	defer close(release)
	wh, _ := NewWebhook(WebhookConfig{URL: srv.URL, Secret: webhookSecret, Timeout: 300 * time.Millisecond})
	err := within(t, 5*time.Second, func() error { return wh.Send(context.Background(), delivery(lifecycle()[0])) })
	if err == nil || IsPermanent(err) {
		t.Errorf("hung receiver: %v", err)
	}
	// The caller's shorter deadline wins.
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	wh2, _ := NewWebhook(WebhookConfig{URL: srv.URL, Secret: webhookSecret, Timeout: time.Minute})
	if err := within(t, 5*time.Second, func() error { return wh2.Send(ctx, delivery(lifecycle()[0])) }); err == nil || IsPermanent(err) {
		t.Errorf("caller deadline: %v", err)
	}

	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	addr := ln.Addr().String()
	ln.Close()
	wh3, _ := NewWebhook(WebhookConfig{URL: "http://" + addr, Secret: webhookSecret})
	if err := wh3.Send(context.Background(), delivery(lifecycle()[0])); err == nil || IsPermanent(err) {
		t.Errorf("closed port: %v", err)
	}
}

func TestWebhookConfigAndInvalidDelivery(t *testing.T) {
	for _, c := range []WebhookConfig{
		{URL: "ftp://x", Secret: webhookSecret},
		{URL: "/relative", Secret: webhookSecret},
		{URL: "https://x.example", Secret: []byte("short")},
		{URL: "https://x.example", Secret: webhookSecret, Format: "yaml"},
	} {
		if _, err := NewWebhook(c); err == nil {
			t.Errorf("config %+v accepted", c)
		}
	}
	wh, _ := NewWebhook(WebhookConfig{URL: "http://127.0.0.1:1", Secret: webhookSecret})
	bad := []Delivery{
		{Event: Event{Type: "exploded", Time: t0, Incident: incident()}, Recipient: Recipient{ID: "x"}},
		{Event: Event{Type: EventRaised, Incident: incident()}, Recipient: Recipient{ID: "x"}},
		{Event: Event{Type: EventRaised, Time: t0, Incident: Incident{Version: 1, Severity: "alarm"}}, Recipient: Recipient{ID: "x"}},
		{Event: Event{Type: EventRaised, Time: t0, Incident: incident()}, Recipient: Recipient{ID: " "}},
		{Event: Event{Type: EventRaised, Time: t0, Incident: Incident{ID: 1, Version: 1, Severity: "dire"}}, Recipient: Recipient{ID: "x"}},
	}
	for i, d := range bad {
		if err := wh.Send(context.Background(), d); !errors.Is(err, ErrInvalid) || !IsPermanent(err) {
			t.Errorf("bad delivery %d: %v", i, err)
		}
	}
}
