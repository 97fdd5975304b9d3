package listen

import (
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strings"

	"github.com/radtrack/radtrack/ingest"
	"github.com/radtrack/radtrack/ingest/osmand"
	"github.com/radtrack/radtrack/sample"
)

// OsmAnd serves the OsmAnd / Traccar Client protocol (default port 5055):
// method and path are ignored, parameters come in the query string, a form
// body or Traccar Client's JSON body. It answers 200 with an empty body
// only after the sample is committed, which is what those clients expect
// before they drop the position from their own buffer.
//
// The device is named by its id; it proves itself with its token in a key
// parameter or as the HTTP basic-auth password, unless an admin marked it
// legacy-id-only.
type OsmAnd struct {
	Pipeline *ingest.Pipeline
	Devices  *ingest.Devices
	Limits   *ingest.Limits // nil: unlimited
	Log      *slog.Logger
	MaxBody  int64
}

func (o *OsmAnd) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	const protocol = sample.SourceOsmAnd
	if ok, wait := o.Limits.AllowIP(r); !ok {
		o.Pipeline.CountRefused(protocol, "rate_limited")
		w.Header().Set("Retry-After", ingest.RetryAfterSeconds(wait))
		http.Error(w, "too many requests", http.StatusTooManyRequests)
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, o.MaxBody))
	if err != nil {
		o.Pipeline.CountRefused(protocol, "too_large")
		http.Error(w, "body too large", http.StatusRequestEntityTooLarge)
		return
	}
	pos, err := osmand.Decode(r.URL.RawQuery, r.Header.Get("Content-Type"), body)
	if err != nil {
		o.Pipeline.CountRefused(protocol, "malformed")
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	key := pos.Key
	if _, password, ok := r.BasicAuth(); ok && key == "" {
		key = password
	}
	dev, err := o.Devices.ByUIDAndKey(r.Context(), pos.Sample.DeviceUID, key)
	if err != nil {
		o.Pipeline.CountRefused(protocol, authReason(err))
		switch {
		case errors.Is(err, ingest.ErrUnknownDevice):
			// Traccar's own answer for a device it does not know.
			http.Error(w, "unknown device", http.StatusNotFound)
		case errors.Is(err, ingest.ErrBadCredential), errors.Is(err, ingest.ErrRevoked):
			w.Header().Set("WWW-Authenticate", `Basic realm="radtrack"`)
			http.Error(w, "device key missing or wrong", http.StatusUnauthorized)
		default:
			o.Log.Error("osmand: authenticate device", "err", err)
			w.Header().Set("Retry-After", "2")
			http.Error(w, "retry later", http.StatusServiceUnavailable)
		}
		return
	}
	if ok, wait := o.Limits.AllowDevice(dev.ID, 1); !ok {
		o.Pipeline.CountRefused(protocol, "rate_limited")
		w.Header().Set("Retry-After", ingest.RetryAfterSeconds(wait))
		http.Error(w, "too many requests", http.StatusTooManyRequests)
		return
	}
	res, err := o.Pipeline.Ingest(r.Context(), dev, protocol, []sample.Sample{pos.Sample})
	if err != nil {
		o.Log.Warn("osmand: ingest failed", "device", dev.UID, "err", err)
		w.Header().Set("Retry-After", "2")
		http.Error(w, "not stored, retry later", http.StatusServiceUnavailable)
		return
	}
	if len(res.Rejected) > 0 {
		// Retrying an invalid position cannot help: say why, with 400.
		http.Error(w, strings.TrimSpace(res.Rejected[0].Error), http.StatusBadRequest)
		return
	}
	w.WriteHeader(http.StatusOK)
}
