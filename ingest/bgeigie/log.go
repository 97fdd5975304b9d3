package bgeigie

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"

	"github.com/radtrack/radtrack/internal/lineread"
	"github.com/radtrack/radtrack/sample"
)

// MaxLineLength bounds one log line; longer lines are reported as an error
// for that line and skipped. Real sentences are under 100 bytes.
const MaxLineLength = 4096

// Sentences splits one log line (LF or CRLF already removed or not) into
// the sentences it holds. Blank lines and '#' header/comment lines give
// none. Two sentences glued on one line are split before each '$'. Text
// before the first '$' is returned as a piece of its own, so that the
// caller reports it (ParseSentence rejects it) rather than losing it
// silently.
func Sentences(line []byte) [][]byte {
	line = bytes.TrimSpace(line)
	if len(line) == 0 || line[0] == '#' {
		return nil
	}
	var out [][]byte
	for len(line) > 0 {
		next := bytes.IndexByte(line[1:], '$')
		if next < 0 {
			out = append(out, line)
			break
		}
		piece := bytes.TrimSpace(line[:next+1])
		if len(piece) > 0 {
			out = append(out, piece)
		}
		line = line[next+1:]
	}
	return out
}

// DecodeLog streams a bGeigie log (an SD-card file or a TCP stream) and
// calls fn once per sentence with its 1-based line number and either the
// decoded sample or the error for that sentence; '#' lines and blank lines
// are skipped without a call. Two sentences glued on one line give two calls
// with the same line number. If fn returns an error DecodeLog stops and
// returns it; a read error is returned wrapped. DecodeLog does not set
// Sample.Imported: the caller knows whether it is importing.
func DecodeLog(r io.Reader, fn func(lineNo int, s sample.Sample, err error) error) error {
	br := bufio.NewReaderSize(r, MaxLineLength)
	lineNo := 0
	for {
		line, tooLong, err := lineread.Line(br)
		if len(line) > 0 || tooLong || err == nil {
			lineNo++
		}
		if tooLong {
			if ferr := fn(lineNo, sample.Sample{}, fmt.Errorf("%w: line longer than %d bytes", ErrFormat, MaxLineLength)); ferr != nil {
				return ferr
			}
		} else {
			for _, sen := range Sentences(line) {
				s, perr := ParseSentence(sen)
				if ferr := fn(lineNo, s, perr); ferr != nil {
					return ferr
				}
			}
		}
		if err != nil {
			if errors.Is(err, io.EOF) {
				return nil
			}
			return fmt.Errorf("bgeigie: reading line %d: %w", lineNo+1, err)
		}
	}
}
