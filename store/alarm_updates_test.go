package store

import (
	"encoding/json"
	"math"
	"testing"
)

// The journal's encoding of an update: any input either fails to decode
// or decodes to an update that survives a round trip unchanged (a missing
// peak stays missing), and never panics.
func FuzzAlarmUpdateJSON(f *testing.F) {
	f.Add([]byte(`{"id":7,"key":{"device_id":1,"rule_id":2,"fence_id":0,"imported":false},"samples":3,"add_samples":2,"last_seen":"2026-01-01T00:00:00Z","peak_dose":1.5,"peak_time":"2026-01-01T00:00:00Z","peak_lon":4.1,"peak_lat":51.9,"peak_gps_valid":true,"significance":3}`))
	f.Add([]byte(`{"id":7,"peak_dose":null}`))
	f.Add([]byte(`{"peak_dose":"x"}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		var u AlarmUpdate
		if err := json.Unmarshal(b, &u); err != nil {
			return
		}
		out, err := json.Marshal(u)
		if err != nil {
			t.Fatalf("decoded %q to %+v, which does not encode: %v", b, u, err)
		}
		var back AlarmUpdate
		if err := json.Unmarshal(out, &back); err != nil {
			t.Fatalf("re-decode %s: %v", out, err)
		}
		samePeak := back.PeakDose == u.PeakDose || math.IsNaN(back.PeakDose) && math.IsNaN(u.PeakDose)
		u.PeakDose, back.PeakDose = 0, 0
		if !samePeak || !back.LastSeen.Equal(u.LastSeen) || !back.PeakTime.Equal(u.PeakTime) {
			t.Fatalf("round trip of %q changed it: %+v → %+v", b, u, back)
		}
		// Equal instants; drop the monotonic/location detail before comparing.
		u.LastSeen, u.PeakTime = back.LastSeen, back.PeakTime
		if u != back {
			t.Fatalf("round trip of %q changed it: %+v → %+v", b, u, back)
		}
	})
}
