// Package listen holds the vehicle protocol listeners that run on their own
// ports: the OsmAnd / Traccar Client HTTP protocol and Safecast bGeigie
// sentences over TCP. Each decodes with its pure decoder package, then
// authenticates the device and hands samples to the shared ingest pipeline.
package listen

import (
	"errors"

	"github.com/radtrack/radtrack/ingest"
)

// authReason names an authentication failure for metrics.
func authReason(err error) string {
	switch {
	case errors.Is(err, ingest.ErrUnknownDevice):
		return "unknown_device"
	case errors.Is(err, ingest.ErrRevoked):
		return "revoked"
	case errors.Is(err, ingest.ErrBadCredential):
		return "bad_credential"
	}
	return "auth_error"
}
