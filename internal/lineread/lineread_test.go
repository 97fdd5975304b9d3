package lineread

import (
	"bufio"
	"errors"
	"io"
	"strings"
	"testing"
)

func TestLongLineIsSkippedNotFatal(t *testing.T) {
	br := bufio.NewReaderSize(strings.NewReader("short\r\n"+strings.Repeat("x", 100)+"\nnext\nlast"), 16)
	want := []struct {
		line    string
		tooLong bool
		err     error
	}{{"short\r", false, nil}, {"", true, nil}, {"next", false, nil}, {"last", false, io.EOF}}
	for i, w := range want {
		line, tooLong, err := Line(br)
		if string(line) != w.line || tooLong != w.tooLong || !errors.Is(err, w.err) {
			t.Fatalf("line %d = %q, %v, %v; want %q, %v, %v", i, line, tooLong, err, w.line, w.tooLong, w.err)
		}
	}
}
