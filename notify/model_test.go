package notify

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"
)

func TestIdempotencyKey(t *testing.T) {
	evs := lifecycle()
	d := Delivery{Event: evs[0], Recipient: Recipient{ID: "push:17"}}
	k := d.Key()
	if !regexp.MustCompile(`^i42-v1-raised-[0-9a-f]{16}$`).MatchString(k) {
		t.Fatalf("key %q", k)
	}
	again := Delivery{Event: evs[0], Recipient: Recipient{ID: "push:17", Name: "another name"}}
	again.Event.Incident.Title = "changed text does not matter"
	if again.Key() != k {
		t.Error("the key depends on more than (incident, event, recipient)")
	}
	seen := map[string]bool{k: true}
	for _, other := range []Delivery{
		{Event: evs[0], Recipient: Recipient{ID: "push:18"}},
		{Event: evs[1], Recipient: Recipient{ID: "push:17"}},
		{Event: Event{Type: EventRealarmed, Time: t0, Incident: evs[0].Incident}, Recipient: Recipient{ID: "push:17"}},
	} {
		if seen[other.Key()] {
			t.Errorf("key %s repeats", other.Key())
		}
		seen[other.Key()] = true
	}
}

func TestEventTypes(t *testing.T) {
	for _, c := range []struct {
		t            EventType
		valid, pages bool
	}{
		{EventRaised, true, true}, {EventRealarmed, true, true}, {EventUpdated, true, false},
		{EventAcknowledged, true, false}, {EventResolved, true, false}, {"condition_ended", false, false},
	} {
		if c.t.Valid() != c.valid || c.t.Pages() != c.pages {
			t.Errorf("%s: valid %v pages %v", c.t, c.t.Valid(), c.t.Pages())
		}
	}
}

func TestErrorClasses(t *testing.T) {
	if !IsPermanent(fmt.Errorf("wrapped: %w", ErrInvalid)) || !IsPermanent(permanent(400, errors.New("x"))) {
		t.Error("permanent errors not recognised")
	}
	if IsPermanent(errors.New("unclassified")) || IsPermanent(transient(503, time.Second, errors.New("x"))) || IsPermanent(nil) {
		t.Error("transient or unclassified errors called permanent")
	}
	if w, ok := RetryAfter(fmt.Errorf("ctx: %w", transient(503, 4*time.Second, errors.New("x")))); !ok || w != 4*time.Second {
		t.Errorf("RetryAfter through wrapping: %v %v", w, ok)
	}
	if _, ok := RetryAfter(errors.New("x")); ok {
		t.Error("RetryAfter of a plain error")
	}
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for h, want := range map[string]time.Duration{
		"": 0, "0": 0, "-5": 0, "abc": 0, "12": 12 * time.Second, " 12 ": 12 * time.Second,
		"99999999999999999999": 0, "100000": time.Hour,
		now.Add(-time.Minute).Format(http.TimeFormat):    0,
		now.Add(2 * time.Minute).Format(http.TimeFormat): 2 * time.Minute,
		now.Add(48 * time.Hour).Format(http.TimeFormat):  time.Hour,
	} {
		if got := parseRetryAfter(h, now); got != want {
			t.Errorf("Retry-After %q: %v, want %v", h, got, want)
		}
	}
}

func TestWording(t *testing.T) {
	for v, want := range map[float64]string{
		0.0512: "0.051 µSv/h", 0.5: "0.500 µSv/h", 2.554: "2.55 µSv/h", 12.34: "12.3 µSv/h",
		123.4: "123 µSv/h", 4560.2: "4560 µSv/h",
	} {
		if got := formatDose(&v); got != want {
			t.Errorf("formatDose(%v) = %q, want %q", v, got, want)
		}
	}
	nan := math.NaN()
	if formatDose(nil) != "no dose reading" || formatDose(&nan) != "no dose reading" {
		t.Error("missing dose wording")
	}
	if got := formatPlace([2]float64{-70.05, -33.35}); got != "33.35000°S 70.05000°W" {
		t.Errorf("southern/western place %q", got)
	}
	e := lifecycle()[4]
	e.Test = true
	if got := title(e); got != "[TEST] CRITICAL incident 42 resolved (innocent: medical) by rpo.kato: Patrol 7, osmand-abc — peak 123 µSv/h" {
		t.Errorf("title %q", got)
	}
	vs := []Vehicle{{ID: 1}, {ID: 2, UID: "u2"}, {ID: 3, Name: "  "}, {ID: 4, Name: "Four"}}
	if got := vehicleList(vs, 3); got != "vehicle 1, u2, vehicle 3 +1 more" {
		t.Errorf("vehicleList %q", got)
	}
	if got := vehicleList(nil, 3); got != "no vehicle" {
		t.Errorf("empty vehicleList %q", got)
	}
}

// TestEnvelopeJSON pins the version-1 JSON that webhooks and MQTT carry.
func TestEnvelopeJSON(t *testing.T) {
	d := Delivery{Event: lifecycle()[0], Recipient: Recipient{ID: "webhook:1"}}
	d.Event.Incident.Vehicles = d.Event.Incident.Vehicles[:1]
	d.Event.Incident.Rules = d.Event.Incident.Rules[:1]
	d.Event.Incident.Fence.Geometry = json.RawMessage(`{"type":"Polygon","coordinates":[[[1,2],[3,4],[5,6],[1,2]]]}`)
	b, err := eventJSON(d)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"v":1,"key":"` + d.Key() + `","event":"raised","time":"2025-07-25T19:04:41Z","pages":true,` +
		`"title":"ALARM incident 42 raised: Patrol 7 — peak 2.55 µSv/h",` +
		`"incident":{"id":42,"version":1,"state":"raised","severity":"alarm","title":"Dose rate above IAEA OIL3 near the harbour",` +
		`"rules":["IAEA OIL3 (1 µSv/h)"],"vehicles":[{"id":7,"uid":"bgeigie-5002","name":"Patrol 7","group":"North"}],` +
		`"peak":{"dose_usvh":2.55,"time":"2025-07-25T19:05:10Z","lonlat":[136.163018,34.482648],"gps_valid":true},` +
		`"first_seen":"2025-07-25T19:04:40Z","last_seen":"2025-07-25T19:06:10Z",` +
		`"fence":{"id":3,"name":"Restricted zone A","geometry":{"type":"Polygon","coordinates":[[[1,2],[3,4],[5,6],[1,2]]]}},` +
		`"url":"https://radtrack.example.org/#/incidents/42"}}`
	if string(b) != want {
		t.Errorf("envelope\n got %s\nwant %s", b, want)
	}
	d.Event.Incident.Peak.DoseUSvh = nil
	b, _ = eventJSON(d)
	if !strings.Contains(string(b), `"peak":{"dose_usvh":null,`) {
		t.Errorf("no dose: %s", b)
	}
}

// Every channel refuses the same invalid deliveries before any I/O.
func TestChannelsRejectInvalid(t *testing.T) {
	keys, _ := GenerateVAPID()
	wp, _ := NewWebPush(WebPushConfig{Keys: keys, Subject: "mailto:a@b.example"})
	em, _ := NewEmail(EmailConfig{Host: "127.0.0.1", Port: 1, From: "a@b.example"})
	wh, _ := NewWebhook(WebhookConfig{URL: "http://127.0.0.1:1", Secret: webhookSecret})
	bad := Delivery{Event: Event{Type: EventRaised, Time: t0, Incident: Incident{ID: 1, Version: 0, Severity: "alarm"}}, Recipient: Recipient{ID: "x"}}
	for name, s := range map[string]Sender{"webpush": wp, "email": em, "webhook": wh} {
		if err := s.Send(context.Background(), bad); !errors.Is(err, ErrInvalid) {
			t.Errorf("%s: %v", name, err)
		}
	}
}
