package traccar

import (
	"errors"
	"testing"

	"github.com/radtrack/radtrack/internal/testutil"
	"github.com/radtrack/radtrack/sample"
)

// FuzzDecode: Decode never panics and a decoded position is well formed.
// Seeds: testdata/fuzz/FuzzDecode.
func FuzzDecode(f *testing.F) {
	f.Add([]byte(issue4529))
	f.Add([]byte(traccar6))
	f.Fuzz(func(t *testing.T, body []byte) {
		p, err := Decode(body)
		if err != nil {
			var fe *sample.FieldError
			if errors.As(err, &fe) && fe.Field == "" {
				t.Fatalf("FieldError without a field: %v", err)
			}
			return
		}
		if p.Sample.DeviceUID == "" || (p.Sample.GPSValid && !p.HasFix) {
			t.Fatalf("bad position %+v", p)
		}
		testutil.CheckDecoded(t, p.Sample)
	})
}
