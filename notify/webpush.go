package notify

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
	"unicode/utf8"

	webpush "github.com/SherClockHolmes/webpush-go"

	"github.com/radtrack/radtrack/rules"
)

// Web Push: RFC 8030 transport, RFC 8291 message encryption (aes128gcm),
// RFC 8292 VAPID. The encryption and the VAPID JWT come from
// github.com/SherClockHolmes/webpush-go; our tests decrypt its output with
// an independent decrypter checked on RFC 8291's worked example.

// PushSubscription is the browser's PushSubscription.toJSON().
type PushSubscription struct {
	Endpoint string `json:"endpoint"`
	// ExpirationTime is when the push service ends the subscription, in
	// milliseconds since the epoch (null: never), as the browser's
	// PushSubscription.toJSON() gives it; kept, not acted on.
	ExpirationTime *int64   `json:"expirationTime,omitempty"`
	Keys           PushKeys `json:"keys"`
}

// PushKeys are a subscription's keys, base64url: the user agent's P-256
// public key and its 16-byte authentication secret (RFC 8291 §2).
type PushKeys struct {
	P256dh string `json:"p256dh"`
	Auth   string `json:"auth"`
}

// ErrSubscriptionGone is a push service's 404 or 410: the subscription
// expired or the user revoked it. Permanent; delete the subscription.
var ErrSubscriptionGone = errors.New("notify: push subscription gone")

// WebPushConfig configures the Web Push channel.
type WebPushConfig struct {
	Keys VAPIDKeys
	// Subject is the VAPID contact: "mailto:ops@example.org" or an https
	// URL (RFC 8292 §2.1). Push services may use it to reach the operator.
	Subject string
	// Timeout bounds one attempt (default 10 s).
	Timeout time.Duration
	// Client sends the requests; nil means a client of our own.
	Client *http.Client
}

// WebPush sends incident events to browsers' push services.
type WebPush struct {
	cfg    WebPushConfig
	client *http.Client
}

// NewWebPush checks cfg and returns the channel.
func NewWebPush(cfg WebPushConfig) (*WebPush, error) {
	if err := cfg.Keys.Check(); err != nil {
		return nil, err
	}
	if !strings.HasPrefix(cfg.Subject, "mailto:") && !strings.HasPrefix(cfg.Subject, "https://") {
		return nil, fmt.Errorf("notify: VAPID subject %q: want mailto: or https:", cfg.Subject)
	}
	client := cfg.Client
	if client == nil {
		client = &http.Client{}
	}
	return &WebPush{cfg: cfg, client: client}, nil
}

// PublicKey is the applicationServerKey the app subscribes with.
func (w *WebPush) PublicKey() string { return w.cfg.Keys.Public }

// maxPushPayload keeps the plaintext well inside what every push service
// takes (4 KiB of encrypted body, of which 103 bytes are aes128gcm
// overhead).
const maxPushPayload = 3072

// pushPayload is what the service worker receives (version 1). It decides
// from Pages whether to ring; Actions hint at the buttons to show.
type pushPayload struct {
	V        int            `json:"v"`
	Key      string         `json:"key"`
	Event    EventType      `json:"event"`
	Pages    bool           `json:"pages"`
	Test     bool           `json:"test,omitempty"`
	Incident int64          `json:"incident"`
	Version  int64          `json:"version"`
	State    rules.State    `json:"state"`
	Severity rules.Severity `json:"severity"`
	Title    string         `json:"title"`
	Body     string         `json:"body"`
	Vehicles []string       `json:"vehicles"`
	PeakUSvh *float64       `json:"peak_usvh"`
	Place    string         `json:"place"`
	LonLat   [2]float64     `json:"lonlat"`
	Time     time.Time      `json:"time"`
	URL      string         `json:"url,omitempty"`
	Actions  []pushAction   `json:"actions,omitempty"`
	// A digest (several pages in one push) lists every incident it names
	// (its Acknowledge acknowledges them all) and every key it covers;
	// Incident and the fields above are its first (most severe) page's.
	Digest    bool     `json:"digest,omitempty"`
	Incidents []int64  `json:"incidents,omitempty"`
	Keys      []string `json:"keys,omitempty"`
}

type pushAction struct {
	Action string `json:"action"`
	Title  string `json:"title"`
}

func pushBody(d Delivery) ([]byte, error) {
	p := pushPayloadOf(d)
	return p.encode()
}

// pushPayloadOf is the payload of one delivery.
func pushPayloadOf(d Delivery) pushPayload {
	e, inc := d.Event, d.Event.Incident
	p := pushPayload{
		V: 1, Key: d.Key(), Event: e.Type, Pages: e.Type.Pages(), Test: e.Test,
		Incident: inc.ID, Version: inc.Version, State: inc.State, Severity: inc.Severity,
		Title:    title(e),
		Body:     fmt.Sprintf("%s — %s at %s", vehicleList(inc.Vehicles, 3), formatDose(inc.Peak.DoseUSvh), place(inc)),
		PeakUSvh: inc.Peak.DoseUSvh, Place: place(inc), LonLat: inc.Peak.LonLat, Time: e.Time.UTC(), URL: inc.URL,
	}
	for i, v := range inc.Vehicles {
		if i == 5 {
			break
		}
		p.Vehicles = append(p.Vehicles, v.Label())
	}
	if inc.State == rules.StateRaised && e.Type != EventResolved {
		p.Actions = []pushAction{{Action: "acknowledge", Title: "Acknowledge"}}
	}
	return p
}

// encode is p's JSON within the push payload limit.
func (p pushPayload) encode() ([]byte, error) {
	b, err := json.Marshal(p)
	if err == nil && len(b) > maxPushPayload {
		// Long names: keep the facts, cut the prose.
		p.Vehicles = p.Vehicles[:min(1, len(p.Vehicles))]
		p.Title, p.Body, p.Place = truncate(p.Title, 200), truncate(p.Body, 300), truncate(p.Place, 200)
		p.URL = ""
		b, err = json.Marshal(p)
	}
	if err != nil {
		return nil, fmt.Errorf("notify: push payload: %w", err)
	}
	if len(b) > maxPushPayload {
		return nil, fmt.Errorf("%w: push payload %d bytes > %d", ErrInvalid, len(b), maxPushPayload)
	}
	return b, nil
}

func truncate(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n-1]) + "…"
}

// pushUrgency maps an event to RFC 8030 §5.3 Urgency and a TTL: pages by
// severity (alarm and critical are "high": a phone in power-saving mode is
// woken), everything else at most "normal" and short-lived (a stale update
// is worth little).
func pushUrgency(e Event) (webpush.Urgency, time.Duration) {
	if !e.Type.Pages() {
		switch e.Incident.Severity {
		case rules.SeverityInfo, rules.SeverityNotice:
			return webpush.UrgencyLow, time.Hour
		}
		return webpush.UrgencyNormal, time.Hour
	}
	switch e.Incident.Severity {
	case rules.SeverityCritical, rules.SeverityAlarm:
		return webpush.UrgencyHigh, 12 * time.Hour
	case rules.SeverityWarning:
		return webpush.UrgencyNormal, 6 * time.Hour
	case rules.SeverityNotice:
		return webpush.UrgencyLow, time.Hour
	}
	return webpush.UrgencyVeryLow, time.Hour
}

// pushTopic collapses pending non-paging messages of one incident at the
// push service (RFC 8030 §5.4): a phone that was offline gets the latest
// update, not each one. Paging events get no topic, so a raise is never
// replaced by a later message before the phone saw it.
func pushTopic(e Event) string {
	if e.Type.Pages() {
		return ""
	}
	return fmt.Sprintf("incident-%d", e.Incident.ID)
}

// Send implements Sender. A 404 or 410 from the push service is
// ErrSubscriptionGone (permanent).
func (w *WebPush) Send(ctx context.Context, d Delivery) error {
	if err := d.validate(); err != nil {
		return err
	}
	if err := checkSubscription(d.Recipient); err != nil {
		return err
	}
	sub := d.Recipient.Push
	body, err := pushBody(d)
	if err != nil {
		return err
	}
	return w.push(ctx, sub, body, d.Event)
}

// maxPushDigest keeps a digest within the push payload limit (a key is
// about 40 bytes, an incident id up to 20).
const maxPushDigest = 30

// MaxDigest implements DigestSender.
func (w *WebPush) MaxDigest() int { return maxPushDigest }

// SendDigest implements DigestSender: one push to the subscription of
// g's recipient (every delivery of g is to the same one), titled and
// shown as its most severe page, listing every incident and key.
func (w *WebPush) SendDigest(ctx context.Context, g Digest) error {
	sorted, err := g.sortedTo("push subscription", func(a, b Recipient) bool {
		return a.Push != nil && b.Push != nil && a.Push.Endpoint == b.Push.Endpoint
	})
	if err != nil {
		return err
	}
	first := sorted[0]
	if err := checkSubscription(first.Recipient); err != nil {
		return err
	}
	p := pushPayloadOf(first)
	p.Key, p.Digest, p.Incidents, p.Keys = g.Key(), true, g.Incidents(), g.Keys()
	p.Title = digestTitle(sorted, 2)
	lines := make([]string, 0, 4)
	for i, d := range sorted {
		if i == 3 {
			lines = append(lines, fmt.Sprintf("+%d more", len(sorted)-i))
			break
		}
		lines = append(lines, title(d.Event))
	}
	p.Body = strings.Join(lines, "\n")
	p.Actions = nil
	for _, d := range sorted {
		if d.Event.Incident.State == rules.StateRaised && d.Event.Type.Pages() {
			p.Actions = []pushAction{{Action: "acknowledge", Title: fmt.Sprintf("Acknowledge all %d", len(p.Incidents))}}
			break
		}
	}
	body, err := p.encode()
	if err != nil {
		return err
	}
	return w.push(ctx, first.Recipient.Push, body, first.Event)
}

// checkSubscription checks what a push to r needs.
func checkSubscription(r Recipient) error {
	sub := r.Push
	if sub == nil {
		return fmt.Errorf("%w: recipient %s has no push subscription", ErrInvalid, r.ID)
	}
	if u, err := url.Parse(sub.Endpoint); err != nil || u.Scheme != "https" || u.Host == "" {
		return fmt.Errorf("%w: push endpoint %q is not an https URL", ErrInvalid, sub.Endpoint)
	}
	if p256dh, err := decodeKey(sub.Keys.P256dh); err != nil || len(p256dh) != 65 {
		return fmt.Errorf("%w: push subscription p256dh key is not a P-256 point", ErrInvalid)
	}
	if auth, err := decodeKey(sub.Keys.Auth); err != nil || len(auth) != 16 {
		return fmt.Errorf("%w: push subscription auth secret is not 16 bytes", ErrInvalid)
	}
	return nil
}

// push encrypts body to sub and posts it; e sets urgency, TTL and topic.
func (w *WebPush) push(ctx context.Context, sub *PushSubscription, body []byte, e Event) error {
	urgency, ttl := pushUrgency(e)
	ctx, cancel := withTimeout(ctx, w.cfg.Timeout)
	defer cancel()
	resp, err := webpush.SendNotificationWithContext(ctx, body, &webpush.Subscription{
		Endpoint: sub.Endpoint,
		Keys:     webpush.Keys{P256dh: sub.Keys.P256dh, Auth: sub.Keys.Auth},
	}, &webpush.Options{
		HTTPClient: w.client,
		// The library adds "mailto:" itself unless the subject is https.
		Subscriber:      strings.TrimPrefix(w.cfg.Subject, "mailto:"),
		Topic:           pushTopic(e),
		TTL:             int(ttl / time.Second),
		Urgency:         urgency,
		VAPIDPublicKey:  w.cfg.Keys.Public,
		VAPIDPrivateKey: w.cfg.Keys.Private,
	})
	if err != nil {
		if ctx.Err() != nil || isNetError(err) {
			return transient(0, 0, fmt.Errorf("push to %s: %w", host(sub.Endpoint), err))
		}
		// The library failed before sending: the subscription's keys.
		return permanent(0, fmt.Errorf("push to %s: %w", host(sub.Endpoint), err))
	}
	defer resp.Body.Close()
	msg, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode == http.StatusNotFound || resp.StatusCode == http.StatusGone {
		return permanent(resp.StatusCode, fmt.Errorf("%w: %s answered %s", ErrSubscriptionGone, host(sub.Endpoint), resp.Status))
	}
	return classifyHTTP("push service "+host(sub.Endpoint), resp, string(msg), time.Now())
}

// host names a push service in errors without the subscription's secret
// path.
func host(endpoint string) string {
	if u, err := url.Parse(endpoint); err == nil {
		return u.Host
	}
	return "push service"
}

func decodeKey(s string) ([]byte, error) {
	s = strings.TrimRight(s, "=")
	if b, err := base64.RawURLEncoding.DecodeString(s); err == nil {
		return b, nil
	}
	return base64.RawStdEncoding.DecodeString(s)
}

func isNetError(err error) bool {
	var ue *url.Error
	return errors.As(err, &ue)
}
