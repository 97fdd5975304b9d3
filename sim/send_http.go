package sim

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"iter"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/radtrack/radtrack/sample"
)

// HTTPSender posts each vehicle's samples as NDJSON batches to
// POST /api/v1/measurements with the vehicle's device token. The server
// answers only after the commit, so a 2xx is final and is never resent; 429
// and 503 (after Retry-After) and connection errors are retried, which is
// safe because (device, time) is the natural key.
type HTTPSender struct {
	URL      string            // server base URL, e.g. http://127.0.0.1:8080
	Tokens   map[string]string // device token per vehicle uid; read-only while sending
	Client   *http.Client      // default NewHTTPClient()
	Retry    Retry
	Timeout  time.Duration // per attempt; default 30 s
	MaxBatch int           // samples per request; default 1000

	retries    atomic.Int64
	clientOnce sync.Once
	defClient  *http.Client
}

func (h *HTTPSender) client() *http.Client {
	if h.Client != nil {
		return h.Client
	}
	h.clientOnce.Do(func() { h.defClient = NewHTTPClient() })
	return h.defClient
}

// Retries counts attempts beyond the first.
func (h *HTTPSender) Retries() int64 { return h.retries.Load() }

// batchResult is the server's answer to a batch.
type batchResult struct {
	Accepted int `json:"accepted"`
	Rejected []struct {
		Index int    `json:"index"`
		Field string `json:"field"`
		Error string `json:"error"`
	} `json:"rejected"`
}

// Send posts samples in batches of MaxBatch, in order.
func (h *HTTPSender) Send(ctx context.Context, vehicle string, samples []sample.Sample) error {
	token, ok := h.Tokens[vehicle]
	if !ok {
		return fmt.Errorf("http batch: no device token for %q", vehicle)
	}
	client := h.client()
	endpoint := strings.TrimRight(h.URL, "/") + "/api/v1/measurements"
	acked := 0
	var rejected []string
	for chunk := range chunks(samples, withDefault(h.MaxBatch, 1000)) {
		body, err := encodeNDJSON(chunk)
		if err != nil {
			return &SendError{Acked: acked, Failed: len(samples) - acked, Err: fmt.Errorf("http batch %s: %w", vehicle, err)}
		}
		var res batchResult
		err = h.Retry.do(ctx, &h.retries, func(ctx context.Context) error {
			return h.post(ctx, client, endpoint, token, body, &res)
		})
		if err != nil && len(res.Rejected) == 0 {
			return &SendError{Acked: acked, Failed: len(samples) - acked, Err: fmt.Errorf("http batch %s: %w", vehicle, err)}
		}
		acked += res.Accepted
		for _, r := range res.Rejected {
			rejected = append(rejected, fmt.Sprintf("sample %d: %s: %s", r.Index, r.Field, r.Error))
		}
	}
	if acked < len(samples) {
		return &SendError{Acked: acked, Failed: len(samples) - acked, Err: fmt.Errorf("http batch %s: server rejected %s", vehicle, strings.Join(rejected, "; "))}
	}
	return nil
}

// post makes one attempt. A 2xx or 422 fills res.
func (h *HTTPSender) post(ctx context.Context, client *http.Client, endpoint, token string, body []byte, res *batchResult) error {
	actx, cancel := context.WithTimeout(ctx, withDefault(h.Timeout, 30*time.Second))
	defer cancel()
	req, err := http.NewRequestWithContext(actx, http.MethodPost, endpoint, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("build request: %w", err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/x-ndjson")
	resp, err := client.Do(req)
	if err != nil {
		return connError(ctx, err)
	}
	b := readBody(resp)
	switch {
	case resp.StatusCode/100 == 2:
		// Committed: whatever happens now, this batch is not sent again.
		if json.Unmarshal(b, res) != nil || res.Accepted+len(res.Rejected) == 0 {
			*res = batchResult{Accepted: bytes.Count(body, []byte{'\n'})}
		}
		return nil
	case resp.StatusCode == http.StatusUnprocessableEntity:
		_ = json.Unmarshal(b, res)
		return newStatusError(resp, b)
	case retryableStatus(resp.StatusCode):
		return &retryable{err: newStatusError(resp, b), after: retryAfter(resp.Header, time.Now())}
	}
	return newStatusError(resp, b)
}

// wireSample is one sample of the HTTP batch format (README, "POST
// /api/v1/measurements"); absent values are left out.
type wireSample struct {
	Time          string         `json:"time"`
	Lat           *float64       `json:"lat,omitempty"`
	Lon           *float64       `json:"lon,omitempty"`
	GPSValid      *bool          `json:"gps_valid,omitempty"`
	Altitude      *float64       `json:"altitude,omitempty"`
	Speed         *float64       `json:"speed,omitempty"`
	Heading       *float64       `json:"heading,omitempty"`
	HDOP          *float64       `json:"hdop,omitempty"`
	Accuracy      *float64       `json:"accuracy,omitempty"`
	Satellites    *int           `json:"satellites,omitempty"`
	DoseRate      *float64       `json:"dose_rate,omitempty"`
	CPM           *float64       `json:"cpm,omitempty"`
	Counts        *float64       `json:"counts,omitempty"`
	CountInterval *float64       `json:"count_interval,omitempty"`
	RadValid      *bool          `json:"rad_valid,omitempty"`
	Battery       *float64       `json:"battery,omitempty"`
	Attributes    map[string]any `json:"attributes,omitempty"`
}

func toWire(s sample.Sample) wireSample {
	opt := func(v float64) *float64 {
		if !sample.Has(v) {
			return nil
		}
		return &v
	}
	no := false
	w := wireSample{
		Time: s.Time.UTC().Format("2006-01-02T15:04:05.000Z07:00"),
		Lat:  &s.Lat, Lon: &s.Lon,
		Altitude: opt(s.Altitude), Speed: opt(s.Speed), Heading: opt(s.Heading),
		HDOP: opt(s.HDOP), Accuracy: opt(s.Accuracy),
		DoseRate: opt(s.DoseRate), CPM: opt(s.CPM), Counts: opt(s.Counts), CountInterval: opt(s.CountInterval),
		Battery:    opt(s.Battery),
		Attributes: s.Attributes,
	}
	if !s.GPSValid {
		w.GPSValid = &no
	}
	if !s.RadValid {
		w.RadValid = &no
	}
	if s.Satellites >= 0 {
		w.Satellites = &s.Satellites
	}
	return w
}

func encodeNDJSON(samples []sample.Sample) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf) // Encode ends each value with '\n': NDJSON
	enc.SetEscapeHTML(false)
	for i, s := range samples {
		if err := enc.Encode(toWire(s)); err != nil {
			return nil, fmt.Errorf("encode sample %d: %w", i, err)
		}
	}
	return buf.Bytes(), nil
}

// chunks yields consecutive slices of at most n samples.
func chunks(s []sample.Sample, n int) iter.Seq[[]sample.Sample] {
	return func(yield func([]sample.Sample) bool) {
		for len(s) > 0 {
			k := min(n, len(s))
			if !yield(s[:k]) {
				return
			}
			s = s[k:]
		}
	}
}
