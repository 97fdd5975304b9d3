package server

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
	"testing/iotest"
)

// readBody returns the whole body whatever length the client declared,
// and the reader's error.
func TestReadBodyWhateverTheDeclaredLength(t *testing.T) {
	body := strings.Repeat("0123456789", 100)
	for _, declared := range []int64{-1, 0, 1, 999, 1000, 1001, 5000} {
		got, err := readBody(iotest.HalfReader(strings.NewReader(body)), declared, 2000)
		if err != nil || string(got) != body {
			t.Errorf("declared %d: %d bytes, %v", declared, len(got), err)
		}
	}
	boom := errors.New("boom")
	if _, err := readBody(io.MultiReader(bytes.NewReader([]byte("ab")), iotest.ErrReader(boom)), 2, 10); !errors.Is(err, boom) {
		t.Errorf("reader error: %v", err)
	}
}
