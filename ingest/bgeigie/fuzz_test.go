package bgeigie

import (
	"bytes"
	"errors"
	"testing"

	"github.com/radtrack/radtrack/internal/testutil"
	"github.com/radtrack/radtrack/sample"
)

// FuzzDecodeLog feeds arbitrary log text through DecodeLog (and so through
// Sentences and ParseSentence): no panic, line numbers never decrease, a
// decoded sample is well formed.
// Seeds: testdata/fuzz/FuzzDecodeLog (lines of the three real logs, glued
// and damaged variants).
func FuzzDecodeLog(f *testing.F) {
	f.Add([]byte("# NEW LOG\r\n$BNRDD,5002,2025-07-25T19:04:40Z,48,2,27761,A,3428.9589,N,13609.7811,E,578.7,A,18,141*76\r\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		last := 0
		err := DecodeLog(bytes.NewReader(data), func(n int, s sample.Sample, err error) error {
			if n < last || n < 1 {
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
			if s.DeviceUID == "" || s.Source != sample.SourceBGeigie {
				t.Fatalf("bad sample %+v", s)
			}
			if TimeLost(s) != s.Time.IsZero() {
				t.Fatalf("time %v, lost %v", s.Time, TimeLost(s))
			}
			if sample.Has(s.Counts) && s.CountInterval != CountInterval {
				t.Fatalf("counts without interval")
			}
			testutil.CheckDecoded(t, s)
			return nil
		})
		if err != nil {
			t.Fatalf("DecodeLog over a bytes.Reader: %v", err)
		}
	})
}
