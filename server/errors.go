package server

import (
	"encoding/json"
	"log/slog"
	"net/http"
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
