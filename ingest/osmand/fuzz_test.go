package osmand

import (
	"errors"
	"testing"

	"github.com/radtrack/radtrack/internal/testutil"
	"github.com/radtrack/radtrack/sample"
)

// FuzzDecode: Decode never panics; a decoded position is well formed; a
// field problem is a *sample.FieldError with a field name. Seeds:
// testdata/fuzz/FuzzDecode (the vectors of vectors/osmand.md and variants).
func FuzzDecode(f *testing.F) {
	f.Add("id=123456&timestamp=1377177267&lat=60.0&lon=30.0", "", []byte(nil))
	f.Add("", "application/json", []byte(jsonMoving))
	f.Fuzz(func(t *testing.T, rawQuery, contentType string, body []byte) {
		p, err := Decode(rawQuery, contentType, body)
		if err != nil {
			var fe *sample.FieldError
			if errors.As(err, &fe) && fe.Field == "" {
				t.Fatalf("FieldError without a field: %v", err)
			}
			return
		}
		if p.Sample.DeviceUID == "" {
			t.Fatal("decoded without a device id")
		}
		if p.Sample.GPSValid && !p.HasFix {
			t.Fatal("GPSValid without HasFix")
		}
		if p.Sample.Source != sample.SourceOsmAnd {
			t.Fatalf("source %q", p.Sample.Source)
		}
		testutil.CheckDecoded(t, p.Sample)
	})
}
