// Package ratelimit keeps one token bucket per key (device, client IP) in
// bounded memory, to answer 429 to a client that sends faster than any real
// vehicle or person would.
package ratelimit

import (
	"math"
	"sync"
	"time"
)

// Limiter allows Rate events per second per key with bursts of Burst. The
// zero Rate disables limiting.
type Limiter struct {
	rate    float64
	burst   float64
	maxKeys int
	now     func() time.Time

	mu      sync.Mutex
	buckets map[string]*bucket
}

type bucket struct {
	tokens float64
	last   time.Time
}

// New returns a limiter. maxKeys bounds memory: when reached, buckets idle
// long enough to be full again are dropped (they carry no information), and
// if none are, the oldest half is.
func New(rate float64, burst int, maxKeys int) *Limiter {
	return &Limiter{rate: rate, burst: float64(max(burst, 1)), maxKeys: max(maxKeys, 1), now: time.Now, buckets: map[string]*bucket{}}
}

// Allow takes one token for key. When none is left it reports how long
// until one will be, for a Retry-After header.
func (l *Limiter) Allow(key string) (ok bool, retryAfter time.Duration) {
	return l.AllowN(key, 1)
}

// AllowN takes n tokens for key (n samples in one request count n). A
// request larger than the burst is allowed when the bucket is full, so a
// big batch is never refused forever.
func (l *Limiter) AllowN(key string, n int) (bool, time.Duration) {
	if l == nil || l.rate <= 0 {
		return true, 0
	}
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	b, ok := l.buckets[key]
	if !ok {
		if len(l.buckets) >= l.maxKeys {
			l.evict(now)
		}
		b = &bucket{tokens: l.burst, last: now}
		l.buckets[key] = b
	}
	b.tokens = math.Min(l.burst, b.tokens+now.Sub(b.last).Seconds()*l.rate)
	b.last = now
	need := math.Min(float64(n), l.burst)
	if b.tokens >= need {
		b.tokens -= float64(n)
		return true, 0
	}
	wait := time.Duration((need - b.tokens) / l.rate * float64(time.Second))
	return false, max(wait, time.Second)
}

func (l *Limiter) evict(now time.Time) {
	full := time.Duration(l.burst / l.rate * float64(time.Second))
	for k, b := range l.buckets {
		if now.Sub(b.last) >= full {
			delete(l.buckets, k)
		}
	}
	if len(l.buckets) < l.maxKeys {
		return
	}
	// Everyone is active: drop half, arbitrarily. Their next request
	// starts with a full bucket, which errs on the side of letting data in.
	drop := len(l.buckets) / 2
	for k := range l.buckets {
		if drop == 0 {
			break
		}
		delete(l.buckets, k)
		drop--
	}
}
