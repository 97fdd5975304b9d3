package ingest

import (
	"net"
	"net/http"
	"strconv"
	"time"

	"github.com/radtrack/radtrack/ratelimit"
)

// Limits are the rate limits the Gate applies to every ingest door: per
// client IP (requests) and per device (samples). A nil *Limits allows
// everything.
type Limits struct {
	PerIP     *ratelimit.Limiter // requests per second per client IP
	PerDevice *ratelimit.Limiter // samples per second per device
}

// LimitConfig sets the rates; 0 disables a limit.
type LimitConfig struct {
	IPRequestsPerSec    float64
	IPBurst             int
	DeviceSamplesPerSec float64
	DeviceSamplesBurst  int
}

// DefaultLimitConfig is far above any real vehicle (one sample per second,
// a backlog of an hour after a tunnel) or gateway behind one address.
func DefaultLimitConfig() LimitConfig {
	return LimitConfig{IPRequestsPerSec: 200, IPBurst: 400, DeviceSamplesPerSec: 50, DeviceSamplesBurst: 20_000}
}

// NewLimits builds the limiters, each bounded to 100 000 keys.
func NewLimits(c LimitConfig) *Limits {
	return &Limits{
		PerIP:     ratelimit.New(c.IPRequestsPerSec, c.IPBurst, 100_000),
		PerDevice: ratelimit.New(c.DeviceSamplesPerSec, c.DeviceSamplesBurst, 100_000),
	}
}

// AllowIP takes one request (or, for a TCP protocol, one connection)
// from a client address.
func (l *Limits) AllowIP(ip string) (bool, time.Duration) {
	if l == nil {
		return true, 0
	}
	return l.PerIP.Allow(ip)
}

// AllowDevice takes n samples from a device's budget.
func (l *Limits) AllowDevice(deviceID int64, n int) (bool, time.Duration) {
	if l == nil {
		return true, 0
	}
	return l.PerDevice.AllowN(strconv.FormatInt(deviceID, 10), n)
}

// ClientIP is the request's peer address without the port. Proxy headers
// are not trusted: behind a load balancer, limit there or per device.
func ClientIP(r *http.Request) string { return HostOf(r.RemoteAddr) }

// HostOf strips the port from a peer address ("127.0.0.1:5000").
func HostOf(addr string) string {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return addr
	}
	return host
}

// RetryAfterSeconds renders a Retry-After value, at least one second.
func RetryAfterSeconds(d time.Duration) string {
	return strconv.Itoa(max(1, int((d+time.Second-1)/time.Second)))
}
