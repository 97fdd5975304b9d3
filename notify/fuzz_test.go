package notify

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"
)

// FuzzVerifyWebhook: whatever headers and body arrive, VerifyWebhook
// neither panics nor accepts anything but a genuine signature.
func FuzzVerifyWebhook(f *testing.F) {
	now := time.Unix(1753470280, 0)
	body := []byte(`{"v":1}`)
	f.Add("1753470280", "v1="+SignWebhook(webhookSecret, "1753470280", body), body)
	f.Add("1753470280", "v1=zz, v1=", []byte{})
	f.Add("-1", "v0=abc", []byte("x"))
	f.Fuzz(func(t *testing.T, ts, sig string, b []byte) {
		h := http.Header{}
		h.Set(HeaderTimestamp, ts)
		h.Set(HeaderSignature, sig)
		err := VerifyWebhook(h, b, now, 5*time.Minute, webhookSecret)
		genuine := strings.Contains(h.Get(HeaderSignature), SignWebhook(webhookSecret, h.Get(HeaderTimestamp), b))
		if err == nil && !genuine {
			t.Fatalf("accepted ts=%q sig=%q", ts, sig)
		}
	})
}

// FuzzCAPPolygons: any fence geometry gives either an error or closed CAP
// polygons of at least 4 points, lat first within WGS84.
func FuzzCAPPolygons(f *testing.F) {
	f.Add([]byte(fenceGeometry))
	f.Add([]byte(`{"type":"MultiPolygon","coordinates":[[[[1,2],[3,4],[5,6]]]]}`))
	f.Add([]byte(`{"type":"Polygon","coordinates":[[]]}`))
	f.Add([]byte(`{"type":"Polygon","coordinates":[[[1e400,2]]]}`))
	f.Fuzz(func(t *testing.T, g []byte) {
		polys, err := capPolygons(json.RawMessage(g))
		if err != nil {
			return
		}
		for _, p := range polys {
			pts := strings.Fields(p)
			if len(pts) < 4 || pts[0] != pts[len(pts)-1] {
				t.Fatalf("polygon %q from %s", p, g)
			}
		}
	})
}
