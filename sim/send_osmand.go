package sim

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/radtrack/radtrack/sample"
)

// OsmAndSender reports like OsmAnd / Traccar Client: one GET per sample to
// the OsmAnd listener, the device proving itself with key=<token>. Speed
// goes out in knots, the dose as doseRate (µSv/h, derived from the counts).
// 429/503 and connection errors are retried; a 400 loses that sample only;
// 401/404 or exhausted retries give up the rest of the batch.
type OsmAndSender struct {
	URL     string            // listener, e.g. http://127.0.0.1:5055/ (a bare host:port works)
	Tokens  map[string]string // device token per vehicle uid; read-only while sending
	Client  *http.Client      // default NewHTTPClient()
	Retry   Retry
	Timeout time.Duration // per attempt; default 10 s

	retries    atomic.Int64
	clientOnce sync.Once
	defClient  *http.Client
}

// Retries counts attempts beyond the first.
func (o *OsmAndSender) Retries() int64 { return o.retries.Load() }

func (o *OsmAndSender) client() *http.Client {
	if o.Client != nil {
		return o.Client
	}
	o.clientOnce.Do(func() { o.defClient = NewHTTPClient() })
	return o.defClient
}

// ListenerURL turns a listener address (host:port) into a URL; URLs pass.
func ListenerURL(addr string) string {
	if strings.Contains(addr, "://") {
		return addr
	}
	return "http://" + addr + "/"
}

// Send makes one request per sample, in order.
func (o *OsmAndSender) Send(ctx context.Context, vehicle string, samples []sample.Sample) error {
	token, ok := o.Tokens[vehicle]
	if !ok {
		return fmt.Errorf("osmand: no device token for %q", vehicle)
	}
	base := ListenerURL(o.URL)
	acked := 0
	var lost []error
	for i, s := range samples {
		target := base + "?" + OsmAndQuery(vehicle, token, s)
		err := o.Retry.do(ctx, &o.retries, func(ctx context.Context) error { return o.get(ctx, target) })
		if err == nil {
			acked++
			continue
		}
		err = fmt.Errorf("osmand %s: %w", vehicle, err)
		var se *statusError
		if errors.As(err, &se) && se.Code == http.StatusBadRequest {
			lost = append(lost, err) // this sample is invalid; the next may not be
			continue
		}
		return &SendError{Acked: acked, Failed: len(samples) - acked, Err: errors.Join(append(lost, fmt.Errorf("gave up at sample %d: %w", i, err))...)}
	}
	if len(lost) > 0 {
		return &SendError{Acked: acked, Failed: len(lost), Err: errors.Join(lost...)}
	}
	return nil
}

func (o *OsmAndSender) get(ctx context.Context, target string) error {
	actx, cancel := context.WithTimeout(ctx, withDefault(o.Timeout, 10*time.Second))
	defer cancel()
	req, err := http.NewRequestWithContext(actx, http.MethodGet, target, nil)
	if err != nil {
		return fmt.Errorf("build request: %w", err)
	}
	resp, err := o.client().Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // the URL holds the key: keep it out of logs
		}
		return connError(ctx, err)
	}
	b := readBody(resp)
	switch {
	case resp.StatusCode/100 == 2:
		return nil
	case retryableStatus(resp.StatusCode):
		return &retryable{err: newStatusError(resp, b), after: retryAfter(resp.Header, time.Now())}
	}
	return newStatusError(resp, b)
}

// OsmAndQuery encodes a sample as OsmAnd's query parameters.
func OsmAndQuery(uid, token string, s sample.Sample) string {
	q := url.Values{}
	q.Set("id", uid)
	q.Set("key", token)
	q.Set("timestamp", strconv.FormatInt(s.Time.UnixMilli(), 10))
	q.Set("lat", strconv.FormatFloat(s.Lat, 'f', 7, 64))
	q.Set("lon", strconv.FormatFloat(s.Lon, 'f', 7, 64))
	if !s.GPSValid {
		q.Set("valid", "false")
	}
	set := func(name string, v float64) {
		if sample.Has(v) {
			q.Set(name, strconv.FormatFloat(v, 'f', -1, 64))
		}
	}
	if sample.Has(s.Speed) {
		set("speed", roundTo(s.Speed*3600/1852, 2)) // knots
	}
	set("bearing", s.Heading)
	set("altitude", s.Altitude)
	set("hdop", s.HDOP)
	set("batt", s.Battery)
	if sample.Has(s.DoseRate) {
		set("doseRate", roundTo(s.DoseRate, 4))
	}
	return q.Encode()
}

func roundTo(v float64, digits int) float64 {
	p := math.Pow(10, float64(digits))
	return math.Round(v*p) / p
}
