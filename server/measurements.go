package server

import (
	"errors"
	"net/http"
	"slices"
	"strings"

	"github.com/radtrack/radtrack/ingest"
	"github.com/radtrack/radtrack/ingest/batch"
	"github.com/radtrack/radtrack/sample"
)

// handleMeasurements is POST /api/v1/measurements: a JSON array, NDJSON or
// a columnar body (batch.ColumnarType) of one device's samples,
// authenticated with its bearer token. It answers
// only after every accepted sample is committed.
func (s *Server) handleMeasurements(w http.ResponseWriter, r *http.Request) {
	const protocol = sample.SourceHTTP
	// Every client we know (the simulator, bench, the map's tests, curl
	// with -H) names its type; a body without one, or text/plain, is
	// refused before it is read.
	up, ok := s.admitUpload(w, r, []string{"application/json", "application/x-ndjson", "application/jsonl", "application/jsonlines", batch.ColumnarType},
		"application/json, application/x-ndjson or "+batch.ColumnarType)
	if !ok {
		return
	}
	pass := up.pass
	var (
		decoded batch.Decoded
		err     error
	)
	if up.mediaType == batch.ColumnarType {
		decoded, err = batch.DecodeColumnar(up.body)
	} else {
		decoded, err = batch.Decode(up.body, up.mediaType != "application/json")
	}
	if err != nil {
		rf := s.gate.Refuse(protocol, ingest.ReasonMalformed, "body", err.Error(), nil)
		var se *batch.SyntaxError
		if errors.As(err, &se) {
			writeJSON(w, rf.Status, apiError{Error: se.Error(), Field: "body", Offset: &se.Offset, Line: se.Line})
			return
		}
		s.writeRefusal(w, r, rf)
		return
	}
	res, err := pass.Ingest(r.Context(), decoded.Samples)
	if err != nil {
		s.writeRefusal(w, r, err)
		return
	}
	// Pipeline rejections index the decoded samples; map them back to the
	// request's positions and merge with the decoder's.
	for i := range res.Rejected {
		res.Rejected[i].Index = decoded.Index[res.Rejected[i].Index]
	}
	for _, de := range decoded.Errors {
		s.gate.CountRejected(protocol, de.Field)
		res.Rejected = append(res.Rejected, ingest.Rejection{Index: de.Index, Field: de.Field, Error: de.Field + ": " + de.Msg})
	}
	slices.SortFunc(res.Rejected, func(a, b ingest.Rejection) int { return a.Index - b.Index })
	status := http.StatusOK
	if res.Accepted == 0 && len(res.Rejected) > 0 {
		status = http.StatusUnprocessableEntity
	}
	writeJSON(w, status, res)
}

// bearer is the request's bearer token, "" without one.
func bearer(r *http.Request) string {
	token, _ := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	return strings.TrimSpace(token)
}

// writeRefusal answers an ingest request the gate refused: its status,
// Retry-After when it has one, a bearer challenge on 401, and the JSON
// error body naming the field.
func (s *Server) writeRefusal(w http.ResponseWriter, r *http.Request, err error) {
	var rf *ingest.Refusal
	if !errors.As(err, &rf) {
		s.internalError(w, r, "ingest", err)
		return
	}
	if rf.Reason == ingest.ReasonClientGone {
		return
	}
	if ra := rf.RetryAfterHeader(); ra != "" {
		w.Header().Set("Retry-After", ra)
	}
	if rf.Status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Bearer realm="radtrack"`)
	}
	writeError(w, rf.Status, rf.Field, rf.Message)
}
