package ingest

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/radtrack/radtrack/auth"
	"github.com/radtrack/radtrack/sample"
	"github.com/radtrack/radtrack/store"
)

// Reason names why an ingest request (or a connection) was refused as a
// whole. The names are the same on every protocol, so that
// radtrack_requests_refused_total{protocol,reason} compares the doors.
type Reason string

const (
	ReasonIPRateLimited     Reason = "ip_rate_limited"      // requests (connections) per client IP
	ReasonDeviceRateLimited Reason = "device_rate_limited"  // samples per device
	ReasonTooManyConns      Reason = "too_many_connections" // a connection cap (per IP, total)
	ReasonEvicted           Reason = "evicted"              // oldest unauthenticated connection closed for a new one
	ReasonAuthTimeout       Reason = "auth_timeout"         // no credential within the deadline
	ReasonBadCredential     Reason = "bad_credential"       // token or key missing or wrong
	ReasonUnknownDevice     Reason = "unknown_device"       // no device with that id
	ReasonRevoked           Reason = "revoked"              // the device is revoked
	ReasonAuthError         Reason = "auth_error"           // credentials could not be checked (database)
	ReasonTooLarge          Reason = "too_large"            // body over its limit
	ReasonReadError         Reason = "read_error"           // the body could not be read
	ReasonContentType       Reason = "content_type"         // unsupported media type
	ReasonMalformed         Reason = "malformed"            // not the protocol's syntax
	ReasonNotStorable       Reason = "not_storable"         // content the store cannot hold
	ReasonQueueFull         Reason = "queue_full"           // ingest queue full
	ReasonStorage           Reason = "storage"              // not stored (nor spooled): retry
	ReasonClientGone        Reason = "client_gone"          // the client left before the answer
)

// status is each reason's HTTP answer; the OsmAnd listener answers it too.
var status = map[Reason]int{
	ReasonIPRateLimited: http.StatusTooManyRequests, ReasonDeviceRateLimited: http.StatusTooManyRequests,
	ReasonTooManyConns: http.StatusServiceUnavailable, ReasonEvicted: http.StatusServiceUnavailable,
	ReasonAuthTimeout:   http.StatusRequestTimeout,
	ReasonBadCredential: http.StatusUnauthorized, ReasonUnknownDevice: http.StatusUnauthorized, ReasonRevoked: http.StatusUnauthorized,
	ReasonAuthError: http.StatusServiceUnavailable,
	ReasonTooLarge:  http.StatusRequestEntityTooLarge, ReasonReadError: http.StatusBadRequest,
	ReasonContentType: http.StatusUnsupportedMediaType, ReasonMalformed: http.StatusBadRequest,
	ReasonNotStorable: http.StatusBadRequest,
	ReasonQueueFull:   http.StatusServiceUnavailable, ReasonStorage: http.StatusServiceUnavailable,
	ReasonClientGone: 499, // nginx's code; nobody reads it
}

// deviceRefused is the one answer to every failed device credential
// (unknown id, wrong or missing token or key, revoked device), so that an
// answer never tells which ids exist.
const deviceRefused = "unknown device, or its token missing, wrong or revoked"

// Refusal is an ingest request refused as a whole, already counted in
// metrics. Each door renders it in its protocol: an HTTP status with a
// JSON body naming Field, an OsmAnd status, a bGeigie "ERR reason".
type Refusal struct {
	Protocol   string
	Reason     Reason
	Status     int    // HTTP status
	Field      string // the part of the request at fault, "" if none
	Message    string // for the client
	RetryAfter time.Duration
	Err        error // the cause, for logs; nil if Message says it all
}

func (r *Refusal) Error() string {
	if r.Err != nil {
		return fmt.Sprintf("%s refused (%s): %s: %v", r.Protocol, r.Reason, r.Message, r.Err)
	}
	return fmt.Sprintf("%s refused (%s): %s", r.Protocol, r.Reason, r.Message)
}

func (r *Refusal) Unwrap() error { return r.Err }

// RetryAfterHeader renders RetryAfter for a Retry-After header, "" if none.
func (r *Refusal) RetryAfterHeader() string {
	if r.RetryAfter <= 0 {
		return ""
	}
	return RetryAfterSeconds(r.RetryAfter)
}

// Gateways resolves user API tokens for gateways (a Traccar server
// forwarding for many devices), by the rules of the rest of the API
// (revocations, expiry, the token's role).
type Gateways interface {
	// GatewayUser returns the user token acts as; an error wrapping
	// ErrBadCredential when the token is refused, another error when it
	// cannot be checked now.
	GatewayUser(ctx context.Context, token string) (store.User, error)
}

// GateConfig is what the gate checks with.
type GateConfig struct {
	Pipeline *Pipeline
	Devices  *Devices
	Limits   *Limits  // nil: no rate limits
	Gateways Gateways // nil: no gateway credentials
	// RetryAfter is the hint sent when the node cannot take data now.
	RetryAfter time.Duration
	Log        *slog.Logger
}

// Gate is the one entry of every ingest door (HTTP batch, Traccar
// forwarder, OsmAnd, bGeigie). The order is fixed by the types: Admit
// applies the per-IP limit and gives an Admission; Authenticate checks the
// credential and gives a Pass; Pass.Ingest applies the per-device sample
// limit and hands the samples to the pipeline. Every refusal on the way
// is a *Refusal with one reason vocabulary, counted here once.
type Gate struct {
	cfg GateConfig
}

// NewGate returns the gate.
func NewGate(c GateConfig) *Gate {
	if c.RetryAfter <= 0 {
		c.RetryAfter = 2 * time.Second
	}
	if c.Log == nil {
		c.Log = slog.Default()
	}
	return &Gate{cfg: c}
}

// Refuse counts a refusal found by a door itself (body too large, syntax,
// a connection cap) and returns it for the door to answer.
func (g *Gate) Refuse(protocol string, reason Reason, field, msg string, cause error) *Refusal {
	rf := &Refusal{Protocol: protocol, Reason: reason, Status: status[reason], Field: field, Message: msg, Err: cause}
	switch reason {
	case ReasonQueueFull, ReasonStorage, ReasonAuthError, ReasonTooManyConns, ReasonEvicted:
		rf.RetryAfter = g.cfg.RetryAfter
	}
	g.count(protocol, reason)
	return rf
}

func (g *Gate) count(protocol string, reason Reason) {
	g.cfg.Pipeline.CountRefused(protocol, string(reason))
}

// CountRejected counts one sample refused by a door's decoder (the
// pipeline counts the ones validation refuses).
func (g *Gate) CountRejected(protocol, reason string) {
	g.cfg.Pipeline.CountRejected(protocol, reason)
}

// Admission is a request (or connection) past the per-IP limit.
type Admission struct {
	g        *Gate
	protocol string
}

// Admit takes one request (a TCP protocol: one connection) from the
// client address ip.
func (g *Gate) Admit(protocol, ip string) (Admission, error) {
	if ok, wait := g.cfg.Limits.AllowIP(ip); !ok {
		rf := g.Refuse(protocol, ReasonIPRateLimited, "", "too many requests from your address, retry later", nil)
		rf.RetryAfter = wait
		return Admission{}, rf
	}
	return Admission{g: g, protocol: protocol}, nil
}

// Protocol is the door the admission came through.
func (a Admission) Protocol() string { return a.protocol }

// Credential is what a device (or a gateway acting for it) presents.
// Exactly one form applies, checked in this order:
//   - GatewayToken and UID: a user API token of an operator or admin,
//     acting for the registered device UID (Traccar as a gateway);
//   - UID, with Key: the device's own id, with its token as a key; without
//     Key only a device an admin marked legacy-id-only passes;
//   - Token: a device token alone (HTTP bearer, bGeigie AUTH).
type Credential struct {
	Token        string
	UID, Key     string
	GatewayToken string
}

// Pass is an authenticated device, for as long as its credential holds.
type Pass struct {
	a    Admission
	cred Credential
	// Device is the device as of the last check: a long session sees a
	// calibration edit at its next Recheck.
	Device store.Device
}

// Authenticate checks c and returns the device it proves.
func (a Admission) Authenticate(ctx context.Context, c Credential) (Pass, error) {
	if a.g == nil {
		return Pass{}, errors.New("ingest: authenticate without an admission")
	}
	dev, err := a.g.device(ctx, c)
	if err != nil {
		return Pass{}, a.g.authRefusal(ctx, a.protocol, c, err)
	}
	return Pass{a: a, cred: c, Device: dev}, nil
}

// Recheck checks the pass's credential again, against the credential
// cache, so that a long-lived session (a bGeigie TCP connection) ends when
// its device is revoked or its token rotated: at once on the node where
// that happened (Devices.Changed forgets the device), at once on the
// other nodes of a Redis cluster (they forget it on the broadcast), and
// within the cache TTL on a node that missed the broadcast. It costs a
// hash and a map lookup while the cache entry is fresh.
func (p Pass) Recheck(ctx context.Context) (Pass, error) {
	return p.a.Authenticate(ctx, p.cred)
}

func (g *Gate) device(ctx context.Context, c Credential) (store.Device, error) {
	switch {
	case c.GatewayToken != "":
		if g.cfg.Gateways == nil {
			return store.Device{}, errBadGateway
		}
		u, err := g.cfg.Gateways.GatewayUser(ctx, c.GatewayToken)
		switch {
		case errors.Is(err, ErrBadCredential):
			return store.Device{}, fmt.Errorf("%w: %w", errBadGateway, err)
		case err != nil:
			return store.Device{}, fmt.Errorf("check gateway token: %w", err)
		case !u.Active() || !auth.Allows(u.Role, auth.RoleOperator):
			return store.Device{}, errBadGateway
		}
		return g.cfg.Devices.ByUID(ctx, c.UID)
	case c.UID != "":
		return g.cfg.Devices.ByUIDAndKey(ctx, c.UID, c.Key)
	default:
		return g.cfg.Devices.ByToken(ctx, c.Token)
	}
}

var errBadGateway = fmt.Errorf("gateway token refused: %w", ErrBadCredential)

// authRefusal maps a credential failure. A device's own credential gets
// one answer whatever failed (no id enumeration); an authenticated gateway
// may learn that an id is not registered (404), since it could list the
// devices anyway.
func (g *Gate) authRefusal(ctx context.Context, protocol string, c Credential, err error) *Refusal {
	const field = "Authorization"
	var reason Reason
	switch {
	case errors.Is(err, errBadGateway):
		return g.Refuse(protocol, ReasonBadCredential, field, "API token unknown, revoked, expired, or not of an operator", err)
	case errors.Is(err, ErrUnknownDevice):
		reason = ReasonUnknownDevice
	case errors.Is(err, ErrRevoked):
		reason = ReasonRevoked
	case errors.Is(err, ErrBadCredential):
		reason = ReasonBadCredential
	default:
		g.cfg.Log.ErrorContext(ctx, "ingest: cannot check credentials", "protocol", protocol, "err", err)
		return g.Refuse(protocol, ReasonAuthError, "", "cannot check credentials now, retry later", err)
	}
	if c.GatewayToken != "" {
		switch reason {
		case ReasonUnknownDevice:
			rf := g.Refuse(protocol, reason, "uid", "no device with uid "+strconv.Quote(c.UID)+": register it first", nil)
			rf.Status = http.StatusNotFound
			return rf
		case ReasonRevoked:
			return g.Refuse(protocol, reason, "uid", "device "+strconv.Quote(c.UID)+" is revoked", nil)
		}
	}
	return g.Refuse(protocol, reason, field, deviceRefused, err)
}

// Ingest applies the device's sample limit, then runs samples through the
// pipeline and returns after the valid ones are committed (or spooled).
// Invalid samples are listed in the result, not refused as a whole.
func (p Pass) Ingest(ctx context.Context, samples []sample.Sample) (Result, error) {
	g, protocol := p.a.g, p.a.protocol
	if ok, wait := g.cfg.Limits.AllowDevice(p.Device.ID, len(samples)); !ok {
		rf := g.Refuse(protocol, ReasonDeviceRateLimited, "", "device sends faster than its limit, retry later", nil)
		rf.RetryAfter = wait
		return Result{}, rf
	}
	res, err := g.cfg.Pipeline.Ingest(ctx, p.Device, protocol, samples)
	if err == nil {
		return res, nil
	}
	var fe *sample.FieldError
	switch {
	case errors.As(err, &fe):
		// Content a store cannot hold (e.g. a NUL in text): retrying the
		// same request cannot help.
		return res, g.Refuse(protocol, ReasonNotStorable, fe.Field, fe.Error(), err)
	case errors.Is(err, ErrQueueFull):
		return res, g.Refuse(protocol, ReasonQueueFull, "", "server busy: ingest queue full, retry later", err)
	case errors.Is(err, context.Canceled) && ctx.Err() != nil:
		return res, g.Refuse(protocol, ReasonClientGone, "", "client gone", err)
	default:
		g.cfg.Log.ErrorContext(ctx, "ingest failed", "protocol", protocol, "device", p.Device.UID, "err", err)
		return res, g.Refuse(protocol, ReasonStorage, "", "samples not stored, retry later", err)
	}
}
