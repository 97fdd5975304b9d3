package n42

import (
	"bytes"
	"errors"
	"testing"

	"github.com/radtrack/radtrack/internal/testutil"
	"github.com/radtrack/radtrack/sample"
)

// FuzzDecode: no panic; samples well formed; every skipped measurement
// error is a *MeasurementError. Seeds: testdata/fuzz/FuzzDecode (the two
// example documents and cut-down variants).
func FuzzDecode(f *testing.F) {
	f.Add([]byte(synthetic))
	f.Fuzz(func(t *testing.T, data []byte) {
		doc, err := Decode(bytes.NewReader(data))
		if err != nil {
			return
		}
		for _, e := range doc.Errors {
			var me *MeasurementError
			if !errors.As(e, &me) {
				t.Fatalf("error %v is not a MeasurementError", e)
			}
		}
		for _, s := range doc.Samples {
			if s.Time.IsZero() || !s.Imported {
				t.Fatalf("bad sample %+v", s)
			}
			if sample.Has(s.CountInterval) && !sample.Has(s.Counts) {
				t.Fatalf("interval without counts")
			}
			testutil.CheckDecoded(t, s)
		}
	})
}
