package server

import (
	"context"
	"errors"
	"io"
	"mime"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/radtrack/radtrack/ingest"
	"github.com/radtrack/radtrack/ingest/batch"
	"github.com/radtrack/radtrack/sample"
	"github.com/radtrack/radtrack/store"
)

// handleMeasurements is POST /api/v1/measurements: a JSON array or NDJSON
// of one device's samples, authenticated with its bearer token. It answers
// only after every accepted sample is committed.
func (s *Server) handleMeasurements(w http.ResponseWriter, r *http.Request) {
	const protocol = sample.SourceHTTP
	if !s.allowIP(w, r, protocol) {
		return
	}
	dev, ok := s.authenticateDevice(w, r, protocol)
	if !ok {
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, s.cfg.MaxBodyBytes))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			s.pipeline.CountRefused(protocol, "too_large")
			writeError(w, http.StatusRequestEntityTooLarge, "body", "body exceeds "+strconv.FormatInt(tooBig.Limit, 10)+" bytes")
			return
		}
		s.pipeline.CountRefused(protocol, "read_error")
		writeError(w, http.StatusBadRequest, "body", "read body: "+err.Error())
		return
	}
	ndjson := false
	if ct := r.Header.Get("Content-Type"); ct != "" {
		mt, _, _ := mime.ParseMediaType(ct)
		switch mt {
		case "application/x-ndjson", "application/jsonl", "application/jsonlines":
			ndjson = true
		case "application/json", "text/plain":
		default:
			s.pipeline.CountRefused(protocol, "content_type")
			writeError(w, http.StatusUnsupportedMediaType, "Content-Type", "use application/json or application/x-ndjson, not "+mt)
			return
		}
	}
	decoded, err := batch.Decode(body, ndjson)
	if err != nil {
		var se *batch.SyntaxError
		if errors.As(err, &se) {
			s.pipeline.CountRefused(protocol, "malformed")
			writeJSON(w, http.StatusBadRequest, apiError{Error: se.Error(), Field: "body", Offset: &se.Offset, Line: se.Line})
			return
		}
		writeError(w, http.StatusBadRequest, "body", err.Error())
		return
	}
	if ok, wait := s.limits.AllowDevice(dev.ID, len(decoded.Samples)); !ok {
		s.pipeline.CountRefused(protocol, "rate_limited")
		w.Header().Set("Retry-After", ingest.RetryAfterSeconds(wait))
		writeError(w, http.StatusTooManyRequests, "", "device sends faster than its limit, retry later")
		return
	}
	res, err := s.pipeline.Ingest(r.Context(), dev, protocol, decoded.Samples)
	if err != nil {
		s.writeIngestFailure(w, r, protocol, err)
		return
	}
	// Pipeline rejections index the decoded samples; map them back to the
	// request's positions and merge with the decoder's.
	for i := range res.Rejected {
		res.Rejected[i].Index = decoded.Index[res.Rejected[i].Index]
	}
	for _, de := range decoded.Errors {
		s.pipeline.CountRejected(protocol, de.Field)
		res.Rejected = append(res.Rejected, ingest.Rejection{Index: de.Index, Field: de.Field, Error: de.Field + ": " + de.Msg})
	}
	slices.SortFunc(res.Rejected, func(a, b ingest.Rejection) int { return a.Index - b.Index })
	status := http.StatusOK
	if res.Accepted == 0 && len(res.Rejected) > 0 {
		status = http.StatusUnprocessableEntity
	}
	writeJSON(w, status, res)
}

// allowIP applies the per-client-IP request limit, answering 429 itself.
func (s *Server) allowIP(w http.ResponseWriter, r *http.Request, protocol string) bool {
	ok, wait := s.limits.AllowIP(r)
	if !ok {
		s.pipeline.CountRefused(protocol, "rate_limited")
		w.Header().Set("Retry-After", ingest.RetryAfterSeconds(wait))
		writeError(w, http.StatusTooManyRequests, "", "too many requests from your address, retry later")
	}
	return ok
}

// writeIngestFailure answers a request none of whose samples was committed.
func (s *Server) writeIngestFailure(w http.ResponseWriter, r *http.Request, protocol string, err error) {
	retry := strconv.Itoa(max(1, int(s.cfg.RetryAfter.Seconds())))
	switch {
	case errors.Is(err, ingest.ErrQueueFull):
		s.pipeline.CountRefused(protocol, "queue_full")
		w.Header().Set("Retry-After", retry)
		writeError(w, http.StatusServiceUnavailable, "", "server busy: ingest queue full, retry later")
	case errors.Is(err, context.Canceled) && r.Context().Err() != nil:
		s.pipeline.CountRefused(protocol, "client_gone")
	default:
		s.pipeline.CountRefused(protocol, "storage")
		s.log.ErrorContext(r.Context(), "ingest failed", "protocol", protocol, "err", err)
		w.Header().Set("Retry-After", retry)
		writeError(w, http.StatusServiceUnavailable, "", "samples not stored, retry later")
	}
}

// authenticateDevice resolves the bearer token to an active device, or
// answers 401 (503 if the database cannot tell) and returns false.
func (s *Server) authenticateDevice(w http.ResponseWriter, r *http.Request, protocol string) (store.Device, bool) {
	token, _ := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	dev, err := s.devices.ByToken(r.Context(), strings.TrimSpace(token))
	switch {
	case err == nil:
		return dev, true
	case errors.Is(err, ingest.ErrBadCredential), errors.Is(err, ingest.ErrRevoked), errors.Is(err, ingest.ErrUnknownDevice):
		s.pipeline.CountRefused(protocol, "unauthenticated")
		w.Header().Set("WWW-Authenticate", `Bearer realm="radtrack"`)
		writeError(w, http.StatusUnauthorized, "Authorization", "missing, unknown or revoked device token")
	default:
		s.log.ErrorContext(r.Context(), "authenticate device", "err", err)
		w.Header().Set("Retry-After", "2")
		writeError(w, http.StatusServiceUnavailable, "", "cannot check credentials now, retry later")
	}
	return store.Device{}, false
}
