package atomfast

import (
	"bytes"
	"errors"
	"testing"

	"github.com/radtrack/radtrack/internal/testutil"
	"github.com/radtrack/radtrack/sample"
)

// FuzzDecode: no panic, increasing line numbers, well-formed samples.
// Seeds: testdata/fuzz/FuzzDecode (slices of the real export).
func FuzzDecode(f *testing.F) {
	f.Add([]byte("unix timestamp;doserate (uSv/h);lat;lng;wgs84_alt (m.);speed (m/s);cps;cp_2s;horizontal accuracy (radius of 68% confidence [m]);marker type (2-circle, 1-marker);SE (1 σ)[%]\r\n1752939428;0.04356;45.329978943;37.267513275;16.200000763;0.326333880;4.16472;5.50000;1.7000;2;11.5\r\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		last := 0
		_ = Decode(bytes.NewReader(data), func(n int, s sample.Sample, err error) error {
			if n <= last {
				t.Fatalf("line number %d after %d", n, last)
			}
			last = n
			if err != nil {
				var fe *sample.FieldError
				if errors.As(err, &fe) && fe.Field == "" {
					t.Fatalf("FieldError without a field: %v", err)
				}
				return nil
			}
			if s.Time.IsZero() || !s.Imported || s.Source != sample.SourceImport {
				t.Fatalf("bad sample %+v", s)
			}
			if sample.Has(s.CPM) != (s.Attributes["cps"] != nil) {
				t.Fatalf("CPM %v without cps attribute", s.CPM)
			}
			testutil.CheckDecoded(t, s)
			return nil
		})
	})
}
