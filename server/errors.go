package server

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"

	"github.com/radtrack/radtrack/sample"
)

// apiError is the JSON body of every error answer (design.md §3).
type apiError struct {
	Error  string `json:"error"`
	Field  string `json:"field,omitempty"`
	Index  *int   `json:"index,omitempty"`
	Offset *int64 `json:"offset,omitempty"`
	Line   int    `json:"line,omitempty"`
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	if err := json.NewEncoder(w).Encode(v); err != nil {
		slog.Debug("write response", "err", err)
	}
}

func writeError(w http.ResponseWriter, status int, field, msg string) {
	writeJSON(w, status, apiError{Error: msg, Field: field})
}

func jsonMarshal(v any) ([]byte, error) { return json.Marshal(v) }

// decodeJSON reads a JSON request body into v, refusing unknown fields and
// text no store can hold, and answers 400 itself when it fails.
func decodeJSON(w http.ResponseWriter, r *http.Request, v any) bool {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			writeError(w, http.StatusRequestEntityTooLarge, "body", "body too large")
			return false
		}
		writeError(w, http.StatusBadRequest, "body", "read body: "+err.Error())
		return false
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		field := "body"
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) && te.Field != "" {
			field = te.Field
		} else if name, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
			field = strings.Trim(name, `"`)
		}
		writeError(w, http.StatusBadRequest, field, "invalid JSON body: "+err.Error())
		return false
	}
	return storableBody(w, body)
}

// storableBody answers 400 naming the field, and returns false, when a
// JSON body holds text that no store can hold (sample.CheckValue: a NUL, a
// number JSON cannot carry). Checked before anything is stored, so such a
// value is refused as the client's mistake, never answered with a 503
// "retry later" when the database refuses it.
func storableBody(w http.ResponseWriter, body []byte) bool {
	var v any
	if json.Unmarshal(body, &v) != nil {
		return true // the caller's own decoding reports malformed JSON
	}
	if err := sample.CheckValue("", v); err != nil {
		var fe *sample.FieldError
		if errors.As(err, &fe) {
			writeError(w, http.StatusBadRequest, fe.Field, fe.Error())
			return false
		}
	}
	return true
}

// writeJSONRaw is writeJSON for a value that holds pre-encoded parts.
func writeJSONRaw(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		writeError(w, http.StatusInternalServerError, "", err.Error())
		return
	}
	if w.Header().Get("Content-Type") == "" {
		w.Header().Set("Content-Type", "application/json")
	}
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

func itoa(i int) string     { return strconv.Itoa(i) }
func itoa64(i int64) string { return strconv.FormatInt(i, 10) }
