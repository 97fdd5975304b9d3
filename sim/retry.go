package sim

import (
	"context"
	"errors"
	"math/rand/v2"
	"net/http"
	"strconv"
	"sync/atomic"
	"time"
)

// Retry bounds the attempts of one delivery and spaces them with
// exponential backoff and jitter, so a fleet that lost the server does not
// return in lockstep. The zero value uses the defaults.
type Retry struct {
	Attempts int           // tries per delivery, first included; default 5
	Base     time.Duration // first backoff; default 250 ms
	Max      time.Duration // longest backoff; default 10 s
}

// maxRetryAfter caps a server's Retry-After, so a bad header cannot park a
// vehicle for hours.
const maxRetryAfter = 5 * time.Minute

// retryable marks an error worth another attempt (429, 503, a connection
// error). after is the server's Retry-After, 0 if none.
type retryable struct {
	err   error
	after time.Duration
}

func (e *retryable) Error() string { return e.err.Error() }
func (e *retryable) Unwrap() error { return e.err }

// do runs op until it succeeds, fails permanently, runs out of attempts or
// ctx ends. Only errors wrapped in *retryable are retried; retries counts
// the extra attempts.
func (p Retry) do(ctx context.Context, retries *atomic.Int64, op func(context.Context) error) error {
	attempts := withDefault(p.Attempts, 5)
	base, ceiling := withDefault(p.Base, 250*time.Millisecond), withDefault(p.Max, 10*time.Second)
	backoff := base
	for attempt := 1; ; attempt++ {
		if err := ctx.Err(); err != nil {
			return err
		}
		err := op(ctx)
		var re *retryable
		if err == nil || !errors.As(err, &re) || attempt >= attempts {
			return err
		}
		// Full jitter in [backoff/2, backoff], but never sooner than the
		// server asked.
		wait := backoff/2 + rand.N(backoff/2+1)
		wait = max(wait, min(re.after, maxRetryAfter))
		backoff = min(2*backoff, ceiling)
		if retries != nil {
			retries.Add(1)
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return err
		case <-t.C:
		}
	}
}

// retryAfter reads a Retry-After header: delay-seconds or an HTTP date.
func retryAfter(h http.Header, now time.Time) time.Duration {
	v := h.Get("Retry-After")
	if v == "" {
		return 0
	}
	if s, err := strconv.Atoi(v); err == nil && s >= 0 {
		return time.Duration(s) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil && t.After(now) {
		return t.Sub(now)
	}
	return 0
}

// retryableStatus: the server is overloaded or briefly unavailable, nothing
// was stored, the same request may succeed later.
func retryableStatus(code int) bool {
	switch code {
	case http.StatusTooManyRequests, http.StatusServiceUnavailable, http.StatusBadGateway, http.StatusGatewayTimeout:
		return true
	}
	return false
}
