package store

import (
	"errors"
	"math"
	"reflect"
	"testing"
)

func TestCountsRoundTrip(t *testing.T) {
	for _, c := range [][]uint32{{}, {0}, {math.MaxUint32, 0, math.MaxUint32}, {5, 7, 7, 0, 0, 0, 300, 2}} {
		b := EncodeCounts(c)
		got, err := DecodeCounts(b)
		if err != nil || !reflect.DeepEqual(got, c) {
			t.Errorf("%v: %v %v", c, got, err)
		}
	}
	if b := EncodeCounts([]uint32{5, 7, 7, 0, 0, 0, 300, 2}); len(b) != 12 { // format, length, six 1-byte deltas, +300 and -298 in two bytes each
		t.Errorf("%d bytes: %v", len(b), b)
	}
	for _, b := range [][]byte{nil, {2, 0}, {1}, {1, 2, 0}, {1, 1, 1}, {1, 1, 0, 0}, {1, 0xff, 0xff, 0xff, 0xff, 0x0f}} {
		if _, err := DecodeCounts(b); !errors.Is(err, ErrBadCounts) {
			t.Errorf("%v: %v", b, err)
		}
	}
}

func FuzzDecodeCounts(f *testing.F) {
	f.Add(EncodeCounts([]uint32{1, 2, 3, 0, 0, 9}))
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := DecodeCounts(b)
		if err != nil {
			return
		}
		if again := EncodeCounts(c); len(again) > len(b) {
			t.Fatalf("re-encoding grew: %v -> %v", b, again)
		}
	})
}
