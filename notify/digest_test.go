package notify

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"mime"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/radtrack/radtrack/rules"
)

// stormDeliveries: a warning raise, a critical raise and an alarm
// re-alarm of three incidents, to one recipient.
func stormDeliveries(r Recipient) []Delivery {
	var out []Delivery
	for i, c := range []struct {
		sev rules.Severity
		typ EventType
	}{{rules.SeverityWarning, EventRaised}, {rules.SeverityCritical, EventRaised}, {rules.SeverityAlarm, EventRealarmed}} {
		inc := incident()
		inc.ID, inc.Severity = int64(100+i), c.sev
		out = append(out, Delivery{Event: Event{Type: c.typ, Time: t0, Incident: inc}, Recipient: r})
	}
	return out
}

func TestDigestOrderAndKey(t *testing.T) {
	g := Digest{Deliveries: stormDeliveries(Recipient{ID: "push:1"})}
	var order []int64
	for _, d := range g.Sorted() {
		order = append(order, d.Event.Incident.ID)
	}
	if !slices.Equal(order, []int64{101, 102, 100}) || !slices.Equal(g.Incidents(), order) {
		t.Fatalf("order %v incidents %v, want [101 102 100]: critical, alarm, warning", order, g.Incidents())
	}
	rev := Digest{Deliveries: slices.Clone(g.Deliveries)}
	slices.Reverse(rev.Deliveries)
	if g.Key() != rev.Key() || !strings.HasPrefix(g.Key(), "d3-") {
		t.Errorf("digest keys %q and %q, want one key whatever the order", g.Key(), rev.Key())
	}
	if other := (Digest{Deliveries: g.Deliveries[:2]}); other.Key() == g.Key() {
		t.Error("a digest of fewer deliveries has the same key")
	}
	if got := digestTitle(g.Sorted(), 2); got != "3 incidents: CRITICAL incident 101 raised, ALARM incident 102 RE-ALARM +1 more" {
		t.Errorf("title %q", got)
	}
}

// A JSON webhook digest: one signed request, every event once (most
// severe first) with the recipients it is for and their keys; a CAP
// endpoint never merges.
func TestWebhookDigest(t *testing.T) {
	rc := &receiver{}
	srv := httptest.NewServer(rc)
	defer srv.Close()
	w, err := NewWebhook(WebhookConfig{URL: srv.URL, Secret: webhookSecret})
	if err != nil {
		t.Fatal(err)
	}
	if w.MaxDigest() < 2 {
		t.Fatalf("JSON webhook MaxDigest %d", w.MaxDigest())
	}
	dls := stormDeliveries(Recipient{ID: "endpoint:1", Name: "north"})
	second := dls[1]
	second.Recipient = Recipient{ID: "endpoint:2", Name: "south"}
	dls = append(dls, second)
	g := Digest{Deliveries: dls}
	if err := w.SendDigest(context.Background(), g); err != nil {
		t.Fatal(err)
	}
	if len(rc.bodies) != 1 || rc.rejected != 0 {
		t.Fatalf("%d requests, %d rejected; want one signed request", len(rc.bodies), rc.rejected)
	}
	if h := rc.headers[0]; h.Get(HeaderIdemKey) != g.Key() || h.Get(HeaderEvent) != "digest" {
		t.Errorf("headers key %q event %q", h.Get(HeaderIdemKey), h.Get(HeaderEvent))
	}
	var body webhookDigest
	if err := json.Unmarshal(rc.bodies[0], &body); err != nil {
		t.Fatal(err)
	}
	if !body.Digest || !body.Pages || len(body.Events) != 3 || body.Events[0].Incident.ID != 101 ||
		len(body.Events[0].Recipients) != 2 || body.Events[1].Event != EventRealarmed {
		t.Fatalf("digest body %s", rc.bodies[0])
	}
	var keys []string
	for _, e := range body.Events {
		for _, r := range e.Recipients {
			keys = append(keys, r.Key)
		}
	}
	slices.Sort(keys)
	want := g.Keys()
	slices.Sort(want)
	if !slices.Equal(keys, want) {
		t.Errorf("keys in the body %v, want %v", keys, want)
	}
	capHook, err := NewWebhook(WebhookConfig{URL: srv.URL, Secret: webhookSecret, Format: WebhookCAP, CAP: CAPConfig{Sender: "radtrack@example.org"}})
	if err != nil {
		t.Fatal(err)
	}
	if capHook.MaxDigest() > 1 || !IsPermanent(capHook.SendDigest(context.Background(), g)) {
		t.Error("a CAP endpoint merges")
	}
}

// An e-mail digest: one mail to the address, subject naming the most
// severe incidents, each event in the text, every key listed.
func TestEmailDigest(t *testing.T) {
	cert, pool := testCert(t)
	srv := startSMTP(t, &cert, "", "")
	em, err := NewEmail(EmailConfig{Host: "127.0.0.1", Port: portOf(t, srv.addr), TLS: &tls.Config{RootCAs: pool},
		From: "RadTrack <radtrack@radtrack.example.org>"})
	if err != nil {
		t.Fatal(err)
	}
	r := Recipient{ID: "email:4", Name: "Duty Officer", Email: "duty@fire.example"}
	g := Digest{Deliveries: stormDeliveries(r)}
	if err := em.SendDigest(context.Background(), g); err != nil {
		t.Fatal(err)
	}
	if len(srv.mails) != 1 || strings.Join(srv.mails[0].to, ",") != "duty@fire.example" {
		t.Fatalf("%d mails", len(srv.mails))
	}
	msg, parts := parseMail(t, srv.mails[0].data)
	subject, _ := new(mime.WordDecoder).DecodeHeader(msg.Header.Get("Subject"))
	if !strings.HasPrefix(subject, "3 incidents: CRITICAL incident 101 raised, ALARM incident 102 RE-ALARM") {
		t.Errorf("subject %q", subject)
	}
	if msg.Header.Get("X-RadTrack-Idempotency-Key") != g.Key() || msg.Header.Get("Importance") == "" {
		t.Errorf("key header %q importance %q", msg.Header.Get("X-RadTrack-Idempotency-Key"), msg.Header.Get("Importance"))
	}
	text := parts[0].body
	for _, k := range g.Keys() {
		if !strings.Contains(text, k) {
			t.Errorf("text lacks key %s", k)
		}
	}
	if i, j := strings.Index(text, "incident 101"), strings.Index(text, "incident 100"); i < 0 || j < i {
		t.Errorf("text does not list the critical incident before the warning:\n%s", text)
	}
	if !strings.Contains(parts[1].body, "incident 102 RE-ALARM") {
		t.Errorf("html lacks the re-alarm:\n%s", parts[1].body)
	}
	other := g
	other.Deliveries = append(slices.Clone(g.Deliveries), Delivery{Event: g.Deliveries[0].Event, Recipient: Recipient{ID: "email:5", Email: "else@fire.example"}})
	if err := em.SendDigest(context.Background(), other); !errors.Is(err, ErrInvalid) {
		t.Errorf("digest to two addresses: %v, want invalid", err)
	}
}
