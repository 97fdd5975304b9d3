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
// before they drop the position from their own buffer; on any other answer
// they keep the position and retry.
//
// The device is named by its id; it proves itself with its token in a key
// parameter or as the HTTP basic-auth password, unless an admin marked it
// legacy-id-only. An unknown id, a missing or wrong key and a revoked
// device all get the same 401 and body, so answers never tell which ids
// exist.
type OsmAnd struct {
	Gate    *ingest.Gate
	Log     *slog.Logger
	MaxBody int64
}

func (o *OsmAnd) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	const protocol = sample.SourceOsmAnd
	adm, err := o.Gate.Admit(protocol, ingest.ClientIP(r))
	if err != nil {
		o.refuse(w, err)
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, o.MaxBody))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			o.refuse(w, o.Gate.Refuse(protocol, ingest.ReasonTooLarge, "body", "body too large", nil))
		} else {
			o.refuse(w, o.Gate.Refuse(protocol, ingest.ReasonReadError, "body", "read body: "+err.Error(), nil))
		}
		return
	}
	pos, err := osmand.Decode(r.URL.RawQuery, r.Header.Get("Content-Type"), body)
	if err != nil {
		o.refuse(w, o.Gate.Refuse(protocol, ingest.ReasonMalformed, "", err.Error(), nil))
		return
	}
	key := pos.Key
	if _, password, ok := r.BasicAuth(); ok && key == "" {
		key = password
	}
	pass, err := adm.Authenticate(r.Context(), ingest.Credential{UID: pos.Sample.DeviceUID, Key: key})
	if err != nil {
		o.refuse(w, err)
		return
	}
	res, err := pass.Ingest(r.Context(), []sample.Sample{pos.Sample})
	if err != nil {
		o.refuse(w, err)
		return
	}
	if len(res.Rejected) > 0 {
		// Retrying an invalid position cannot help: say why, with 400.
		http.Error(w, strings.TrimSpace(res.Rejected[0].Error), http.StatusBadRequest)
		return
	}
	w.WriteHeader(http.StatusOK)
}

// refuse answers a refusal in the protocol's plain text, with
// Retry-After when retrying later helps and a basic-auth challenge on 401
// (Traccar Client can send the key as the password).
func (o *OsmAnd) refuse(w http.ResponseWriter, err error) {
	var rf *ingest.Refusal
	if !errors.As(err, &rf) {
		o.Log.Error("osmand: unexpected error", "err", err)
		http.Error(w, "retry later", http.StatusServiceUnavailable)
		return
	}
	if rf.Reason == ingest.ReasonClientGone {
		return
	}
	if ra := rf.RetryAfterHeader(); ra != "" {
		w.Header().Set("Retry-After", ra)
	}
	if rf.Status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Basic realm="radtrack"`)
	}
	http.Error(w, rf.Message, rf.Status)
}
