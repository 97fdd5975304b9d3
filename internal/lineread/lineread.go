// Package lineread reads line-oriented input (device logs, TCP sentence
// streams) in bounded memory: a line longer than the reader's buffer is
// consumed to its end and reported, never allowed to end the stream.
package lineread

import (
	"bufio"
	"bytes"
	"errors"
)

// Line returns the next line without its LF. A line longer than br's
// buffer is consumed to its end and reported by tooLong (line is nil).
// err is io.EOF after the last line.
func Line(br *bufio.Reader) (line []byte, tooLong bool, err error) {
	for {
		chunk, err := br.ReadSlice('\n')
		switch {
		case errors.Is(err, bufio.ErrBufferFull):
			tooLong = true
			continue
		case tooLong:
			return nil, true, err
		default:
			return bytes.TrimSuffix(chunk, []byte{'\n'}), false, err
		}
	}
}
