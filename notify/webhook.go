package notify

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Webhook headers. The signature is HMAC-SHA256 over
// timestamp + "." + body with the endpoint's secret, hex, prefixed "v1=".
const (
	HeaderTimestamp = "X-RadTrack-Timestamp" // Unix seconds when signed
	HeaderSignature = "X-RadTrack-Signature" // "v1=" + hex(HMAC-SHA256(secret, timestamp + "." + body))
	HeaderEvent     = "X-RadTrack-Event"     // raised, realarmed, updated, acknowledged, resolved; digest for a merged request
	HeaderIdemKey   = "Idempotency-Key"      // the delivery's idempotency key
)

// WebhookFormat is the body a webhook endpoint receives.
type WebhookFormat string

const (
	WebhookJSON WebhookFormat = "json" // application/json, the event envelope (version 1)
	WebhookCAP  WebhookFormat = "cap"  // application/cap+xml, one CAP 1.2 alert
)

// WebhookConfig is one webhook endpoint.
type WebhookConfig struct {
	URL string
	// Secret signs every request; at least 16 bytes.
	Secret []byte
	Format WebhookFormat
	// CAP configures the CAP body (Format WebhookCAP).
	CAP CAPConfig
	// Timeout bounds one attempt (default 10 s).
	Timeout time.Duration
	// Client sends the requests; nil means a client of our own. Its
	// redirect policy is replaced: redirects are never followed.
	Client *http.Client
	// Now is the signing clock; nil means time.Now.
	Now func() time.Time
}

// Webhook POSTs signed events to one HTTP endpoint.
type Webhook struct {
	cfg    WebhookConfig
	client *http.Client
}

// NewWebhook checks cfg and returns the endpoint's sender.
func NewWebhook(cfg WebhookConfig) (*Webhook, error) {
	u, err := url.Parse(cfg.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("notify: webhook url %q: want an absolute http(s) URL", cfg.URL)
	}
	if len(cfg.Secret) < 16 {
		return nil, errors.New("notify: webhook secret must be at least 16 bytes")
	}
	switch cfg.Format {
	case "":
		cfg.Format = WebhookJSON
	case WebhookJSON:
	case WebhookCAP:
		if err := cfg.CAP.check(); err != nil {
			return nil, err
		}
	default:
		return nil, fmt.Errorf("notify: webhook format %q: want json or cap", cfg.Format)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	client := &http.Client{}
	if cfg.Client != nil {
		c := *cfg.Client
		client = &c
	}
	client.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return &Webhook{cfg: cfg, client: client}, nil
}

// Send implements Sender.
func (w *Webhook) Send(ctx context.Context, d Delivery) error {
	if err := d.validate(); err != nil {
		return err
	}
	body, contentType, err := w.render(d)
	if err != nil {
		return err
	}
	return w.post(ctx, body, contentType, string(d.Event.Type), d.Key())
}

// maxWebhookDigest bounds a merged request's body (about 2 kB per
// delivery).
const maxWebhookDigest = 500

// MaxDigest implements DigestSender: JSON endpoints merge; a CAP body is
// one alert, so CAP endpoints do not.
func (w *Webhook) MaxDigest() int {
	if w.cfg.Format == WebhookCAP {
		return 0
	}
	return maxWebhookDigest
}

// webhookDigest is the body of a merged request (Content-Type
// application/json, "digest": true): every event once, highest severity
// first, each with the recipients it is for and their idempotency keys.
type webhookDigest struct {
	V      int           `json:"v"`
	Digest bool          `json:"digest"`
	Key    string        `json:"key"`
	Pages  bool          `json:"pages"`
	Title  string        `json:"title"`
	Events []digestEvent `json:"events"`
}

type digestEvent struct {
	eventBody
	Recipients []digestRecipient `json:"recipients"`
}

type digestRecipient struct {
	ID   string `json:"id"`
	Name string `json:"name,omitempty"`
	Key  string `json:"key"`
}

// SendDigest implements DigestSender: one signed request for every
// delivery of g (its Idempotency-Key header is g.Key()).
func (w *Webhook) SendDigest(ctx context.Context, g Digest) error {
	if w.cfg.Format == WebhookCAP {
		return permanent(0, errors.New("webhook: a CAP endpoint takes one alert per request"))
	}
	// Endpoints sharing URL and secret: any recipients.
	sorted, err := g.sortedTo("endpoint", func(Recipient, Recipient) bool { return true })
	if err != nil {
		return err
	}
	body := webhookDigest{V: 1, Digest: true, Key: g.Key(), Title: digestTitle(sorted, 3)}
	index := map[[2]int64]int{} // (incident, version) → events index
	for _, d := range sorted {
		e := d.Event
		ref := [2]int64{e.Incident.ID, e.Incident.Version}
		i, ok := index[ref]
		if !ok {
			i = len(body.Events)
			index[ref] = i
			body.Events = append(body.Events, digestEvent{eventBody: bodyOf(e)})
		}
		body.Pages = body.Pages || e.Type.Pages()
		body.Events[i].Recipients = append(body.Events[i].Recipients, digestRecipient{ID: d.Recipient.ID, Name: d.Recipient.Name, Key: d.Key()})
	}
	b, err := json.Marshal(body)
	if err != nil {
		return permanent(0, fmt.Errorf("webhook digest body: %w", err))
	}
	return w.post(ctx, b, "application/json", "digest", body.Key)
}

// post sends one signed request.
func (w *Webhook) post(ctx context.Context, body []byte, contentType, event, key string) error {
	ctx, cancel := withTimeout(ctx, w.cfg.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, w.cfg.URL, bytes.NewReader(body))
	if err != nil {
		return permanent(0, fmt.Errorf("webhook request: %w", err))
	}
	ts := strconv.FormatInt(w.cfg.Now().Unix(), 10)
	req.Header.Set("Content-Type", contentType)
	req.Header.Set("User-Agent", "RadTrack-notify/1")
	req.Header.Set(HeaderTimestamp, ts)
	req.Header.Set(HeaderSignature, "v1="+SignWebhook(w.cfg.Secret, ts, body))
	req.Header.Set(HeaderEvent, event)
	req.Header.Set(HeaderIdemKey, key)
	resp, err := w.client.Do(req)
	if err != nil {
		return transient(0, 0, fmt.Errorf("webhook %s: %w", w.cfg.URL, err))
	}
	defer resp.Body.Close()
	msg, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10)) // lets the connection be reused
	return classifyHTTP("webhook "+w.cfg.URL, resp, string(msg), w.cfg.Now())
}

func (w *Webhook) render(d Delivery) ([]byte, string, error) {
	if w.cfg.Format == WebhookCAP {
		b, err := RenderCAP(w.cfg.CAP, d.Event)
		if err != nil {
			return nil, "", permanent(0, err)
		}
		return b, "application/cap+xml", nil
	}
	b, err := eventJSON(d)
	if err != nil {
		return nil, "", permanent(0, fmt.Errorf("webhook body: %w", err))
	}
	return b, "application/json", nil
}

// SignWebhook is the signature a receiver recomputes: hex of
// HMAC-SHA256(secret, timestamp + "." + body).
func SignWebhook(secret []byte, timestamp string, body []byte) string {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(timestamp))
	m.Write([]byte{'.'})
	m.Write(body)
	return hex.EncodeToString(m.Sum(nil))
}

// Errors of VerifyWebhook.
var (
	ErrWebhookTimestamp = errors.New("notify: webhook timestamp missing, malformed or outside the replay window")
	ErrWebhookSignature = errors.New("notify: webhook signature does not match")
)

// VerifyWebhook is the receiver's check: the timestamp is within window of
// now (replay protection; 5 minutes is a good window), and one of the "v1="
// signatures in the header matches one of secrets (several during a secret
// rotation). Receivers should also drop an Idempotency-Key they have seen
// within the window.
func VerifyWebhook(h http.Header, body []byte, now time.Time, window time.Duration, secrets ...[]byte) error {
	ts := h.Get(HeaderTimestamp)
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil || ts != strconv.FormatInt(sec, 10) {
		return ErrWebhookTimestamp
	}
	if age := now.Sub(time.Unix(sec, 0)); age > window || age < -window {
		return ErrWebhookTimestamp
	}
	for _, part := range strings.Split(h.Get(HeaderSignature), ",") {
		got, ok := strings.CutPrefix(strings.TrimSpace(part), "v1=")
		if !ok {
			continue
		}
		sig, err := hex.DecodeString(got)
		if err != nil {
			continue
		}
		for _, s := range secrets {
			want, _ := hex.DecodeString(SignWebhook(s, ts, body))
			if hmac.Equal(sig, want) {
				return nil
			}
		}
	}
	return ErrWebhookSignature
}
