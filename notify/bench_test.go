package notify

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/mail"
	"strings"
	"testing"
	"time"
)

// Rendering and signing per delivery kind, without network: what one
// delivery costs this process before the receiver is involved.
//
//	go test -run '^$' -bench . -benchmem ./notify

type acceptAll struct{}

func (acceptAll) RoundTrip(r *http.Request) (*http.Response, error) {
	io.Copy(io.Discard, r.Body)
	r.Body.Close()
	return &http.Response{StatusCode: http.StatusCreated, Status: "201 Created", Body: io.NopCloser(strings.NewReader("")),
		Header: http.Header{}, Request: r}, nil
}

func BenchmarkDelivery(b *testing.B) {
	e := lifecycle()[2]
	d := Delivery{Event: e, Recipient: Recipient{ID: "bench:1", Email: "duty@fire.example"}}

	// The baseline the others are read against: marshalling the bare
	// incident snapshot, the least any channel does.
	b.Run("baseline-json-incident", func(b *testing.B) {
		for b.Loop() {
			json.Marshal(e.Incident)
		}
	})
	b.Run("webhook-json+sign", func(b *testing.B) {
		for b.Loop() {
			body, _ := eventJSON(d)
			SignWebhook(webhookSecret, "1753470280", body)
		}
	})
	b.Run("webhook-cap+sign", func(b *testing.B) {
		for b.Loop() {
			body, _ := RenderCAP(testCAP, e)
			SignWebhook(webhookSecret, "1753470280", body)
		}
	})
	b.Run("mqtt-json", func(b *testing.B) {
		for b.Loop() {
			eventJSON(d)
		}
	})
	b.Run("webpush-encrypt+vapid", func(b *testing.B) {
		keys, _ := GenerateVAPID()
		wp, err := NewWebPush(WebPushConfig{Keys: keys, Subject: "mailto:ops@radtrack.example.org",
			Client: &http.Client{Transport: acceptAll{}}})
		if err != nil {
			b.Fatal(err)
		}
		pd := d
		pd.Recipient.Push = newUserAgent(b).subscription("https://push.example/sub/1")
		for b.Loop() {
			if err := wp.Send(context.Background(), pd); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("email-mime", func(b *testing.B) {
		em, _ := NewEmail(EmailConfig{Host: "mx.example", From: "radtrack@radtrack.example.org"})
		to, _ := mailAddress("duty@fire.example")
		for b.Loop() {
			msg, err := em.message(d, to)
			if err != nil {
				b.Fatal(err)
			}
			msg.WriteTo(io.Discard)
		}
	})
	b.Run("atom-100", func(b *testing.B) {
		evs := make([]Event, 100)
		for i := range evs {
			evs[i] = e
			evs[i].Incident.ID = int64(i + 1)
			evs[i].Time = t0.Add(time.Duration(i) * time.Minute)
		}
		for b.Loop() {
			RenderAtom(FeedConfig{SelfURL: "https://x.example/api/v1/cap.atom"}, testCAP, evs)
		}
	})
}

func mailAddress(s string) (*mail.Address, error) { return mail.ParseAddress(s) }
