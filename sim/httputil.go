package sim

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// Plumbing shared by the HTTP senders and the provisioning client.

// NewHTTPClient returns a client whose transport keeps enough idle
// connections for a fleet: with the default two per host a load test would
// open and close a connection per request.
func NewHTTPClient() *http.Client {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxIdleConns = 1024
	t.MaxIdleConnsPerHost = 1024
	t.IdleConnTimeout = 90 * time.Second
	return &http.Client{Transport: t}
}

// connError classifies a failed request: the caller's context ending is
// final; anything else (refused, reset, an attempt's timeout) is a
// connection error worth a retry.
func connError(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return err
	}
	return &retryable{err: err}
}

// readBody reads a bounded answer and closes the body so the connection
// can be reused. A body cut short is returned as far as it came: the status
// decides what happens.
func readBody(resp *http.Response) []byte {
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
	return b
}

// statusError is a non-2xx answer with the server's {"error": …} message.
type statusError struct {
	Code int
	msg  string
}

func (e *statusError) Error() string { return e.msg }

func newStatusError(resp *http.Response, body []byte) error {
	var e struct {
		Error string `json:"error"`
		Field string `json:"field"`
	}
	msg := strings.TrimSpace(string(body))
	if json.Unmarshal(body, &e) == nil && e.Error != "" {
		msg = e.Error
		if e.Field != "" {
			msg = e.Field + ": " + msg
		}
	}
	if len(msg) > 200 {
		msg = msg[:200] + "…"
	}
	return &statusError{Code: resp.StatusCode, msg: fmt.Sprintf("%s %s answered %s: %s", resp.Request.Method, redact(resp.Request.URL), resp.Status, msg)}
}

// redact drops the query, where OsmAnd carries the device key.
func redact(u *url.URL) string {
	c := *u
	c.RawQuery = ""
	return c.Redacted()
}
