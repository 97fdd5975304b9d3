package server

import (
	"errors"
	"io"
	"mime"
	"net/http"
	"slices"
	"strconv"

	"github.com/radtrack/radtrack/ingest"
	"github.com/radtrack/radtrack/sample"
)

// ingestRequest is what a device's HTTP upload brings once the gate let it
// in: its pass, the body's media type and the body.
type ingestRequest struct {
	pass      ingest.Pass
	mediaType string
	body      []byte
}

// admitUpload takes a device's HTTP upload through the steps every HTTP
// ingest route shares: the gate (IP limit, credential, device), the media
// type (one of types; refused before the body is read) and the body read
// within MaxBodyBytes. On a refusal it has answered and returns false.
func (s *Server) admitUpload(w http.ResponseWriter, r *http.Request, types []string, want string) (ingestRequest, bool) {
	const protocol = sample.SourceHTTP
	adm, err := s.gate.Admit(protocol, ingest.ClientIP(r))
	if err != nil {
		s.writeRefusal(w, r, err)
		return ingestRequest{}, false
	}
	pass, err := adm.Authenticate(r.Context(), ingest.Credential{Token: bearer(r)})
	if err != nil {
		s.writeRefusal(w, r, err)
		return ingestRequest{}, false
	}
	mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if !slices.Contains(types, mt) {
		got := "no Content-Type"
		if mt != "" {
			got = mt
		}
		s.writeRefusal(w, r, s.gate.Refuse(protocol, ingest.ReasonContentType, "Content-Type", "use "+want+", not "+got, nil))
		return ingestRequest{}, false
	}
	body, err := readBody(http.MaxBytesReader(w, r.Body, s.cfg.MaxBodyBytes), r.ContentLength, s.cfg.MaxBodyBytes)
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			s.writeRefusal(w, r, s.gate.Refuse(protocol, ingest.ReasonTooLarge, "body", "body exceeds "+strconv.FormatInt(tooBig.Limit, 10)+" bytes", nil))
		} else {
			s.writeRefusal(w, r, s.gate.Refuse(protocol, ingest.ReasonReadError, "body", "read body: "+err.Error(), nil))
		}
		return ingestRequest{}, false
	}
	return ingestRequest{pass: pass, mediaType: mt, body: body}, true
}

// readBody reads all of body. A declared length within the limit sizes the
// buffer once (io.ReadAll grows it from 512 bytes, copying each time); the
// limit itself is enforced by the reader, whatever the client declared.
func readBody(body io.Reader, declared, limit int64) ([]byte, error) {
	if declared <= 0 || declared > limit {
		return io.ReadAll(body)
	}
	b := make([]byte, 0, declared+1) // +1: EOF is seen without growing
	for {
		if len(b) == cap(b) {
			b = append(b, 0)[:len(b)]
		}
		n, err := body.Read(b[len(b):cap(b)])
		b = b[:len(b)+n]
		if err == io.EOF {
			return b, nil
		}
		if err != nil {
			return b, err
		}
	}
}
