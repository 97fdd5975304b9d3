package notify

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Sender delivers one event to one recipient. Send returns nil only when
// the receiving system accepted the message (push service 201, webhook 2xx,
// MQTT PUBACK, SMTP 250 after DATA). Any other outcome is an error that
// IsPermanent classifies: permanent (never retry as is) or transient (retry
// with backoff, not before RetryAfter). Send honours ctx's deadline and adds
// its own per-attempt timeout.
type Sender interface {
	Send(ctx context.Context, d Delivery) error
}

// Error is a failed delivery with its retry class.
type Error struct {
	// Permanent: retrying the same delivery cannot succeed (4xx, a bad
	// address, a bad configuration, an invalid delivery).
	Permanent bool
	// RetryAfter is the receiver's requested delay (HTTP Retry-After), 0 if
	// it gave none.
	RetryAfter time.Duration
	// Status is the receiver's status code (HTTP or SMTP), 0 if none.
	Status int
	Err    error
}

func (e *Error) Error() string {
	class := "transient"
	if e.Permanent {
		class = "permanent"
	}
	return fmt.Sprintf("%s: %v", class, e.Err)
}

func (e *Error) Unwrap() error { return e.Err }

func permanent(status int, err error) error { return &Error{Permanent: true, Status: status, Err: err} }

func transient(status int, retryAfter time.Duration, err error) error {
	return &Error{Status: status, RetryAfter: retryAfter, Err: err}
}

// IsPermanent reports whether err says "do not retry". Errors that carry no
// class (a bug, an unexpected library error) count as transient: a missed
// alarm is worse than a repeated attempt.
func IsPermanent(err error) bool {
	if errors.Is(err, ErrInvalid) {
		return true
	}
	var e *Error
	return errors.As(err, &e) && e.Permanent
}

// RetryAfter is the delay the receiver asked for, if any.
func RetryAfter(err error) (time.Duration, bool) {
	var e *Error
	if errors.As(err, &e) && e.RetryAfter > 0 {
		return e.RetryAfter, true
	}
	return 0, false
}

// maxRetryAfter bounds what a receiver can ask for: an alarm channel that
// asks us to wait a day is treated as asking for an hour.
const maxRetryAfter = time.Hour

// parseRetryAfter reads an HTTP Retry-After header (RFC 9110 §10.2.3):
// delay-seconds or an HTTP-date.
func parseRetryAfter(h string, now time.Time) time.Duration {
	h = strings.TrimSpace(h)
	if h == "" {
		return 0
	}
	var d time.Duration
	if secs, err := strconv.ParseInt(h, 10, 64); err == nil {
		if secs <= 0 {
			return 0
		}
		d = time.Duration(min(secs, int64(maxRetryAfter/time.Second))) * time.Second
	} else if t, err := http.ParseTime(h); err == nil {
		d = t.Sub(now)
	}
	return max(0, min(d, maxRetryAfter))
}

// classifyHTTP maps an HTTP response status to a delivery outcome: 2xx
// done; 408, 429 and 5xx transient (with Retry-After); other 4xx
// permanent; 3xx permanent too (redirects are not followed: an alarm body
// is not sent to a place nobody configured; configure the final URL);
// anything else transient.
func classifyHTTP(what string, resp *http.Response, body string, now time.Time) error {
	code := resp.StatusCode
	if code >= 200 && code < 300 {
		return nil
	}
	err := fmt.Errorf("%s answered %s", what, resp.Status)
	if body = strings.TrimSpace(body); body != "" {
		err = fmt.Errorf("%s answered %s: %s", what, resp.Status, body)
	}
	switch {
	case code == http.StatusRequestTimeout, code == http.StatusTooManyRequests, code >= 500:
		return transient(code, parseRetryAfter(resp.Header.Get("Retry-After"), now), err)
	case code >= 300 && code < 500:
		return permanent(code, err)
	}
	return transient(code, 0, err)
}

// withTimeout bounds one attempt: ctx's deadline or d, whichever is first.
func withTimeout(ctx context.Context, d time.Duration) (context.Context, context.CancelFunc) {
	if d <= 0 {
		d = defaultTimeout
	}
	return context.WithTimeout(ctx, d)
}

// defaultTimeout is the per-attempt deadline when a channel's config gives
// none: long enough for a slow push service, short enough that a hung
// receiver does not hold the outbox worker.
const defaultTimeout = 10 * time.Second

// Digest is several deliveries sent as one message to one receiving
// system: pages that queued for a recipient while an earlier page to it
// was on its way, or deliveries to webhook endpoints that share URL and
// secret. Each delivery keeps its own idempotency key, listed in the
// message, so a receiver drops what it has already seen.
type Digest struct {
	Deliveries []Delivery
}

// DigestSender is a Sender that can carry a Digest in one message.
type DigestSender interface {
	Sender
	// MaxDigest is the most deliveries one message carries; below 2 the
	// sender does not merge (a CAP webhook carries exactly one alert).
	MaxDigest() int
	// SendDigest sends the deliveries as one message; nil means the
	// receiver accepted all of them.
	SendDigest(ctx context.Context, g Digest) error
}
